/**
 * Replay of a network of stations: the rows of a file of observations, each with its station,
 * its time and several measurements, turned into station Reports (see `replay.ts` for the
 * reading of the file itself).
 *
 * @module
 */
import { impossible, type MeasureInfo } from "../stats/measures.ts";
import { type Report } from "../kafka/report.ts";
import { type Invalid, parseReading, type Row, type Where } from "./replay.ts";

/** One measurement of the file: its column and the unit it is written in. */
export interface MeasureColumn {
  measure: MeasureInfo;
  column: string;
  /** The file's unit, one of `measure.units`. */
  unit: string;
}

/** Which columns of a file of stations to read. */
export interface StationReplayOptions {
  stationColumn: string;
  /** Column of the observation time: an ISO 8601 time, UTC unless it has a zone. */
  timeColumn: string;
  measures: readonly MeasureColumn[];
  /** As `ReplayOptions.where`. */
  where?: readonly Where[];
}

/** The columns a file of stations must have. */
export function stationColumns(options: StationReplayOptions): string[] {
  return [options.stationColumn, options.timeColumn, ...options.measures.map((m) => m.column)];
}

const ISO_TIME =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO 8601 time as `YYYY-MM-DDTHH:MM:SSZ` in UTC (a time without a zone is taken as UTC;
 * fractions of a second are dropped), or why it is not one.
 *
 * @example
 * ```ts
 * normalizeTime("2013-01-01 01:00:00-05:00"); // "2013-01-01T06:00:00Z"
 * ```
 */
export function normalizeTime(text: string): string | Invalid {
  const trimmed = text.trim();
  const match = ISO_TIME.exec(trimmed);
  const quoted = JSON.stringify(trimmed);
  if (match === null) return { reason: `${quoted} is not an ISO 8601 time` };
  const [, date, hour, minute, second = "00", zone = "Z"] = match;
  const offset = zone.toUpperCase() === "Z" ? "Z" : zone.replace(/^([+-]\d{2}):?(\d{2})$/, "$1:$2");
  const ms = Date.parse(`${date}T${hour}:${minute}:${second}${offset}`);
  // Date.parse rolls 2013-02-30 over to March: the written date must survive the round trip.
  const local = new Date(Date.parse(`${date}T00:00:00Z`));
  if (!Number.isFinite(ms) || local.toISOString().slice(0, 10) !== date) {
    return { reason: `${quoted} does not exist` };
  }
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}

/** "Not observed": an empty field, `NA` (R, pandas) or JSON `null`. */
function notObserved(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value !== "string") return false;
  const trimmed = value.trim();
  return trimmed === "" || trimmed === "NA";
}

/**
 * A station's row as its report: station and time checked, each measurement converted to its
 * canonical unit (4 decimals), left out when not observed, and noted (not sent) when it is not
 * a number or physically impossible. Invalid when the station or time is missing or wrong, or
 * nothing was observed.
 */
export function stationReport(
  options: StationReplayOptions,
  row: Row,
): Report | { report: Report; notes: string[] } | Invalid {
  const station = row(options.stationColumn);
  const id = typeof station === "string"
    ? station.trim()
    : typeof station === "number"
    ? String(station)
    : "";
  if (id === "") return { reason: `${options.stationColumn} is missing` };
  const at = row(options.timeColumn);
  if (typeof at !== "string" || at.trim() === "") {
    return { reason: `${options.timeColumn} is missing` };
  }
  const time = normalizeTime(at);
  if (typeof time !== "string") return { reason: `${options.timeColumn} ${time.reason}` };
  const report: Report = { date: time.slice(0, 10), degrees: 0, stationId: id, time };
  const notes: string[] = [];
  let observed = 0;
  for (const { measure, column, unit } of options.measures) {
    const value = row(column);
    if (notObserved(value)) continue;
    const reading = typeof value === "number" ? value : parseReading(String(value));
    if (typeof reading !== "number") {
      notes.push(`${column} ${reading.reason}; ${measure.name} not sent`);
      continue;
    }
    const converted = Math.round(measure.units[unit]!(reading) * 1e4) / 1e4 + 0;
    const why = impossible(measure, converted);
    if (why !== undefined) {
      notes.push(`${column} ${reading} ${unit}: ${why}; ${measure.name} not sent`);
      continue;
    }
    (report as unknown as Record<string, number>)[measure.field] = converted;
    observed++;
  }
  if (observed === 0) {
    return {
      reason: notes.length === 0
        ? "nothing observed"
        : `nothing left to send (${notes.join("; ")})`,
    };
  }
  if (report.temperature !== undefined) report.degrees = report.temperature;
  return notes.length === 0 ? report : { report, notes };
}

/** Why a station's row at `time` cannot follow the one before it, if it cannot. */
export function checkStationOrder(
  station: string,
  time: string,
  previous: { time: string; line: number } | undefined,
): Invalid | undefined {
  if (previous === undefined || time > previous.time) return undefined;
  return {
    reason: `time ${time} of ${station} is not after its ${previous.time} (line ${previous.line})`,
  };
}
