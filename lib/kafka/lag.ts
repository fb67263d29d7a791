/**
 * How far the partition files are behind the topic: per partition the end offset, the
 * checkpoint offset and their difference, what is wrong with a partition, and the produced
 * and consumed rates over the last minute from a small ring of offset samples.
 *
 * @module
 */
import { basename } from "node:path";
import type { StatsFile } from "../checkpoint.ts";
import type { PartitionOffsets } from "./kafka.ts";

/** What is known about one partition. */
export type LagState =
  /** The file exists and is behind the end or at it. */
  | "ok"
  /** The topic has the partition, the folder has no file for it. */
  | "missing"
  /** The file exists but cannot be parsed. */
  | "unreadable"
  /** The checkpoint is beyond the topic's end: the topic was recreated after it. */
  | "ahead"
  /** A file for a partition the topic does not have. */
  | "unknown";

/** One partition's offsets and lag. */
export interface LagRow {
  partition: number;
  /** The file's name, `partition-N.json`. */
  file: string;
  state: LagState;
  /** The topic's end offset; `null` when the topic has no such partition. */
  end: number | null;
  /** The file's offset; `null` when there is no readable file. */
  checkpoint: number | null;
  /** `end - checkpoint`; `null` when either is unknown. */
  lag: number | null;
  /** Why the file cannot be read, for `unreadable`. */
  error?: string;
}

/**
 * One row per partition of the topic, plus one per file of a partition the topic does not
 * have, by partition number.
 *
 * @example
 * ```ts
 * lagRows([{ partition: 0, low: 0, high: 12 }], []);
 * // [{ partition: 0, file: "partition-0.json", state: "missing", end: 12, checkpoint: null, lag: null }]
 * ```
 */
export function lagRows(offsets: PartitionOffsets[], files: StatsFile[]): LagRow[] {
  const byPartition = new Map(files.map((file) => [file.partition, file]));
  const partitions = new Set([...offsets.map((o) => o.partition), ...byPartition.keys()]);
  return [...partitions].sort((a, b) => a - b).map((partition): LagRow => {
    const end = offsets.find((o) => o.partition === partition)?.high ?? null;
    const found = byPartition.get(partition);
    const file = found ? basename(found.path) : `partition-${partition}.json`;
    if (found === undefined) {
      return { partition, file, state: "missing", end, checkpoint: null, lag: null };
    }
    if ("error" in found) {
      return {
        partition,
        file,
        state: "unreadable",
        end,
        checkpoint: null,
        lag: null,
        error: found.error,
      };
    }
    const checkpoint = found.stats.offset;
    if (end === null) return { partition, file, state: "unknown", end, checkpoint, lag: null };
    const state = checkpoint > end ? "ahead" : "ok";
    return { partition, file, state, end, checkpoint, lag: end - checkpoint };
  });
}

/** What makes a row unhealthy, as one sentence; `undefined` when it is healthy. */
export function problem(row: LagRow, maxLag: number): string | undefined {
  switch (row.state) {
    case "missing":
      return `partition ${row.partition} has no file "${row.file}"`;
    case "unreadable":
      return `cannot read "${row.file}": ${row.error}`;
    case "ahead":
      return `checkpoint ${row.checkpoint} of partition ${row.partition} is beyond the ` +
        `topic's end ${row.end}; was the topic recreated?`;
    case "unknown":
      return `"${row.file}" is for partition ${row.partition}, which the topic does not have`;
    case "ok":
      return row.lag !== null && row.lag > maxLag
        ? `partition ${row.partition} is ${row.lag} records behind (more than ${maxLag})`
        : undefined;
  }
}

/**
 * The health check's line for a row.
 *
 * @example
 * ```ts
 * statusLine({ partition: 0, file: "partition-0.json", state: "ok", end: 9, checkpoint: 7, lag: 2 });
 * // "partition 0: end 9, checkpoint 7, lag 2"
 * ```
 */
export function statusLine(row: LagRow): string {
  const text = (value: number | null) => value === null ? "-" : String(value);
  const line = `partition ${row.partition}: end ${text(row.end)}, ` +
    `checkpoint ${text(row.checkpoint)}, lag ${text(row.lag)}`;
  return row.state === "ok" ? line : `${line} (${row.state})`;
}

/** The offsets seen at one moment, by partition. */
export interface OffsetSample {
  /** Milliseconds, from any monotonic clock. */
  time: number;
  ends: Record<number, number>;
  checkpoints: Record<number, number>;
}

/** How long samples are kept: rates are over this window. */
export const RATE_WINDOW_MS = 60_000;

/**
 * The ring with `sample` added and samples older than the window dropped. A falling end
 * offset means the topic was recreated, so the samples before it no longer compare.
 */
export function addSample(samples: OffsetSample[], sample: OffsetSample): OffsetSample[] {
  const recreated = (old: OffsetSample) =>
    Object.entries(old.ends).some(([partition, end]) =>
      (sample.ends[Number(partition)] ?? 0) < end
    );
  const kept = samples.filter((old) => sample.time - old.time <= RATE_WINDOW_MS);
  const last = kept.at(-1);
  return last !== undefined && recreated(last) ? [sample] : [...kept, sample];
}

/** Records per second a partition was produced and consumed at; `null` when unknown. */
export interface Rates {
  producedPerSec: number | null;
  consumedPerSec: number | null;
}

/**
 * The rates of `partition` between the oldest and newest samples of the ring that know its
 * offset (a file that appeared a moment ago has a rate from then on); `null` over less than
 * a second, or when the offset went back.
 */
export function rates(samples: OffsetSample[], partition: number): Rates {
  const per = (offset: (sample: OffsetSample) => number | undefined): number | null => {
    const known = samples.filter((sample) => offset(sample) !== undefined);
    const first = known[0];
    const last = known.at(-1);
    if (first === undefined || last === undefined) return null;
    const seconds = (last.time - first.time) / 1000;
    const change = offset(last)! - offset(first)!;
    return seconds >= 1 && change >= 0 ? change / seconds : null;
  };
  return {
    producedPerSec: per((sample) => sample.ends[partition]),
    consumedPerSec: per((sample) => sample.checkpoints[partition]),
  };
}
