/**
 * The statistics published back into Kafka: the log-compacted topic `temperature-stats`,
 * which the consumer derives from its checkpoint files (never ahead of them) and from which
 * plot, dashboard and status can rebuild the files on any machine; and beside it
 * `temperature-anomalies`, the lines of the anomaly logs.
 *
 * Stats of partition N go to partition N of the topic: one record per month and year, key
 * `<Month>-<Year>` (`March-2024`), value the entry as JSON with its partition, month and year;
 * then one record keyed `offset-<N>` with the partition's checkpoint offset. Compaction keeps
 * the latest value of each key, which is all a reader needs.
 *
 * Anomalies of partition N go to partition N of `temperature-anomalies`, keyed by their date
 * (a date is counted once), value the log's line. That topic is compacted too: an anomaly sent
 * again after a crash (the consumer publishes its whole log when it starts) is the same key
 * and value, and readers keep one per key.
 *
 * @module
 */
import type { Admin, Consumer, Kafka, Producer } from "kafkajs";
import { Buffer } from "node:buffer";
import { P7Error } from "../errors.ts";
import type { StatsFile } from "../checkpoint.ts";
import {
  createKafka,
  disconnectQuickly,
  fetchGuard,
  hasTopic,
  kafkaError,
  RETRY,
  RUN_HEADER,
  topicOffsets,
} from "./kafka.ts";
import { type Anomaly, parseAnomaly } from "../stats/anomaly.ts";
import type { ClosedWindow, WindowUpdate } from "../stats/windows.ts";
import { MONTHS } from "./report.ts";
import { checkMonthStats, type MonthStats, type PartitionStats } from "../stats/stats.ts";
import { type Measure, measureInfo } from "../stats/measures.ts";
import { checkStationEntry, stationEntryKey } from "../stats/stations.ts";

/** The statistics topic. */
export const STATS_TOPIC = "temperature-stats";

/**
 * Its settings: compacted, in segments of 1 MiB so that compaction (which leaves the active
 * segment alone) keeps it near one record per key.
 */
export const STATS_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  "cleanup.policy": "compact",
  "segment.bytes": String(1024 * 1024),
};

/** The anomalies topic. */
export const ANOMALY_TOPIC = "temperature-anomalies";

/**
 * The closed windows (`consumer --window`): compacted, keyed by the window in plain text
 * (`JFK/temperature/1h/2013-07-04T13:00:00Z`), value the line of `windows-N.jsonl`; with
 * `--emit updates`, open windows too, as they change, until their final value replaces them.
 */
export const WINDOW_TOPIC = "temperature-windows";

/** One record of the statistics or anomalies topic. */
export interface StatsRecord {
  key: string;
  value: string;
}

/** The key of a month's entry: `March-2024`. */
export function entryKey(month: string, year: string): string {
  return `${month}-${year}`;
}

/**
 * The records that publish `stats`: the entries named in `changed` (keys as `entryKey`
 * makes them; all entries when absent), then the offset record.
 *
 * @example
 * ```ts
 * statsRecords({ partition: 0, offset: 1, months: {} }); // [{ key: "offset-0", value: … }]
 * ```
 */
export function statsRecords(stats: PartitionStats, changed?: Iterable<string>): StatsRecord[] {
  const { partition } = stats;
  const entry = (month: string, year: string, value: MonthStats): StatsRecord => ({
    key: entryKey(month, year),
    value: JSON.stringify({ partition, month, year, ...value }),
  });
  const stationRecord = (
    station: string,
    measure: string,
    month: string,
    year: string,
    value: MonthStats,
  ): StatsRecord => ({
    key: stationEntryKey(station, measure, month, year),
    value: JSON.stringify({ partition, station, measure, month, year, ...value }),
  });
  const records: StatsRecord[] = [];
  if (changed === undefined) {
    for (const month of MONTHS) {
      for (const [year, value] of Object.entries(stats.months[month] ?? {})) {
        records.push(entry(month, year, value));
      }
    }
    for (const [station, { measures }] of Object.entries(stats.stations ?? {})) {
      for (const [measure, months] of Object.entries(measures)) {
        for (const month of MONTHS) {
          for (const [year, value] of Object.entries(months[month] ?? {})) {
            records.push(stationRecord(station, measure, month, year, value));
          }
        }
      }
    }
  } else {
    for (const key of changed) {
      const [name, month, year] = splitKey(key);
      if (name === undefined) {
        const value = stats.months[month]?.[year];
        if (value !== undefined) records.push(entry(month, year, value));
      } else {
        const [station, measure] = name;
        const value = stats.stations?.[station]?.measures[measure as Measure]?.[month]?.[year];
        if (value !== undefined) records.push(stationRecord(station, measure, month, year, value));
      }
    }
  }
  records.push({
    key: `offset-${partition}`,
    value: JSON.stringify({ partition, offset: stats.offset }),
  });
  return records;
}

