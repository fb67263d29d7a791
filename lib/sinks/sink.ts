/**
 * The sink: the statistics, anomalies and windows topics into a database, exactly once, in
 * the way the KafkaConsumer documentation calls "storing offsets outside Kafka": each batch's
 * rows and the position after it are one transaction, and a start seeks to the position the
 * database holds. A kill -9 at any moment leaves the rows of a whole number of batches and
 * the position that follows them, so nothing is lost and nothing applied twice (and upserts
 * keyed by the record's key would absorb a record applied twice anyway).
 *
 * @module
 */
import type { Kafka } from "kafkajs";
import { P7Error } from "../errors.ts";
import { readTopics, type TopicBatch } from "../kafka/topic_reader.ts";
import { ANOMALY_TOPIC, STATS_TOPIC, WINDOW_TOPIC } from "../kafka/stats_topic.ts";
import { type Row, rowOf } from "./rows.ts";
import { positionKey, type SinkStore } from "./store.ts";

/** The topics the sink reads; the windows topic once a consumer with `--window` made it. */
export const SINK_TOPICS: readonly string[] = [STATS_TOPIC, ANOMALY_TOPIC, WINDOW_TOPIC];

/** What a sink has done so far. */
export interface SinkTotals {
  records: number;
  rows: number;
  transactions: number;
}

/** Options of `runSink`. */
export interface SinkOptions {
  brokers: string[];
  signal: AbortSignal;
  /** Called after each transaction. */
  onApplied?: (totals: SinkTotals) => void;
}

/**
 * The rows of a batch, and the producer run its records are of.
 *
 * @throws {P7Error} `INPUT` for a record p7 did not write, or records of a run other than
 * `run` (the producer recreated the topics since the database was fed).
 */
export function batchRows(
  batch: TopicBatch,
  run: string | undefined,
  where: string,
): { rows: Row[]; run: string | undefined } {
  const rows: Row[] = [];
  let seen = run;
  for (const record of batch.records) {
    if (record.run !== undefined) {
      if (seen !== undefined && record.run !== seen) {
        throw new P7Error(
          "INPUT",
          `${where} holds the statistics of producer run ${seen}; topic "${batch.topic}" now ` +
            `holds run ${record.run} (the producer recreated the topics): feed a new database`,
        );
      }
      seen = record.run;
    }
    rows.push(rowOf(batch.topic, record.key, record.value));
  }
  return { rows, run: seen };
}

/**
 * Feeds `store` from the topics until `signal` aborts, from the position the store holds.
 *
 * @throws {P7Error} as `readTopics`, `batchRows` and the store's `apply`.
 */
export async function runSink(
  kafka: Kafka,
  store: SinkStore,
  options: SinkOptions,
): Promise<SinkTotals> {
  const positions = await store.positions();
  let run = await store.run();
  const totals: SinkTotals = { records: 0, rows: 0, transactions: 0 };
  // A database lost while the sink waits for records ends it as a failed write would.
  let lost: P7Error | undefined;
  const stop = new AbortController();
  store.lost.then((error) => {
    lost = error;
    stop.abort();
  });
  await readTopics(kafka, {
    brokers: options.brokers,
    topics: [...SINK_TOPICS],
    signal: AbortSignal.any([options.signal, stop.signal]),
    position: (topic, partition) => positions.get(positionKey(topic, partition)) ?? 0,
    onBatch: async (batch) => {
      const { rows, run: batchRun } = batchRows(batch, run, `database ${store.name}`);
      const key = positionKey(batch.topic, batch.partition);
      await store.apply(rows, new Map([[key, batch.next]]), batchRun);
      positions.set(key, batch.next);
      run = batchRun;
      totals.records += batch.records.length;
      totals.rows += rows.length;
      totals.transactions++;
      options.onApplied?.(totals);
    },
  });
  if (lost !== undefined) throw lost;
  return totals;
}
