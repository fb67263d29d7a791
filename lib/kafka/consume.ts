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
import { entryKey } from "./stats_topic.ts";

/**
 * A kafkajs assigner for a group private to one process: its only member always gets
 * `partitions` of `topic`, so no rebalance can move a partition elsewhere.
 */
export function fixedAssigner(topic: string, partitions: number[]): PartitionAssigner {
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
          assignment: index === 0 ? { [topic]: partitions } : {},
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
}

/** A partition's state from its checkpoint, with anomalies by `rule`. */
export function partitionState(
  stats: PartitionStats,
  rule: AnomalyRule,
  run?: string,
): PartitionState {
  return { stats, run, check: anomalyCheck(stats.months, rule), stationChecks: new Map(), rule };
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
  for (const info of counted) {
    // The table exists from now on and is changed in place: the check reads it live.
    const check = checks[info.id] ??= anomalyCheck(
      stations[station]!.measures[info.name]!,
      state.rule,
    );
    const value = measured(report, info.field)!;
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
export interface BatchOutcome {
  counted: number;
  duplicates: number;
  rejected: Rejected[];
  /** The counted days that are anomalies, in offset order. */
  anomalies: Anomaly[];
  /** The month/year entries that changed, keyed as the statistics topic keys them. */
  changed: Set<string>;
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
  const outcome: BatchOutcome = {
    counted: 0,
    duplicates: 0,
    rejected: [],
    anomalies: [],
    changed: new Set(),
  };
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
      const anomaly = state.check(key!, verdict.report, stats.partition, offset);
      if (anomaly !== undefined) outcome.anomalies.push(anomaly);
      // Days of one month come in a row: a key is made once per run of them.
      const { date } = verdict.report;
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