/** The records that publish anomalies: the date as key, the log's line as value. */
export function anomalyRecords(anomalies: Anomaly[]): StatsRecord[] {
  return anomalies.map((anomaly) => ({ key: anomalyKey(anomaly), value: JSON.stringify(anomaly) }));
}

/**
 * The records that publish windows: the window as key, the log's line as value (for an open
 * window with `--emit updates`, its numbers so far, `"final": false`).
 */
export function windowRecords(windows: (ClosedWindow | WindowUpdate)[]): StatsRecord[] {
  return windows.map((window) => ({ key: window.key, value: JSON.stringify(window) }));
}

/** An anomaly's key: its date, or a station's `JFK/temperature/2013-07-04T13:00:00Z`. */
function anomalyKey(anomaly: Anomaly): string {
  const { station, measure, time } = anomaly;
  return station === undefined ? anomaly.date : `${station}/${measure}/${time}`;
}

/**
 * A key's parts: `[undefined, month, year]` for `March-2024`, `[[station, measure], month,
 * year]` for `JFK/humidity/July-2013` (the measure has no slash; the station may).
 */
function splitKey(key: string): [[string, string] | undefined, string, string] {
  const dash = key.lastIndexOf("-");
  const slash = key.lastIndexOf("/", dash);
  const year = key.slice(dash + 1);
  if (slash < 0) return [undefined, key.slice(0, dash), year];
  const before = key.lastIndexOf("/", slash - 1);
  return [[key.slice(0, before), key.slice(before + 1, slash)], key.slice(slash + 1, dash), year];
}

/** One record of the statistics topic, read and checked. */
export type StatsTopicRecord =
  | { kind: "offset"; partition: number; offset: number }
  | { kind: "month"; partition: number; month: string; year: string; entry: MonthStats }
  | {
    kind: "station";
    partition: number;
    station: string;
    measure: Measure;
    month: string;
    year: string;
    entry: MonthStats;
  };

/**
 * Reads one record of the statistics topic: a partition's offset, a month of the course's
 * series, or a month of a station's measurement.
 *
 * @throws {P7Error} `INPUT` for a record that is not one this module writes.
 */
export function parseStatsRecord(key: string, value: string): StatsTopicRecord {
  const fail = (why: string) =>
    new P7Error("INPUT", `Cannot read record "${key}" of topic "${STATS_TOPIC}": ${why}`);
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(value);
  } catch {
    throw fail("its value is not JSON");
  }
  const partition = data?.partition;
  if (typeof partition !== "number" || !Number.isSafeInteger(partition) || partition < 0) {
    throw fail(`partition ${JSON.stringify(partition)} is not a partition number`);
  }
  if (key === `offset-${partition}`) {
    const { offset } = data;
    if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
      throw fail(`offset ${JSON.stringify(offset)} is not an offset`);
    }
    return { kind: "offset", partition, offset };
  }
  const { month, year, partition: _, station, measure, ...entry } = data;
  if (typeof month !== "string" || !MONTHS.includes(month) || typeof year !== "string") {
    throw fail("it names no month and year");
  }
  if (station === undefined) {
    if (key !== entryKey(month, year)) throw fail(`it holds ${entryKey(month, year)}`);
    try {
      return { kind: "month", partition, month, year, entry: checkMonthStats(month, year, entry) };
    } catch (error) {
      throw fail((error as Error).message);
    }
  }
  if (typeof station !== "string" || typeof measure !== "string" || !measureInfo(measure)) {
    throw fail("it names no station and measure");
  }
  const holds = stationEntryKey(station, measure, month, year);
  if (key !== holds) throw fail(`it holds ${holds}`);
  try {
    const checked = checkStationEntry(holds, month, year, entry);
    return {
      kind: "station",
      partition,
      station,
      measure: measure as Measure,
      month,
      year,
      entry: checked,
    };
  } catch (error) {
    throw fail((error as Error).message);
  }
}

/**
 * Folds one record of the topic into `tables` (partition → stats), in place: the latest
 * value of a key wins, as compaction would keep it.
 *
 * @throws {P7Error} `INPUT` for a record that is not one this module writes.
 */
