/**
 * The stats consumer's core: a partition assigner that gives a process exactly the partitions
 * it was told to read, and the batch step that turns records into stats, duplicates and
 * rejects while advancing the checkpoint offset.
 *
 * @module
 */
import { AssignerProtocol, type IHeaders, type PartitionAssigner } from "kafkajs";
import { Buffer } from "node:buffer";
import {
  type Anomaly,
  type AnomalyCheck,
  anomalyCheck,
  type AnomalyRule,
} from "../stats/anomaly.ts";
import type { Rejected } from "../checkpoint.ts";
import { P7Error } from "../errors.ts";
import { RUN_HEADER, TOPIC } from "./kafka.ts";
import { monthOf, MONTHS, type Report, validateRecord } from "./report.ts";
import { countReport, type PartitionStats } from "../stats/stats.ts";
import { countStationReport, measured, stationEntryKey } from "../stats/stations.ts";
import {
  emptyWindows,
  timeOf,
  type WindowConfig,
  type WindowOutcome,
  windowValue,
} from "../stats/windows.ts";
import { entryKey } from "./stats_topic.ts";

/**
 * A kafkajs assigner for a group private to one process: its only member always gets the
 * partitions of `assignment` (topic → partitions), so no rebalance can move one elsewhere.
 */
export function fixedAssigner(assignment: Record<string, number[]>): PartitionAssigner {
  const name = "P7Fixed";
  const version = 1;
  return () => ({
    name,
    version,
    protocol: ({ topics }) => ({
      name,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version,
        topics,
        userData: Buffer.alloc(0),
      }),
    }),
    assign: ({ members }) =>
      Promise.resolve(members.map(({ memberId }, index) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version,
          // A private group has one member; any other gets nothing rather than a share.
          assignment: index === 0 ? assignment : {},
          userData: Buffer.alloc(0),
        }),
      }))),
  });
}

/** A record as kafkajs delivers it. */
export interface KafkaRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
}

/** A partition as one consumer process holds it. */
export interface PartitionState {
  stats: PartitionStats;
  /** The producer run whose records this process has been reading, once one is seen. */
  run?: string;
  /** The anomaly check of `stats.months`. */
  check: AnomalyCheck;
  /** Each station's anomaly checks, by measurement field number, made as they come. */
  stationChecks: Map<string, AnomalyCheck[]>;
  rule: AnomalyRule;
  /** With `--window`: the windows counted into `stats.windows`. */
  windows?: WindowConfig;
}

/** A partition's state from its checkpoint, with anomalies by `rule`. */
export function partitionState(
  stats: PartitionStats,
  rule: AnomalyRule,
  run?: string,
  windows?: WindowConfig,
): PartitionState {
  // The consumer checked that a checkpoint's windows, if any, are these (`checkWindows`).
  if (windows !== undefined) stats.windows ??= emptyWindows(windows);
  return {
    stats,
    run,
    check: anomalyCheck(stats.months, rule),
    stationChecks: new Map(),
    rule,
    windows,
  };
}

/**
 * Why a checkpoint cannot be counted on with `windows` (the consumer's `--window` flags), if
 * it cannot: windows see every record or none, so a checkpoint counted with other flags, or
 * without windows past offset 0, is refused rather than half-windowed.
 */
export function checkWindows(stats: PartitionStats, windows?: WindowConfig): string | undefined {
  const counted = stats.windows?.config;
  const wanted = windows?.text;
  if (counted === wanted) return undefined;
  if (counted === undefined && stats.offset === 0) return undefined;
  const had = counted === undefined ? "without --window" : `with windows ${counted}`;
  const now = wanted === undefined ? "without --window" : `with windows ${wanted}`;
  return `partition ${stats.partition} was counted ${had} up to offset ${stats.offset}, and this ` +
    `consumer counts ${now}: start it with the same window flags, or move the partition's ` +
    `files away to count it again`;
}

/** A value counted into the partition's windows (it keeps some: `state.windows`). */
function windowed(
  state: PartitionState,
  series: string,
  time: number,
  value: number,
  offset: number,
  outcome: BatchOutcome,
): void {
  const at = { series, time, value, partition: state.stats.partition, offset };
  windowValue(state.stats.windows!, state.windows!, at, outcome);
}

/**
 * Counts a station's valid report into the partition and checks each value counted against
 * its station's own climate (the same rule, on that station's measurement). Returns false
 * for a duplicate.
 */
function countStation(
  state: PartitionState,
  report: Report,
  offset: number,
  outcome: BatchOutcome,
  marks: Map<string, string>,
): boolean {
  const stations = state.stats.stations ??= {};
  const counted = countStationReport(stations, report);
  if (counted === undefined) return false;
  const station = report.stationId!;
  const month = monthOf(report.date)!;
  const year = report.date.slice(0, 4);
  // A station's hours of one month come in a row, each measuring the same: its keys are
  // made once per run of them.
  let mask = 0;
  for (const info of counted) mask |= 1 << info.id;
  const mark = `${month}${year}${mask}`;
  if (marks.get(station) !== mark) {
    marks.set(station, mark);
    for (const info of counted) {
      outcome.changed.add(stationEntryKey(station, info.name, month, year));
    }
  }
  let checks = state.stationChecks.get(station);
  if (checks === undefined) state.stationChecks.set(station, checks = []);
  const time = state.windows === undefined ? 0 : timeOf(report.time!);
  for (const info of counted) {
    // The table exists from now on and is changed in place: the check reads it live.
    const check = checks[info.id] ??= anomalyCheck(
      stations[station]!.measures[info.name]!,
      state.rule,
    );
    const value = measured(report, info.field)!;
    if (state.windows !== undefined) {
      windowed(state, `${station}/${info.name}`, time, value, offset, outcome);
    }
    const anomaly = check(
      month,
      { date: report.date, degrees: value },
      state.stats.partition,
      offset,
    );
    if (anomaly !== undefined) {
      outcome.anomalies.push({ ...anomaly, station, measure: info.name, time: report.time! });
    }
  }
  return true;
}

