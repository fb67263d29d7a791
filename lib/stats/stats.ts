/**
 * Per-partition statistics: for each month name and year the count, sum, average, first and
 * last date, lowest and highest value and sum of squares of the reports counted, plus the next
 * Kafka offset to read. This is both what the
 * dashboard reads and the consumer's checkpoint, so it is parsed strictly.
 *
 * @module
 */
import { monthOf, MONTHS, type Report } from "../kafka/report.ts";
import { parseStations, type StationTable } from "./stations.ts";
import { parseWindows, type WindowState } from "./windows.ts";

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
  /** The lowest value counted. */
  min: number;
  /** The highest value counted. */
  max: number;
  /** The sum of the squares of the values counted: with `sum` and `count`, the variance. */
  sumsq: number;
}

/** Month name → year (`"1990"`) → statistics. */
export type MonthTable = Record<string, Record<string, MonthStats>>;

/** The content of `partition-N.json`: the partition, the next offset to read, the stats. */
export interface PartitionStats {
  partition: number;
  /** The next offset to read: every record below it has been counted or skipped. */
  offset: number;
  months: MonthTable;
  /** The stations' statistics (see `stations.ts`), once a station's report is counted. */
  stations?: StationTable;
  /** With `consumer --window`: the stream time and the open windows (see `windows.ts`). */
  windows?: WindowState;
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
 * // { count: 1, sum: 30, avg: 30, start: "2000-01-01", end: "2000-01-01", min: 30, max: 30,
 * //   sumsq: 900 }
 * ```
 */
export function update(stats: MonthStats | undefined, report: Report): MonthStats | undefined {
  if (stats !== undefined && report.date <= stats.end) return undefined;
  return accumulate(stats, report.date, report.degrees);
}

/**
 * One value observed at `at` (a date or a time, after every one before) added to a month's
 * statistics, as a new object.
 */
export function accumulate(stats: MonthStats | undefined, at: string, value: number): MonthStats {
  if (stats === undefined) {
    return {
      count: 1,
      sum: value,
      avg: value,
      start: at,
      end: at,
      min: value,
      max: value,
      sumsq: value * value,
    };
  }
  const count = stats.count + 1;
  const sum = stats.sum + value;
  return {
    count,
    sum,
    avg: sum / count,
    start: stats.start,
    end: at,
    min: Math.min(stats.min, value),
    max: Math.max(stats.max, value),
    sumsq: stats.sumsq + value * value,
  };
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

/** Turns a partition's stats into the bytes of its file, in pieces; see `statsEncoder`. */
export type StatsEncoder = (stats: PartitionStats) => Uint8Array[];

const utf8 = new TextEncoder();

/** A byte buffer that grows as it is written; `bytes` is valid until the next write. */
class ByteBuffer {
  #buffer = new Uint8Array(4096);
  length = 0;

  get bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.length);
  }

  #reserve(bytes: number) {
    if (this.length + bytes <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.length + bytes));
    grown.set(this.bytes);
    this.#buffer = grown;
  }

  write(text: string) {
    // UTF-8 takes at most three bytes per UTF-16 code unit.
    this.#reserve(text.length * 3);
    this.length += utf8.encodeInto(text, this.#buffer.subarray(this.length)).written;
  }
}

/** One month's years as the file has them, and which entries that text was made of. */
interface MonthText {
  text: ByteBuffer;
  years: string[];
  entries: MonthStats[];
  /** Where each entry's text ends in `text`. */
  ends: number[];
}

/**
 * Brings a month's text up to date, encoding again the entries from the first that changed;
 * `indent` is the newline and spaces before each year (the month's depth in the file, plus 1).
 */
function updateMonth(
  month: MonthText,
  years: Record<string, MonthStats>,
  indent = "\n  ",
): void {
  const keys = Object.keys(years);
  const entries = Object.values(years);
  let same = 0;
  while (
    same < entries.length && entries[same] === month.entries[same] &&
    keys[same] === month.years[same]
  ) same++;
  if (same === entries.length && same === month.entries.length) return;
  month.text.length = same === 0 ? 0 : month.ends[same - 1]!;
  month.ends.length = same;
  for (let i = same; i < entries.length; i++) {
    const entry = JSON.stringify(entries[i], null, 1).replaceAll("\n", indent);
    month.text.write(`${i === 0 ? "" : ","}${indent}${JSON.stringify(keys[i])}: ${entry}`);
    month.ends.push(month.text.length);
  }
  month.years = keys;
  month.entries = entries;
}

/**
 * An encoder of a partition file's JSON: `partition`, `offset`, then the months in calendar
 * order, years in the order of `JSON.stringify`, indented by one space, ending in a newline;
 * the same text as `JSON.stringify` with those keys and an indent of 1.
 *
 * The file is rewritten after every batch and grows with the years counted (about 1 MB per
 * partition after 1,000,000 days), while a batch changes only a few entries, nearly always
 * the last years of a month. So the encoder keeps each month's text and, when it is called
 * again, encodes again only the entries from the first one whose year or object differs from
 * before: `update` makes a new object for every change. It returns the file in pieces, most
 * of them those texts, so that no copy of the whole file is made; they are valid until the
 * next call.
 *
 * @example
 * ```ts
 * const encode = statsEncoder();
 * const [text] = encode(emptyStats(0));
 * new TextDecoder().decode(text); // '{\n "partition": 0,\n "offset": 0\n}\n'
 * ```
 */
export function statsEncoder(): StatsEncoder {
  const months = new Map<string, MonthText>();
  // The stations' months, keyed by station, measure and month, kept and updated the same way.
  const stationMonths = new Map<string, MonthText>();
  const stationsText = (stations: StationTable): Uint8Array[] => {
    const names = Object.keys(stations);
    if (names.length === 0) return [utf8.encode("{}")];
    const pieces: Uint8Array[] = [];
    let before = "{";
    for (const name of names) {
      const { last, measures } = stations[name]!;
      const quoted = JSON.stringify(name);
      before += `\n  ${quoted}: {\n   "last": ${JSON.stringify(last)},\n   "measures": {`;
      let none = "}";
      for (const [measure, table] of Object.entries(measures)) {
        before += `\n    ${JSON.stringify(measure)}: {`;
        none = "\n   }";
        if (Object.keys(table).length === 0) {
          before += "},";
          continue;
        }
        for (const [monthName, years] of Object.entries(table)) {
          const key = `${name}\0${measure}\0${monthName}`;
          let month = stationMonths.get(key);
          if (month === undefined) {
            month = { text: new ByteBuffer(), years: [], entries: [], ends: [] };
            stationMonths.set(key, month);
          }
          updateMonth(month, years, "\n      ");
          pieces.push(utf8.encode(`${before}\n     ${JSON.stringify(monthName)}: {`));
          pieces.push(month.text.bytes);
          before = month.entries.length === 0 ? "}," : "\n     },";
        }
        // Closes the measure's last month, then the measure.
        before = before.slice(0, -1) + "\n    },";
      }
      before = (none === "}" ? before : before.slice(0, -1)) + `${none}\n  },`;
    }
    pieces.push(utf8.encode(before.slice(0, -1) + "\n }"));
    return pieces;
  };
  return (stats) => {
    const pieces: Uint8Array[] = [];
    let between = `{\n "partition": ${stats.partition},\n "offset": ${stats.offset}`;
    for (const name of MONTHS) {
      const years = stats.months[name];
      if (years === undefined) continue;
      let month = months.get(name);
      if (month === undefined) {
        month = { text: new ByteBuffer(), years: [], entries: [], ends: [] };
        months.set(name, month);
      }
      updateMonth(month, years);
      pieces.push(utf8.encode(`${between},\n ${JSON.stringify(name)}: {`), month.text.bytes);
      between = month.entries.length === 0 ? "}" : "\n }";
    }
    if (stats.stations !== undefined) {
      pieces.push(utf8.encode(`${between},\n "stations": `), ...stationsText(stats.stations));
      between = "";
    }
    if (stats.windows !== undefined) {
      // Written whole: the open windows are few (a series' latest, and those in their grace).
      const text = JSON.stringify(stats.windows, null, 1).replaceAll("\n", "\n ");
      pieces.push(utf8.encode(`${between},\n "windows": ${text}`));
      between = "";
    }
    pieces.push(utf8.encode(`${between}\n}\n`));
    return pieces;
  };
}

const DAY_MS = 86_400_000;

function days(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / DAY_MS;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A month's statistics checked field by field, as a checkpoint holds them.
 *
 * @throws {Error} saying what is wrong, e.g. `March 2024: count 0 is not a positive integer`.
 */
export function checkMonthStats(month: string, year: string, value: unknown): MonthStats {
  const where = `${month} ${year}`;
  const stats = checkNumbers(where, value);
  for (const [name, date] of [["start", stats.start], ["end", stats.end]] as const) {
    if (typeof date !== "string" || monthOf(date) !== month || !date.startsWith(year + "-")) {
      throw new Error(`${where}: ${name} ${JSON.stringify(date)} is not a date in ${where}`);
    }
  }
  if (stats.start > stats.end) {
    throw new Error(`${where}: start ${stats.start} is after end ${stats.end}`);
  }
  const span = days(stats.start, stats.end) + 1;
  if (stats.count > span) {
    throw new Error(
      `${where}: count ${stats.count} is more than the ${span} days from start to end`,
    );
  }
  return stats;
}

/**
 * The numbers of an entry checked, `where` naming it in errors: a positive integer count,
 * finite sum, avg, min, max and sumsq that agree with one another. `start` and `end` are
 * returned unchecked.
 */
export function checkNumbers(where: string, value: unknown): MonthStats {
  if (!isRecord(value)) throw new Error(`${where} is not an object`);
  const { count, sum, avg, start, end, min, max, sumsq } = value;
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) {
    throw new Error(`${where}: count ${JSON.stringify(count)} is not a positive integer`);
  }
  if (min === undefined || max === undefined || sumsq === undefined) {
    throw new Error(
      `${where} has no min, max or sumsq: it was counted by an older p7; move the file away ` +
        `to count the partition again`,
    );
  }
  const numbers = [["sum", sum], ["avg", avg], ["min", min], ["max", max], ["sumsq", sumsq]];
  for (const [name, number] of numbers) {
    if (typeof number !== "number" || !Number.isFinite(number)) {
      throw new Error(`${where}: ${name} ${JSON.stringify(number)} is not a finite number`);
    }
  }
  const stats = { count, sum, avg, start, end, min, max, sumsq } as MonthStats;
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  if (!near(stats.avg, stats.sum / count)) {
    throw new Error(`${where}: avg ${avg} is not sum/count (${stats.sum / count})`);
  }
  if (
    !(stats.min <= stats.avg || near(stats.min, stats.avg)) ||
    !(stats.avg <= stats.max || near(stats.max, stats.avg))
  ) {
    throw new Error(`${where}: avg ${avg} is not between min ${min} and max ${max}`);
  }
  // The sum of squares is at least sum²/count (the variance is not negative).
  if (stats.sumsq < stats.sum * stats.avg && !near(stats.sumsq, stats.sum * stats.avg)) {
    throw new Error(`${where}: sumsq ${sumsq} is below sum²/count (${stats.sum * stats.avg})`);
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
  const { stations: stationValue, windows: windowValue, ...monthValues } = rest;
  const months: MonthTable = {};
  let counted = 0;
  let stations: StationTable | undefined;
  if (stationValue !== undefined) {
    const parsed = parseStations(stationValue);
    stations = parsed.stations;
    counted += parsed.counted;
  }
  for (const [month, years] of Object.entries(monthValues)) {
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
  const stats: PartitionStats = { partition, offset, months };
  if (stations !== undefined) stats.stations = stations;
  if (windowValue !== undefined) stats.windows = parseWindows(windowValue);
  return stats;
}
