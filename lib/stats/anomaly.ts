/**
 * Anomalies: counted days far from their climate. A day's climate is every counted day of the
 * same calendar month in earlier years of its partition (a month's days all go to one
 * partition, since the month is the key); the day is an anomaly when it lies more than `sigma`
 * population standard deviations from their mean, once enough earlier years (5 by default)
 * are known.
 *
 * The climate is computed from the checkpoint's entries alone (count, sum and sum of squares
 * per month and year), summed in ascending year order, so a consumer restarted from its file
 * finds exactly the anomalies it would have found without the restart.
 *
 * @module
 */
import type { Report } from "../kafka/report.ts";
import type { MonthStats, MonthTable } from "./stats.ts";

/** What makes a day an anomaly. */
export interface AnomalyRule {
  /** More than this many standard deviations from its climate. */
  sigma: number;
  /** Earlier years of its calendar month needed before a day can be one. */
  years: number;
}

/** Three standard deviations, at least five earlier years. */
export const DEFAULT_RULE: Readonly<AnomalyRule> = { sigma: 3, years: 5 };

/**
 * One anomaly, as a line of `anomalies-N.jsonl` and a record of `temperature-anomalies`. A
 * station's anomaly also names its station, measurement and time, and `degrees` holds the
 * value measured, in that measurement's unit.
 */
export interface Anomaly {
  date: string;
  degrees: number;
  station?: string;
  measure?: string;
  time?: string;
  /** Mean of the same calendar month's counted days in earlier years. */
  mean: number;
  /** Their population standard deviation. */
  std: number;
  /** `(degrees - mean) / std`. */
  z: number;
  partition: number;
  offset: number;
}

/** Totals of earlier years' entries of one month. */
interface Totals {
  years: number;
  count: number;
  sum: number;
  sumsq: number;
}

function add(totals: Totals, entry: MonthStats): void {
  totals.years++;
  totals.count += entry.count;
  totals.sum += entry.sum;
  totals.sumsq += entry.sumsq;
}

/** The climate of one month: its entries of years before `year`. */
interface Cache {
  year: number;
  totals: Totals;
  /** From `totals`; undefined when too few years or no spread. */
  normal?: { mean: number; std: number };
}

function normal(totals: Totals, years: number): { mean: number; std: number } | undefined {
  if (totals.years < years) return undefined;
  const mean = totals.sum / totals.count;
  const std = Math.sqrt(Math.max(0, totals.sumsq / totals.count - mean * mean));
  return std === 0 ? undefined : { mean, std };
}

/**
 * Tells whether a day just counted is an anomaly; called once for every counted day, after
 * `countReport` took it into the table.
 */
export type AnomalyCheck = (
  month: string,
  report: Report,
  partition: number,
  offset: number,
) => Anomaly | undefined;

/**
 * The anomaly check by `rule` of a partition whose statistics are `months` (read, never
 * changed).
 *
 * Days come year after year, so each month keeps the totals of the years before the one it
 * last saw, and extends them when a later year begins, in ascending year order: the same
 * additions in the same order as summing from scratch, so the same numbers. A day of an
 * earlier year than that changed one of the summed entries: the month's totals are summed
 * from scratch.
 *
 * @example
 * ```ts
 * const check = anomalyCheck(months, DEFAULT_RULE);
 * countReport(months, "July", report);
 * const anomaly = check("July", report, 0, 41); // undefined, or the Anomaly
 * ```
 */
export function anomalyCheck(months: MonthTable, rule: AnomalyRule): AnomalyCheck {
  const caches = new Map<string, Cache>();
  const climate = (month: string, year: number): Cache => {
    const years = months[month] ?? {};
    let cache = caches.get(month);
    if (cache === undefined || year < cache.year) {
      const totals = { years: 0, count: 0, sum: 0, sumsq: 0 };
      for (const key of Object.keys(years).filter((key) => Number(key) < year).sort()) {
        add(totals, years[key]!);
      }
      caches.set(month, cache = { year, totals, normal: normal(totals, rule.years) });
    } else if (year > cache.year) {
      // Years are four digits, so this walks them in the order `sort` gives.
      for (let y = cache.year; y < year; y++) {
        const entry = years[String(y).padStart(4, "0")];
        if (entry !== undefined) add(cache.totals, entry);
      }
      cache.year = year;
      cache.normal = normal(cache.totals, rule.years);
    }
    return cache;
  };
  return (month, { date, degrees }, partition, offset) => {
    const found = climate(month, Number(date.slice(0, 4))).normal;
    if (found === undefined) return undefined;
    const z = (degrees - found.mean) / found.std;
    return Math.abs(z) > rule.sigma ? { date, degrees, ...found, z, partition, offset } : undefined;
  };
}

/**
 * A line of an anomaly log or a record of the anomalies topic, checked field by field.
 *
 * @throws {Error} saying what is wrong, e.g. `z "3" is not a finite number`.
 */
export function parseAnomaly(text: string): Anomaly {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error("not JSON");
  }
  if (typeof data !== "object" || data === null) throw new Error("not a JSON object");
  const { date, degrees, mean, std, z, partition, offset, station, measure, time } = data;
  if (typeof date !== "string" || !/^\d{4}-\d\d-\d\d$/.test(date)) {
    throw new Error(`date ${JSON.stringify(date)} is not a date`);
  }
  const named = { station, measure, time };
  if (station !== undefined) {
    for (const [name, value] of Object.entries(named)) {
      if (typeof value !== "string" || value === "") {
        throw new Error(`${name} ${JSON.stringify(value)} is not a name`);
      }
    }
  }
  for (const [name, value] of Object.entries({ degrees, mean, std, z })) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(`${name} ${JSON.stringify(value)} is not a finite number`);
    }
  }
  for (const [name, value] of Object.entries({ partition, offset })) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new Error(`${name} ${JSON.stringify(value)} is not a non-negative integer`);
    }
  }
  const anomaly = { date, degrees, mean, std, z, partition, offset } as Anomaly;
  return station === undefined ? anomaly : { ...anomaly, ...named } as Anomaly;
}
