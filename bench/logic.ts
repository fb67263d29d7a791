/**
 * The logic ceiling: how fast the consumer's own work goes with Kafka out of the way. The
 * producer's records (same generator, keys, partitions and run header) are made in memory,
 * a batch at a time, and only `applyBatch` (decode, check, duplicate rule, stats) is timed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { DEFAULT_RULE } from "../lib/stats/anomaly.ts";
import {
  applyBatch,
  type KafkaRecord,
  type PartitionState,
  partitionState,
} from "../lib/kafka/consume.ts";
import { PARTITIONS, RUN_HEADER } from "../lib/kafka/kafka.ts";
import { partitionFor } from "../lib/kafka/partitioner.ts";
import { encodeReport, monthOf } from "../lib/kafka/report.ts";
import { emptyStats } from "../lib/stats/stats.ts";
import { generateReports } from "../lib/sources/weather.ts";
import type { WindowConfig } from "../lib/stats/windows.ts";

/** Records handed to `applyBatch` at a time, about what one fetch brings per partition. */
const BATCH = 10_000;

/** What a logic run measured. */
export interface LogicResult {
  /** Records applied, duplicates included. */
  messages: number;
  /** Reports counted (the rest were duplicates). */
  counted: number;
  /** Counted days found to be anomalies. */
  anomalies: number;
  /** Seconds spent in `applyBatch` only. */
  seconds: number;
}

/**
 * Applies `count` days of generated reports (plus their simulated duplicates) to four
 * partition states and times the batch step alone.
 *
 * @example
 * ```ts
 * const { messages, seconds } = runLogic(100_000, 1);
 * ```
 */
export function runLogic(
  count: number,
  seed: number,
  anomalies = true,
  windows?: WindowConfig,
): LogicResult {
  const reports = generateReports({ seed });
  const headers = { [RUN_HEADER]: Buffer.from(crypto.randomUUID()) };
  const keys = new Map<string, { key: Buffer; partition: number }>();
  const states: PartitionState[] = [];
  const offsets: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const state = partitionState(emptyStats(p), DEFAULT_RULE, undefined, windows);
    // Without anomalies: what the check costs is the difference.
    if (!anomalies) state.check = () => undefined;
    states.push(state);
    offsets.push(0);
  }
  const result: LogicResult = { messages: 0, counted: 0, anomalies: 0, seconds: 0 };
  let days = 0;
  while (days < count) {
    const batches: KafkaRecord[][] = states.map(() => []);
    for (let i = 0; i < BATCH && days < count; i++) {
      const { report, duplicate } = reports.next().value!;
      const month = monthOf(report.date)!;
      let key = keys.get(month);
      if (key === undefined) {
        key = { key: Buffer.from(month), partition: partitionFor(month, PARTITIONS) };
        keys.set(month, key);
      }
      const value = Buffer.from(encodeReport(report));
      batches[key.partition]!.push({
        offset: String(offsets[key.partition]!++),
        key: key.key,
        value,
        headers,
      });
      if (!duplicate) days++;
    }
    const started = performance.now();
    for (let p = 0; p < PARTITIONS; p++) {
      const outcome = applyBatch(states[p]!, batches[p]!);
      result.counted += outcome.counted;
      result.anomalies += outcome.anomalies.length;
      result.messages += batches[p]!.length;
    }
    result.seconds += (performance.now() - started) / 1000;
  }
  return result;
}
