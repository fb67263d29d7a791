#!/usr/bin/env -S deno run --allow-net --allow-env
/**
 * Recreates topic `temperatures` and streams simulated daily max temperatures into it, one
 * protobuf `Report` per day, keyed and partitioned by month name like the Java client.
 *
 * @module
 */
import type { Message } from "kafkajs";
import { type Help, type ProducerConfig, producerConfig } from "./lib/args.ts";
import { onStopSignal, runMain } from "./lib/cli.ts";
import {
  createKafka,
  kafkaError,
  PARTITIONS,
  recreateTopic,
  RUN_HEADER,
  sleep,
  TOPIC,
} from "./lib/kafka.ts";
import { partitionFor } from "./lib/partitioner.ts";
import { encodeReport, monthOf } from "./lib/report.ts";
import { generateReports } from "./lib/weather.ts";

/** Messages per send when there is no delay: large batches, one request in flight. */
const BACKFILL_BATCH = 10_000;
const PROGRESS_MS = 5_000;

/** Runs the producer; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
  const config: ProducerConfig | Help = producerConfig(args, Deno.env.toObject(), seed);
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const stop = onStopSignal();
  const kafka = createKafka(config.brokers, "p7-producer");
  const admin = kafka.admin();
  try {
    await admin.connect();
    await recreateTopic(admin, TOPIC, PARTITIONS);
  } catch (error) {
    throw kafkaError(error, config.brokers, `recreating topic "${TOPIC}"`);
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 300, maxRetryTime: 3000, retries: 10 },
  });
  const run = crypto.randomUUID();
  console.error(
    `producer: topic "${TOPIC}" recreated with ${PARTITIONS} partitions; seed ${config.seed}, ` +
      `delay ${config.delay} s, ${config.count === Infinity ? "forever" : `${config.count} days`}`,
  );
  const started = performance.now();
  let days = 0;
  let duplicates = 0;
  let lastDate = "";
  let lastProgress = started;
  try {
    await producer.connect();
    const reports = generateReports({ seed: config.seed, duplicateRate: config.duplicateRate });
    const perSend = config.delay === 0 ? BACKFILL_BATCH : 1;
    while (days < config.count && !stop.aborted) {
      const messages: Message[] = [];
      let batchDays = 0;
      while (batchDays < perSend && days + batchDays < config.count) {
        const { report, duplicate } = reports.next().value!;
        const month = monthOf(report.date)!;
        messages.push({
          key: month,
          value: encodeReport(report) as Message["value"],
          partition: partitionFor(month, PARTITIONS),
          headers: { [RUN_HEADER]: run },
        });
        if (duplicate) duplicates++;
        else {
          batchDays++;
          lastDate = report.date;
        }
      }
      await producer.send({ topic: TOPIC, acks: -1, messages });
      days += batchDays;
      const now = performance.now();
      if (now - lastProgress >= PROGRESS_MS) {
        lastProgress = now;
        console.error(
          `producer: ${days} days sent (through ${lastDate}), ${duplicates} duplicates`,
        );
      }
      if (config.delay > 0) {
        await sleep(Math.max(0, started + days * config.delay * 1000 - performance.now()), stop);
      }
    }
  } catch (error) {
    throw kafkaError(error, config.brokers, "sending reports");
  } finally {
    await producer.disconnect();
  }
  const seconds = (performance.now() - started) / 1000;
  const messages = days + duplicates;
  console.error(
    `producer: sent ${days} days (through ${lastDate || "-"}) and ${duplicates} duplicates, ` +
      `${messages} messages in ${seconds.toFixed(1)} s (${Math.round(messages / seconds)} msg/s)` +
      (stop.aborted ? "; stopped by signal" : ""),
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
