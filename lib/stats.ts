/**
 * Per-partition statistics: for each month name and year the count, sum, average, first and
 * last date of the reports counted, plus the next Kafka offset to read. This is both what the
 * dashboard reads and the consumer's checkpoint, so it is parsed strictly.
 *
 * @module
 */
import { monthOf, MONTHS, type Report } from "./report.ts";

/** Statistics of one month in one year. */
export interface MonthStats {
  count: number;
  sum: number;
  /** `sum / count`. */
  avg: number;
  /** First date counted, `YYYY-MM-DD`. */
  start: string;
  /** Last date counted; a report dated on or before it is a duplicate. */
  end: string;
}

/** Month name → year (`"1990"`) → statistics. */
export type MonthTable = Record<string, Record<string, MonthStats>>;

/** The content of `partition-N.json`: the partition, the next offset to read, the stats. */
export interface PartitionStats {
  partition: number;
  /** The next offset to read: every record below it has been counted or skipped. */
  offset: number;
  months: MonthTable;
}

/** A new, empty checkpoint for a partition. */
export function emptyStats(partition: number): PartitionStats {
  return { partition, offset: 0, months: {} };
}

/**
 * One report added to a month's statistics, as a new object; `undefined` when the report is a
 * duplicate (its date is not after the last date counted).
 *
 * @example
 * ```ts
 * update(undefined, { date: "2000-01-01", degrees: 30 });
 * // { count: 1, sum: 30, avg: 30, start: "2000-01-01", end: "2000-01-01" }
 * ```
 */
export function update(stats: MonthStats | undefined, report: Report): MonthStats | undefined {
  if (stats === undefined) {
    const { date, degrees } = report;
    return { count: 1, sum: degrees, avg: degrees, start: date, end: date };
  }
  if (report.date <= stats.end) return undefined;
  const count = stats.count + 1;
  const sum = stats.sum + report.degrees;
  return { count, sum, avg: sum / count, start: stats.start, end: report.date };
}

/**
 * Counts a valid report into the partition's table, in place. Returns false for a duplicate.
 * The caller has checked the date with `validateRecord`.
 */
export function countReport(months: MonthTable, month: string, report: Report): boolean {
  const year = report.date.slice(0, 4);
  const years = months[month] ??= {};
  const next = update(years[year], report);
  if (next === undefined) return false;
  years[year] = next;
  return true;
}

/**
 * The JSON text of a partition file: `partition`, `offset`, then the months in calendar order,
 * years ascending.
 */
export function serializeStats(stats: PartitionStats): string {
  const out: Record<string, unknown> = { partition: stats.partition, offset: stats.offset };
  for (const month of MONTHS) {
    const years = stats.months[month];
    if (years !== undefined) out[month] = years;
  }
  return JSON.stringify(out, null, 1) + "\n";
}

const DAY_MS = 86_400_000;

function days(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / DAY_MS;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkMonthStats(month: string, year: string, value: unknown): MonthStats {
  const where = `${month} ${year}`;
  if (!isRecord(value)) throw new Error(`${where} is not an object`);
  const { count, sum, avg, start, end } = value;
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) {
    throw new Error(`${where}: count ${JSON.stringify(count)} is not a positive integer`);
  }
  for (const [name, number] of [["sum", sum], ["avg", avg]] as const) {
    if (typeof number !== "number" || !Number.isFinite(number)) {
      throw new Error(`${where}: ${name} ${JSON.stringify(number)} is not a finite number`);
    }
  }
  for (const [name, date] of [["start", start], ["end", end]] as const) {
    if (typeof date !== "string" || monthOf(date) !== month || !date.startsWith(year + "-")) {
      throw new Error(`${where}: ${name} ${JSON.stringify(date)} is not a date in ${where}`);
    }
  }
  const stats = { count, sum, avg, start, end } as MonthStats;
  if (stats.start > stats.end) throw new Error(`${where}: start ${start} is after end ${end}`);
  if (Math.abs(stats.avg - stats.sum / count) > 1e-9 * Math.max(1, Math.abs(stats.avg))) {
    throw new Error(`${where}: avg ${avg} is not sum/count (${stats.sum / count})`);
  }
  const span = days(stats.start, stats.end) + 1;
  if (count > span) {
    throw new Error(`${where}: count ${count} is more than the ${span} days from start to end`);
  }
  return stats;
}

/**
 * Parses and checks the text of a partition file. Anything that cannot have been written by
 * a consumer is an error: a checkpoint is never silently reset.
 *
 * @throws {Error} saying what is wrong, e.g. `offset is negative`.
 * @example
 * ```ts
 * parseStats('{"partition": 2, "offset": 0}', 2); // { partition: 2, offset: 0, months: {} }
 * ```
 */
export function parseStats(text: string, partition: number): PartitionStats {
  if (text.trim() === "") throw new Error("file is empty");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(data)) throw new Error("not a JSON object");
  const { partition: found, offset, ...rest } = data;
  if (found !== partition) {
    throw new Error(`partition is ${JSON.stringify(found)}, expected ${partition}`);
  }
  if (typeof offset !== "number" || !Number.isSafeInteger(offset)) {
    throw new Error(`offset ${JSON.stringify(offset)} is not an integer`);
  }
  if (offset < 0) throw new Error("offset is negative");
  const months: MonthTable = {};
  let counted = 0;
  for (const [month, years] of Object.entries(rest)) {
    if (!MONTHS.includes(month)) throw new Error(`unknown key ${JSON.stringify(month)}`);
    if (!isRecord(years)) throw new Error(`${month} is not an object`);
    months[month] = {};
    for (const [year, value] of Object.entries(years)) {
      if (!/^\d{4}$/.test(year)) throw new Error(`${month}: ${JSON.stringify(year)} is not a year`);
      const stats = checkMonthStats(month, year, value);
      months[month][year] = stats;
      counted += stats.count;
    }
  }
  if (counted > offset) {
    throw new Error(`it counts ${counted} reports but its offset is only ${offset}`);
  }
  return { partition, offset, months };
}
