#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read
/**
 * Recreates topic `temperatures` and streams daily max temperatures into it, simulated or
 * replayed from a file of observations, one protobuf `Report` per day, keyed and partitioned
 * by month name like the Java client.
 *
 * @module
 */
import type { Message } from "kafkajs";
import { Buffer } from "node:buffer";
import {
  type Help,
  type ProducerConfig,
  producerConfig,
  type SimulationSource,
} from "./lib/args.ts";
import { onStopSignal, runMain } from "./lib/cli.ts";
import {
  createKafka,
  deleteTopic,
  disconnectQuickly,
  kafkaError,
  PARTITIONS,
  recreateTopic,
  RETRY,
  RUN_HEADER,
  sleep,
  TOPIC,
  topicConfig,
} from "./lib/kafka/kafka.ts";
import { partitionFor } from "./lib/kafka/partitioner.ts";
import { openReplay, type ReplayItem } from "./lib/sources/replay.ts";
import {
  ANOMALY_TOPIC,
  STATS_TOPIC,
  STATS_TOPIC_CONFIG,
  WINDOW_TOPIC,
} from "./lib/kafka/stats_topic.ts";
import { encodeReport, monthOf, MONTHS, type Report } from "./lib/kafka/report.ts";
import { type GeneratedReport, generateReports } from "./lib/sources/weather.ts";
import { generateStationReports } from "./lib/sources/station_weather.ts";

/**
 * Messages per send when there is no delay, one request in flight. kafkajs groups a send's
 * messages by partition in time that grows with the square of their number; in a backfill
 * of 1,000,000 days 1,000 per send was fastest (170,000 msg/s; 500: 162,000; 2,000:
 * 153,000; 10,000 was a third slower).
 */
const BACKFILL_BATCH = 1_000;
const PROGRESS_MS = 5_000;

/** A key's bytes and partition, worked out once rather than for every message. */
function keyOf(text: string) {
  return { key: Buffer.from(text), partition: partitionFor(text, PARTITIONS) };
}

const MONTH_KEYS = new Map(MONTHS.map((month) => [month, keyOf(month)] as const));

/** Each station's key, as its first report comes. */
const STATION_KEYS = new Map<string, ReturnType<typeof keyOf>>();

/** The key of a report: its station when it has one, else its month (the course's key). */
function reportKey(report: Report): ReturnType<typeof keyOf> {
  const station = report.stationId;
  if (station === undefined) return MONTH_KEYS.get(monthOf(report.date)!)!;
  let key = STATION_KEYS.get(station);
  if (key === undefined) STATION_KEYS.set(station, key = keyOf(station));
  return key;
}

/** Simulated days in pages of `size`, the shape a replayed file arrives in. */
function* simulatedPages(source: SimulationSource, size: number): Generator<GeneratedReport[]> {
  const { seed, duplicateRate, stations } = source;
  const reports = stations === undefined
    ? generateReports({ seed, duplicateRate })
    : generateStationReports({ seed, duplicateRate, stations });
  while (true) yield Array.from({ length: size }, () => reports.next().value!);
}

/** Where the days come from, and how the start line describes it. */
interface Source {
  pages: AsyncIterator<ReplayItem[]> | Iterator<ReplayItem[]>;
  about: string;
}

/**
 * The pages of days to send. A file is opened and its columns found here, so that one that
 * cannot be replayed fails before the topic is wiped.
 */
async function openSource(config: ProducerConfig, perSend: number): Promise<Source> {
  const { source } = config;
  if (source.kind === "simulation") {
    const stations = source.stations === undefined ? "" : `, ${source.stations} stations`;
    return { pages: simulatedPages(source, perSend), about: `seed ${source.seed}${stations}` };
  }
  const { format, pages } = await openReplay(source.path, source);
  const where = source.where.map(({ column, value }) => `, ${column}=${value}`).join("");
  const columns = "stationColumn" in source
    ? `stations in ${source.stationColumn}, ` +
      source.measures.map(({ measure, column, unit }) => `${measure.name} ${column} in ${unit}`)
        .join(", ")
    : `${source.valueColumn} in °${source.units}`;
  return {
    pages,
    about: `replaying ${JSON.stringify(source.path)} (${format}, ${columns}${where})`,
  };
}