export function foldStatsRecord(
  tables: Map<number, PartitionStats>,
  key: string,
  value: string,
): void {
  const record = parseStatsRecord(key, value);
  const { partition } = record;
  let stats = tables.get(partition);
  if (stats === undefined) tables.set(partition, stats = { partition, offset: 0, months: {} });
  if (record.kind === "offset") stats.offset = record.offset;
  else if (record.kind === "month") (stats.months[record.month] ??= {})[record.year] = record.entry;
  else {
    const { station, measure, month, year, entry } = record;
    const stations = stats.stations ??= {};
    // The topic has no record of a station's latest time: its latest entry's end stands in.
    const known = stations[station] ??= { last: entry.end, measures: {} };
    if (entry.end > known.last) known.last = entry.end;
    ((known.measures[measure] ??= {})[month] ??= {})[year] = entry;
  }
}

/**
 * The tables in the shape the files have: by partition, months in calendar order and years
 * ascending, as `JSON.parse` of the partition files gives them.
 */
export function orderedTables(tables: Map<number, PartitionStats>): PartitionStats[] {
  return [...tables.values()].sort((a, b) => a.partition - b.partition).map((stats) => ({
    partition: stats.partition,
    offset: stats.offset,
    months: Object.fromEntries(
      MONTHS.flatMap((month) => stats.months[month] ? [[month, stats.months[month]]] : []),
    ),
    ...(stats.stations === undefined ? {} : { stations: stats.stations }),
  }));
}

/** What one checkpoint of a partition publishes. */
export interface Publication {
  /** From `statsRecords`. */
  stats: StatsRecord[];
  /** From `anomalyRecords`. */
  anomalies: StatsRecord[];
  /** From `windowRecords`; none without `--window`. */
  windows?: StatsRecord[];
}

/**
 * The most bytes of keys and values (with a per-record allowance for its header and framing)
 * one request puts in a topic partition: half the broker's default limit on a record batch
 * (`message.max.bytes`, 1 MiB). A consumer restarted on a million days' checkpoint publishes
 * about 1.7 MB for one partition, which the broker refuses in one batch.
 */
export const PUBLISH_BYTES = 512 * 1024;

/** Bytes of a record in a request besides its key and value: the run header and framing. */
const RECORD_OVERHEAD = 64;

/** `records` in runs of at most `maxBytes` (a record larger than that alone), in order. */
function chunks(records: StatsRecord[], maxBytes: number): StatsRecord[][] {
  const runs: StatsRecord[][] = [];
  let run: StatsRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record.key) + Buffer.byteLength(record.value) + RECORD_OVERHEAD;
    if (run.length > 0 && bytes + size > maxBytes) {
      runs.push(run);
      [run, bytes] = [[], 0];
    }
    run.push(record);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * A publication as the requests that send it, in order: in each, the statistics and the
 * anomalies each stay within `maxBytes`. The last request carries the last statistics (the
 * offset record) and the last anomalies, so a reader that sees the offset has all before it.
 *
 * @example
 * ```ts
 * publicationRequests({ stats: statsRecords(stats), anomalies: [] }, PUBLISH_BYTES);
 * ```
 */
export function publicationRequests(publication: Publication, maxBytes: number): Publication[] {
  const stats = chunks(publication.stats, maxBytes);
  const anomalies = chunks(publication.anomalies, maxBytes);
  const windows = chunks(publication.windows ?? [], maxBytes);
  const count = Math.max(stats.length, anomalies.length, windows.length, 1);
  const at = (runs: StatsRecord[][], i: number) => runs[i - (count - runs.length)] ?? [];
  return Array.from({ length: count }, (_, i) => ({
    stats: at(stats, i),
    anomalies: at(anomalies, i),
    ...(publication.windows === undefined ? {} : { windows: at(windows, i) }),
  }));
}