/** What one batch did. */
export interface BatchOutcome extends WindowOutcome {
  counted: number;
  duplicates: number;
  rejected: Rejected[];
  /** The counted days that are anomalies, in offset order. */
  anomalies: Anomaly[];
  /** The month/year entries that changed, keyed as the statistics topic keys them. */
  changed: Set<string>;
}

/** An outcome of nothing. */
export function emptyOutcome(): BatchOutcome {
  return {
    counted: 0,
    duplicates: 0,
    rejected: [],
    anomalies: [],
    changed: new Set(),
    closed: [],
    late: [],
    updated: new Set(),
  };
}

/**
 * Two batches' outcomes as one, `earlier` first: what a checkpoint covering both writes and
 * publishes.
 */
export function mergeOutcomes(earlier: BatchOutcome, later: BatchOutcome): BatchOutcome {
  return {
    counted: earlier.counted + later.counted,
    duplicates: earlier.duplicates + later.duplicates,
    rejected: [...earlier.rejected, ...later.rejected],
    anomalies: [...earlier.anomalies, ...later.anomalies],
    changed: new Set([...earlier.changed, ...later.changed]),
    closed: [...earlier.closed, ...later.closed],
    late: [...earlier.late, ...later.late],
    updated: new Set([...earlier.updated, ...later.updated]),
  };
}

/** A header's first value as text; `expected` itself when the bytes spell it. */
function header(
  headers: IHeaders | undefined,
  name: string,
  expected: string | undefined,
): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || typeof first === "string") return first;
  return expected !== undefined && spells(first, expected) ? expected : first.toString();
}

/** A key as text; the month name itself when the bytes spell one. */
function keyText(key: Buffer): string {
  for (const month of MONTHS) if (spells(key, month)) return month;
  return key.toString("utf8");
}

/**
 * True when `bytes` are the ASCII text `text`. The run header and the month keys repeat on
 * every record; recognising them instead of decoding each again saves a third of the batch
 * step's time.
 */
function spells(bytes: Uint8Array, text: string): boolean {
  if (bytes.length !== text.length) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80 || bytes[i] !== code) return false;
  }
  return true;
}

/**
 * Applies a batch of one partition's records to its state, in place: each record at or after
 * the checkpoint offset is counted, dropped as a duplicate, or rejected, and the offset moves
 * past it. Records before the offset were handled already (a re-delivery after a seek).
 *
 * @throws {P7Error} `TOPIC_RECREATED` when a record comes from another producer run than the
 * ones before it: the topic was recreated under a running consumer.
 */
export function applyBatch(state: PartitionState, records: KafkaRecord[]): BatchOutcome {
  const outcome = emptyOutcome();
  const stats = state.stats;
  let lastMonth = "";
  let lastYear = "";
  const marks = new Map<string, string>();
  for (const record of records) {
    const offset = Number(record.offset);
    // Checked before the offset: after a recreated topic's offsets reset, old offsets come again.
    const run = header(record.headers, RUN_HEADER, state.run);
    if (run !== undefined) {
      if (state.run !== undefined && run !== state.run) {
        throw new P7Error(
          "TOPIC_RECREATED",
          `topic "${TOPIC}" was recreated (producer run ${run} replaced run ${state.run}) ` +
            `at partition ${stats.partition} offset ${offset}: its checkpoint belongs to the ` +
            `old topic, so this consumer stops instead of mixing the two`,
        );
      }
      state.run = run;
    }
    if (offset < stats.offset) continue;
    const key = record.key === null ? null : keyText(record.key);
    const verdict = validateRecord(key, record.value);
    if ("reason" in verdict) {
      outcome.rejected.push({
        partition: stats.partition,
        offset,
        reason: verdict.reason,
        value: record.value === null ? null : record.value.toString("base64"),
      });
    } else if (verdict.report.stationId !== undefined) {
      if (countStation(state, verdict.report, offset, outcome, marks)) outcome.counted++;
      else outcome.duplicates++;
    } else if (countReport(stats.months, key!, verdict.report)) {
      outcome.counted++;
      const { date, degrees } = verdict.report;
      if (state.windows !== undefined) {
        const series = `partition-${stats.partition}/degrees`;
        windowed(state, series, timeOf(date), degrees, offset, outcome);
      }
      const anomaly = state.check(key!, verdict.report, stats.partition, offset);
      if (anomaly !== undefined) outcome.anomalies.push(anomaly);
      // Days of one month come in a row: a key is made once per run of them.
      if (key !== lastMonth || !date.startsWith(lastYear)) {
        lastMonth = key!;
        lastYear = date.slice(0, 5); // "1990-"
        outcome.changed.add(entryKey(lastMonth, date.slice(0, 4)));
      }
    } else {
      outcome.duplicates++;
    }
    stats.offset = offset + 1;
  }
  return outcome;
}
