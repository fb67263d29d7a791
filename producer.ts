#!/usr/bin/env -S deno run --allow-net --allow-env
/**
 * Recreates topic `temperatures` and streams simulated daily max temperatures into it, one
 * protobuf `Report` per day, keyed and partitioned by month name like the Java client.
 *
 * @module
 */
import type { Message } from "kafkajs";
import { Buffer } from "node:buffer";
import { type Help, type ProducerConfig, producerConfig } from "./lib/args.ts";
import { onStopSignal, runMain } from "./lib/cli.ts";
import {
  createKafka,
  disconnectQuickly,
  kafkaError,
  PARTITIONS,
  recreateTopic,
  RUN_HEADER,
  sleep,
  TOPIC,
} from "./lib/kafka.ts";
import { useFastVarints } from "./lib/kafkajs_varint.ts";
import { partitionFor } from "./lib/partitioner.ts";
import { encodeReport, monthOf, MONTHS } from "./lib/report.ts";
import { generateReports } from "./lib/weather.ts";

/**
 * Messages per send when there is no delay, one request in flight. kafkajs groups a send's
 * messages by partition in time that grows with the square of their number; in a backfill
 * of 1,000,000 days 1,000 per send was fastest (170,000 msg/s; 500: 162,000; 2,000:
 * 153,000; 10,000 was a third slower).
 */
const BACKFILL_BATCH = 1_000;
const PROGRESS_MS = 5_000;

/** Each month's key bytes and partition, worked out once rather than for every message. */
const MONTH_KEYS = new Map(MONTHS.map((month) => {
  const key = { key: Buffer.from(month), partition: partitionFor(month, PARTITIONS) };
  return [month, key] as const;
}));

/** Runs the producer; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
  const config: ProducerConfig | Help = producerConfig(args, Deno.env.toObject(), seed);
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const stop = onStopSignal();
  useFastVarints();
  const kafka = createKafka(config.brokers, "p7-producer");
  const admin = kafka.admin();
  try {
    await admin.connect();
    await recreateTopic(admin, TOPIC, PARTITIONS);
  } catch (error) {
    throw kafkaError(error, config.brokers, `recreating topic "${TOPIC}"`);
  } finally {
    await disconnectQuickly(admin);
  }
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 300, maxRetryTime: 3000, retries: 10 },
  });
  const run = crypto.randomUUID();
  const headers = { [RUN_HEADER]: Buffer.from(run) };
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
    // In a backfill the next batch is built while the broker answers the one in flight.
    let inFlight = Promise.resolve();
    let built = 0;
    while (built < config.count && !stop.aborted) {
      const messages: Message[] = [];
      let batchDays = 0;
      let batchDuplicates = 0;
      let batchLastDate = lastDate;
      while (batchDays < perSend && built + batchDays < config.count) {
        const { report, duplicate } = reports.next().value!;
        const { key, partition } = MONTH_KEYS.get(monthOf(report.date)!)!;
        messages.push({ key, value: encodeReport(report) as Message["value"], partition, headers });
        if (duplicate) batchDuplicates++;
        else {
          batchDays++;
          batchLastDate = report.date;
        }
      }
      built += batchDays;
      await inFlight;
      inFlight = producer.send({ topic: TOPIC, acks: -1, messages }).then(() => {
        days += batchDays;
        duplicates += batchDuplicates;
        lastDate = batchLastDate;
      });
      // Awaited later; a failure meanwhile must not count as an unhandled rejection.
      inFlight.catch(() => {});
      const now = performance.now();
      if (now - lastProgress >= PROGRESS_MS) {
        lastProgress = now;
        console.error(
          `producer: ${days} days sent (through ${lastDate}), ${duplicates} duplicates`,
        );
      }
      if (config.delay > 0) {
        await inFlight;
        await sleep(Math.max(0, started + days * config.delay * 1000 - performance.now()), stop);
      } else {
        // Lets kafkajs encode and write this request before the next batch takes the thread.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    await inFlight;
  } catch (error) {
    throw kafkaError(error, config.brokers, "sending reports");
  } finally {
    await disconnectQuickly(producer);
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