/** Publishes each partition's statistics and anomalies after its checkpoint is written. */
export interface StatsPublisher {
  /**
   * Sends the records to `partition` of their topics with the run header, in as few requests
   * as `publicationRequests` allows (one, unless it is large); resolves once all are
   * acknowledged by the in-sync replicas.
   */
  publish(partition: number, records: Publication, run: string | undefined): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * A connected publisher: an idempotent, acks=all producer of `kafka`. Without `anomalies`
 * (an older producer made no anomalies topic) anomalies are not published.
 */
export async function statsPublisher(
  kafka: Kafka,
  anomalies: boolean,
  windows = false,
): Promise<StatsPublisher> {
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: RETRY,
  });
  await producer.connect();
  return {
    async publish(partition, publication, run) {
      const headers = run === undefined ? undefined : { [RUN_HEADER]: Buffer.from(run) };
      const messages = (records: StatsRecord[]) =>
        records.map(({ key, value }) => ({ partition, key, value, headers }));
      for (const request of publicationRequests(publication, PUBLISH_BYTES)) {
        const topicMessages = [];
        if (request.stats.length > 0) {
          topicMessages.push({ topic: STATS_TOPIC, messages: messages(request.stats) });
        }
        if (anomalies && request.anomalies.length > 0) {
          topicMessages.push({ topic: ANOMALY_TOPIC, messages: messages(request.anomalies) });
        }
        if (windows && (request.windows?.length ?? 0) > 0) {
          topicMessages.push({ topic: WINDOW_TOPIC, messages: messages(request.windows!) });
        }
        if (topicMessages.length > 0) await producer.sendBatch({ acks: -1, topicMessages });
      }
    },
    disconnect: () => producer.disconnect(),
  };
}

/**
 * A record of the anomalies topic.
 *
 * @throws {P7Error} `INPUT` for a record that is not one the consumer writes.
 */
export function anomalyRecord(key: string, value: string): Anomaly {
  const fail = (why: string) =>
    new P7Error("INPUT", `Cannot read record "${key}" of topic "${ANOMALY_TOPIC}": ${why}`);
  let anomaly: Anomaly;
  try {
    anomaly = parseAnomaly(value);
  } catch (error) {
    throw fail((error as Error).message);
  }
  if (anomalyKey(anomaly) !== key) throw fail(`it holds ${anomalyKey(anomaly)}`);
  return anomaly;
}

/**
 * Reads a record of the windows topic: a closed window, or with `--emit updates` an open
 * window's numbers so far (`final: false`).
 *
 * @throws {P7Error} `INPUT` for a record that is not one the consumer writes.
 */
export function parseWindowRecord(key: string, value: string): ClosedWindow | WindowUpdate {
  let window: ClosedWindow | WindowUpdate;
  try {
    window = JSON.parse(value);
  } catch (error) {
    throw new P7Error(
      "INPUT",
      `Cannot read record "${key}" of topic "${WINDOW_TOPIC}": ${(error as Error).message}`,
    );
  }
  if (window?.key !== key || typeof window.count !== "number") {
    throw new P7Error("INPUT", `Cannot read record "${key}" of topic "${WINDOW_TOPIC}"`);
  }
  return window;
}

/**
 * Folds a record of the windows topic into `windows` (key → closed window), in place; an open
 * window's update (`--emit updates`) is not a closed window, and drops an earlier value.
 *
 * @throws {P7Error} `INPUT` for a record that is not one the consumer writes.
 */
function foldWindowRecord(windows: Map<string, ClosedWindow>, key: string, value: string): void {
  const window = parseWindowRecord(key, value);
  if (window.final === true) windows.set(key, window);
  else windows.delete(key);
}

/** The tables as the partition files they mirror (`partition-N.json`), by partition. */
function statsFiles(tables: PartitionStats[]): StatsFile[] {
  return tables.map((stats) => ({
    partition: stats.partition,
    path: `${STATS_TOPIC}/partition-${stats.partition}.json`,
    stats,
  }));
}

/** A reader of the statistics topic that follows it after catching up. */
export interface StatsFollower {
  /** The latest value of every key, as partition files. */
  files(): StatsFile[];
  /** Every anomaly of the anomalies topic once, by date; none when there is no such topic. */
  anomalies(): Anomaly[];
  /** Every closed window of the windows topic once; none when there is no such topic. */
  windows(): ClosedWindow[];
  /** Resolves when following ends: `signal` aborted, or a failure (which it throws). */
  done: Promise<void>;
}

/** Options of `followStats`. */
export interface FollowOptions {
  /** Stops following. */
  signal: AbortSignal;
  /** The brokers, as errors name them. */
  brokers: string[];
  /**
   * Called after the catch-up with the partitions whose records changed.
   * @default nothing
   */
  onChange?: (partitions: number[]) => void;
}