/** Runs the producer; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
  const config: ProducerConfig | Help = producerConfig(args, Deno.env.toObject(), seed);
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const { source } = config;
  const stop = onStopSignal();
  const perSend = config.delay === 0 ? BACKFILL_BATCH : 1;
  const { pages, about } = await openSource(config, perSend);
  const kafka = createKafka(config.brokers, "p7-producer");
  const admin = kafka.admin();
  try {
    await admin.connect();
    const { replicationFactor } = config;
    await recreateTopic(admin, TOPIC, { partitions: PARTITIONS, replicationFactor });
    // The consumers' statistics and anomalies of this run, derived from their files.
    for (const topic of [STATS_TOPIC, ANOMALY_TOPIC]) {
      await recreateTopic(admin, topic, {
        partitions: PARTITIONS,
        replicationFactor,
        config: STATS_TOPIC_CONFIG,
      });
    }
    // Windowing consumers create it again for this run (`consumer --window`).
    await deleteTopic(admin, WINDOW_TOPIC);
  } catch (error) {
    await pages.return?.();
    throw kafkaError(error, config.brokers, `recreating topic "${TOPIC}"`);
  } finally {
    await disconnectQuickly(admin);
  }
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: RETRY,
  });
  const run = crypto.randomUUID();
  const headers = { [RUN_HEADER]: Buffer.from(run) };
  const replicas = config.replicationFactor === 1
    ? ""
    : ` (replication factor ${config.replicationFactor}, ${
      topicConfig(config.replicationFactor)["min.insync.replicas"] ?? 1
    } in sync for a write)`;
  // A simulated station sends a report a day: counting days would hide the stations.
  const unit = source.kind === "simulation" && source.stations !== undefined ? "reports" : "days";
  const limit = config.count === Infinity
    ? (source.kind === "file" ? "every row" : "forever")
    : `${config.count} ${unit}`;
  console.error(
    `producer: topic "${TOPIC}" recreated with ${PARTITIONS} partitions${replicas}, "${STATS_TOPIC}" and "${ANOMALY_TOPIC}" beside it; ${about}, ` +
      `delay ${config.delay} s, ${limit}`,
  );
  const started = performance.now();
  let days = 0;
  let duplicates = 0;
  let rejected = 0;
  /** Measurements of rows sent that were not (not a number, impossible). */
  let notSent = 0;
  let filtered = 0;
  let lastDate = "";
  let lastProgress = started;
  const progress = () =>
    source.kind === "file"
      ? `${days} rows sent (through ${lastDate || "-"}), ${rejected} rejected`
      : `${days} ${unit} sent (through ${lastDate}), ${duplicates} duplicates`;
  try {
    await producer.connect();
    // In a backfill the next batch is built while the broker answers the one in flight.
    let inFlight = Promise.resolve();
    let built = 0;
    let page: readonly ReplayItem[] = [];
    let at = 0;
    let exhausted = false;
    while (built < config.count && !exhausted && !stop.aborted) {
      const messages: Message[] = [];
      let batchDays = 0;
      let batchDuplicates = 0;
      let batchLastDate = lastDate;
      // Checking the signal here too lets a stop end a long run of rejected rows.
      while (batchDays < perSend && built + batchDays < config.count && !stop.aborted) {
        if (at === page.length) {
          const next = await pages.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          [page, at] = [next.value, 0];
          continue;
        }
        const item = page[at++]!;
        if ("reason" in item) {
          if (item.partial) {
            notSent++;
            console.error(`producer: line ${item.line}: ${item.reason}`);
          } else {
            rejected++;
            console.error(`producer: skipped line ${item.line}: ${item.reason}`);
          }
          continue;
        }
        if ("filtered" in item) {
          filtered++;
          continue;
        }
        const { report, duplicate } = item;
        const { key, partition } = reportKey(report);
        messages.push({ key, value: encodeReport(report) as Message["value"], partition, headers });
        if (duplicate) batchDuplicates++;
        else {
          batchDays++;
          batchLastDate = report.date;
        }
      }
      if (messages.length === 0) break;
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
        console.error(`producer: ${progress()}`);
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
    await pages.return?.();
    await disconnectQuickly(producer);
  }
  const seconds = (performance.now() - started) / 1000;
  const messages = days + duplicates;
  const sent = source.kind === "file"
    ? `replayed ${JSON.stringify(source.path)}: ${days} rows accepted and sent (through ` +
      `${lastDate || "-"}), ${rejected} rejected` +
      ("stationColumn" in source ? `, ${notSent} measurements not sent` : "") +
      (source.where.length > 0 ? `, ${filtered} left out by --where` : "")
    : `sent ${days} ${unit} (through ${lastDate || "-"}) and ${duplicates} duplicates`;
  console.error(
    `producer: ${sent}, ${messages} messages in ${seconds.toFixed(1)} s ` +
      `(${Math.round(messages / seconds)} msg/s)` + (stop.aborted ? "; stopped by signal" : ""),
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
