/**
 * Statistics of many stations and many measurements: the part of a partition's checkpoint
 * that reports with a `stationId` are counted into, beside the course's single series.
 *
 * In `partition-N.json` it is the key `stations` (present once a station's report is counted):
 * station id → `{"last": <time>, "measures": {<measure>: {<Month>: {<year>: entry}}}}`, where
 * `last` is the time of the station's latest report counted and an entry is a month's
 * `count, sum, avg, min, max, sumsq, start, end` with `start`/`end` the first and last
 * observation times. A station's report not after its `last` is a duplicate, whatever it
 * measures.
 *
 * @module
 */
import { impossible, type Measure, type MeasureInfo, MEASURES } from "./measures.ts";
import { monthOf, MONTHS, type Report, type Validated } from "../kafka/report.ts";
import { accumulate, checkNumbers, type MonthStats, type MonthTable } from "./stats.ts";

/** One station's statistics. */
export interface StationStats {
  /** The time of its latest report counted, `YYYY-MM-DDTHH:MM:SSZ`. */
  last: string;
  /** Measurement → month → year → statistics. */
  measures: Partial<Record<Measure, MonthTable>>;
}

/** Station id → its statistics. */
export type StationTable = Record<string, StationStats>;

const TIME = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/;

/**
 * The checks a station's report must pass before it is counted (beside `validateRecord`'s):
 * the key is its station, the time is a real UTC time on its date, and every measurement is
 * possible.
 */
export function validateStationReport(key: string | null, report: Report): Validated {
  const station = report.stationId!;
  if (key !== station) {
    return {
      reason: `key ${JSON.stringify(key)} does not match the station ${JSON.stringify(station)}`,
    };
  }
  const time = report.time;
  const match = time === undefined ? null : TIME.exec(time);
  if (match === null || monthOf(match[1]!) === undefined) {
    return { reason: `impossible time ${JSON.stringify(time ?? "")}` };
  }
  if (match[1] !== report.date) {
    return { reason: `date ${report.date} is not the UTC day of ${time}` };
  }
  for (const info of MEASURES) {
    const value = measured(report, info.field);
    if (value === undefined) continue;
    const why = impossible(info, value);
    if (why !== undefined) return { reason: why };
  }
  return { report };
}

/** The value of a measurement in a report, `undefined` when not observed. */
export function measured(report: Report, field: string): number | undefined {
  return (report as unknown as Record<string, number | undefined>)[field];
}

/** The key of a station's entry, as the statistics topic keys it: `JFK/humidity/July-2013`. */
export function stationEntryKey(
  station: string,
  measure: string,
  month: string,
  year: string,
): string {
  return `${station}/${measure}/${month}-${year}`;
}

/**
 * Counts a station's valid report into `stations`, in place. Returns the measurements it
 * counted (the entries of its month and year changed), or `undefined` for a duplicate.
 */
export function countStationReport(
  stations: StationTable,
  report: Report,
): MeasureInfo[] | undefined {
  const station = report.stationId!;
  const time = report.time!;
  const stats = stations[station];
  if (stats !== undefined && time <= stats.last) return undefined;
  const entry = stats ?? (stations[station] = { last: time, measures: {} });
  entry.last = time;
  const month = monthOf(report.date)!;
  const year = report.date.slice(0, 4);
  const counted: MeasureInfo[] = [];
  for (const info of MEASURES) {
    const value = measured(report, info.field);
    if (value === undefined) continue;
    const years = (entry.measures[info.name] ??= {})[month] ??= {};
    years[year] = accumulate(years[year], time, value);
    counted.push(info);
  }
  return counted;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A station's entry checked: the numbers, and times within its month and year. */
export function checkStationEntry(where: string, month: string, year: string, value: unknown) {
  const stats: MonthStats = checkNumbers(where, value);
  for (const [name, time] of [["start", stats.start], ["end", stats.end]] as const) {
    const match = typeof time === "string" ? TIME.exec(time) : null;
    if (match === null || monthOf(match[1]!) !== month || !time.startsWith(year + "-")) {
      throw new Error(
        `${where}: ${name} ${JSON.stringify(time)} is not a time in ${month} ${year}`,
      );
    }
  }
  if (stats.start > stats.end) {
    throw new Error(`${where}: start ${stats.start} is after end ${stats.end}`);
  }
  return stats;
}

/**
 * The `stations` value of a partition file checked, with how many reports it counted (the
 * most any measurement counted, per station).
 *
 * @throws {Error} saying what is wrong, e.g. `station "JFK": last "x" is not a time`.
 */
export function parseStations(value: unknown): { stations: StationTable; counted: number } {
  if (!isRecord(value)) throw new Error("stations is not an object");
  const stations: StationTable = {};
  let counted = 0;
  for (const [station, entry] of Object.entries(value)) {
    const where = `station ${JSON.stringify(station)}`;
    if (!isRecord(entry) || !isRecord(entry.measures)) {
      throw new Error(`${where} has no measures object`);
    }
    const last = entry.last;
    if (typeof last !== "string" || TIME.exec(last) === null) {
      throw new Error(`${where}: last ${JSON.stringify(last)} is not a time`);
    }
    const measures: StationStats["measures"] = {};
    let most = 0;
    for (const [measure, months] of Object.entries(entry.measures)) {
      if (!MEASURES.some((info) => info.name === measure)) {
        throw new Error(`${where}: unknown measure ${JSON.stringify(measure)}`);
      }
      if (!isRecord(months)) throw new Error(`${where} ${measure} is not an object`);
      const table: MonthTable = {};
      let count = 0;
      for (const [month, years] of Object.entries(months)) {
        if (!MONTHS.includes(month)) throw new Error(`${where} ${measure}: unknown month ${month}`);
        if (!isRecord(years)) throw new Error(`${where} ${measure} ${month} is not an object`);
        table[month] = {};
        for (const [year, stats] of Object.entries(years)) {
          const checked = checkStationEntry(
            `${where} ${measure} ${month} ${year}`,
            month,
            year,
            stats,
          );
          if (checked.end > last) {
            throw new Error(
              `${where} ${measure} ${month} ${year}: end ${checked.end} is after last ${last}`,
            );
          }
          table[month][year] = checked;
          count += checked.count;
        }
      }
      measures[measure as Measure] = table;
      most = Math.max(most, count);
    }
    stations[station] = { last, measures };
    counted += most;
  }
  return { stations, counted };
}