/**
 * Reads `temperature-stats` (and `temperature-anomalies` and `temperature-windows` when they
 * exist) from the beginning up to their end offsets as they are when the read starts, and
 * resolves then; with `options`, it goes on following them until the signal aborts, calling `onChange` for every
 * batch. Requires `--allow-net`.
 *
 * @throws {P7Error} `TOPIC_MISSING` when the topic does not exist; `INPUT` for a record that
 * is not a statistics record.
 */
export async function followStats(
  kafka: Kafka,
  admin: Admin,
  options?: FollowOptions,
): Promise<StatsFollower> {
  if (!(await hasTopic(admin, STATS_TOPIC))) {
    throw new P7Error(
      "TOPIC_MISSING",
      `topic "${STATS_TOPIC}" does not exist (the producer creates it; the consumer fills it)`,
    );
  }
  const topics = [STATS_TOPIC];
  if (await hasTopic(admin, ANOMALY_TOPIC)) topics.push(ANOMALY_TOPIC);
  if (await hasTopic(admin, WINDOW_TOPIC)) topics.push(WINDOW_TOPIC);
  const ends = new Map<string, number>();
  for (const topic of topics) {
    for (const { partition, low, high } of await topicOffsets(admin, topic)) {
      if (high > low) ends.set(`${topic}/${partition}`, high);
    }
  }
  const remaining = new Set(ends.keys());
  const tables = new Map<number, PartitionStats>();
  const anomalies = new Map<string, Anomaly>();
  const windows = new Map<string, ClosedWindow>();
  const caughtUp = Promise.withResolvers<void>();
  const ended = Promise.withResolvers<void>();
  // A follower rides through a lost broker as the consumer does, and gives up as it does.
  const guard = fetchGuard(options?.brokers ?? []);
  const consumer: Consumer = kafka.consumer({
    groupId: `p7-stats-reader-${crypto.randomUUID()}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    retry: guard.retry,
  });
  let unwatch = () => {};
  const stop = async (error?: unknown) => {
    unwatch();
    await consumer.disconnect().catch(() => {});
    if (error === undefined) ended.resolve();
    else ended.reject(error);
  };
  ended.promise.catch(() => {}); // handled by whoever awaits done
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  consumer.run({
    autoCommit: false,
    eachBatch: ({ batch }) => {
      try {
        for (const message of batch.messages) {
          if (message.key === null || message.value === null) continue; // a tombstone
          const key = message.key.toString();
          const value = message.value.toString();
          if (batch.topic === STATS_TOPIC) foldStatsRecord(tables, key, value);
          else if (batch.topic === ANOMALY_TOPIC) anomalies.set(key, anomalyRecord(key, value));
          else foldWindowRecord(windows, key, value);
        }
      } catch (error) {
        caughtUp.reject(error);
        void stop(error);
        return Promise.resolve();
      }
      const caught = remaining.size === 0;
      const at = `${batch.topic}/${batch.partition}`;
      if (Number(batch.lastOffset()) >= (ends.get(at) ?? 0) - 1) remaining.delete(at);
      if (remaining.size === 0) caughtUp.resolve();
      if (caught) options?.onChange?.([batch.partition]);
      return Promise.resolve();
    },
  }).catch((error) => {
    caughtUp.reject(error);
    void stop(error);
  });
  if (remaining.size === 0) caughtUp.resolve();
  try {
    await caughtUp.promise;
  } catch (error) {
    await stop();
    throw error;
  }
  if (options === undefined || options.signal.aborted) await stop();
  else {
    unwatch = guard.watch(consumer, (error) => void stop(error));
    options.signal.addEventListener("abort", () => void stop(), { once: true });
  }
  return {
    files: () => statsFiles(orderedTables(tables)),
    anomalies: () =>
      [...anomalies.values()].sort((a, b) => (a.time ?? a.date) < (b.time ?? b.date) ? -1 : 1),
    windows: () => [...windows.values()],
    done: ended.promise,
  };
}

/**
 * The latest statistics in `temperature-stats`, as partition files: what plot and status
 * read with `--from kafka`. Requires `--allow-net`.
 *
 * @throws {P7Error} as `followStats`, and `BROKER` when Kafka cannot be reached.
 */
export async function fetchStats(brokers: string[], clientId: string): Promise<StatsFile[]> {
  const kafka = createKafka(brokers, clientId);
  const admin = kafka.admin();
  try {
    await admin.connect();
    return (await followStats(kafka, admin)).files();
  } catch (error) {
    throw kafkaError(error, brokers, `reading topic "${STATS_TOPIC}"`);
  } finally {
    await disconnectQuickly(admin);
  }
}
