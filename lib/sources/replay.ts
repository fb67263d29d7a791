/**
 * Replay of real observations: a CSV or JSON Lines file of daily maximum temperatures read
 * as a stream, each row cleaned, checked and turned into a `Report` in °F, or into the reason
 * it cannot be sent.
 *
 * @module
 */
import { P7Error } from "../errors.ts";
import { daysInMonth, monthOf, type Report } from "../kafka/report.ts";
import type { GeneratedReport } from "./weather.ts";
import {
  checkStationOrder,
  stationColumns,
  type StationReplayOptions,
  stationReport,
} from "./station_replay.ts";

/** Units of the file's temperatures. */
export type Units = "C" | "F";

/** Keep only rows whose `column` holds `value` (spaces around the field ignored). */
export interface Where {
  column: string;
  value: string;
}

/** Which columns of the file to read, and how. */
export interface ReplayOptions {
  /** Column holding the day. */
  dateColumn: string;
  /** Column holding the day's maximum temperature. */
  valueColumn: string;
  units: Units;
  /**
   * Filters a row must pass, all of them; a row that does not is left out, not rejected.
   * @default []
   */
  where?: readonly Where[];
}

/** Why a value or a row cannot be used. */
export interface Invalid {
  reason: string;
}

/**
 * A row of the file that is skipped, with its line number (from 1) and why; or with
 * `partial`, a measurement of a station's row that is not sent while the rest of it is.
 */
export interface Rejected {
  line: number;
  reason: string;
  partial?: true;
}

/** A row left out by `where`. */
export interface Filtered {
  filtered: true;
}

/** What each row of the file becomes, in file order: a report to send, a rejection, or nothing. */
export type ReplayItem = GeneratedReport | Rejected | Filtered;

/** Lines longer than this are rejected unread, so one endless line cannot fill the memory. */
export const MAX_LINE_LENGTH = 1 << 20;

/** The lowest possible temperature, °F. */
const ABSOLUTE_ZERO_F = -459.67;

function invalid(reason: string): Invalid {
  return { reason };
}

function isInvalid(value: unknown): value is Invalid {
  return typeof value === "object" && value !== null && "reason" in value;
}

/**
 * The fields of one CSV line: separated by commas, a field in double quotes may hold commas
 * and `""` for a quote; spaces around a quoted field are ignored. A line is one record (a
 * quoted field cannot hold a line break).
 *
 * @example
 * ```ts
 * splitCsvLine('2012-01-01,"New York, NY",12.8'); // ["2012-01-01", "New York, NY", "12.8"]
 * splitCsvLine('a,"b'); // { reason: "field 2 has no closing quote" }
 * ```
 */
export function splitCsvLine(line: string): string[] | Invalid {
  if (!line.includes('"')) return line.split(",");
  const fields: string[] = [];
  let at = 0;
  while (true) {
    let start = at;
    while (line[start] === " " || line[start] === "\t") start++;
    if (line[start] !== '"') {
      const comma = line.indexOf(",", at);
      const end = comma === -1 ? line.length : comma;
      const field = line.slice(at, end);
      if (field.includes('"')) {
        return invalid(`field ${fields.length + 1} has a quote inside an unquoted value`);
      }
      fields.push(field);
      if (comma === -1) return fields;
      at = comma + 1;
      continue;
    }
    let value = "";
    let from = start + 1;
    while (true) {
      const quote = line.indexOf('"', from);
      if (quote === -1) return invalid(`field ${fields.length + 1} has no closing quote`);
      value += line.slice(from, quote);
      if (line[quote + 1] !== '"') {
        at = quote + 1;
        break;
      }
      value += '"';
      from = quote + 2;
    }
    fields.push(value);
    while (line[at] === " " || line[at] === "\t") at++;
    if (at === line.length) return fields;
    if (line[at] !== ",") {
      return invalid(`field ${fields.length} has text after its closing quote`);
    }
    at++;
  }
}

const YEAR_FIRST = /^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/;
const MONTH_FIRST = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const TIME = /^([01]?\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)?$/i;

/**
 * A date in one of the common formats as `YYYY-MM-DD`: `YYYY-MM-DD`, `YYYY/MM/DD`,
 * `YYYY.MM.DD` (month and day of one or two digits), `YYYYMMDD`, US `M/D/YYYY`, each
 * optionally followed by `T` or a space and a time `HH:MM[:SS[.fff]]` with an optional `Z` or
 * `±HH:MM` zone, as in ISO 8601 timestamps. The date is taken as written: a daily record's
 * day is the station's own, so the time and zone are checked but not applied.
 *
 * @example
 * ```ts
 * normalizeDate("1/5/2012"); // "2012-01-05"
 * normalizeDate("2012-01-05T23:00:00-08:00"); // "2012-01-05"
 * normalizeDate("2013-02-29"); // { reason: '"2013-02-29" does not exist' }
 * ```
 */
export function normalizeDate(text: string): string | Invalid {
  const trimmed = text.trim();
  if (monthOf(trimmed) !== undefined) return trimmed;
  const quoted = JSON.stringify(trimmed);
  const cut = trimmed.search(/[T ]/);
  if (cut !== -1 && !TIME.test(trimmed.slice(cut + 1).trim())) {
    return invalid(`${quoted} is not a date in a known format`);
  }
  const date = cut === -1 ? trimmed : trimmed.slice(0, cut);
  let match = YEAR_FIRST.exec(date) ?? COMPACT.exec(date);
  let year: string, month: string, day: string;
  if (match) {
    [year, month, day] = [match[1]!, match.at(-2)!, match.at(-1)!];
  } else if ((match = MONTH_FIRST.exec(date))) {
    [month, day, year] = [match[1]!, match[2]!, match[3]!];
  } else {
    return invalid(`${quoted} is not a date in a known format`);
  }
  const [y, m, d] = [Number(year), Number(month), Number(day)];
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return invalid(`${quoted} does not exist`);
  return `${year}-${month.padStart(2, "0")}-${day.padStart(2, "0")}`;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/**
 * A decimal number written in a field, spaces around it ignored.
 *
 * @example
 * ```ts
 * parseReading(" 12.8 "); // 12.8
 * parseReading(""); // { reason: "is missing" }
 * parseReading("1e999"); // { reason: '"1e999" is not a finite number' }
 * ```
 */
export function parseReading(text: string): number | Invalid {
  const trimmed = text.trim();
  if (trimmed === "") return invalid("is missing");
  const quoted = JSON.stringify(trimmed);
  if (NON_FINITE.test(trimmed)) return invalid(`${quoted} is not a finite number`);
  if (!NUMBER.test(trimmed)) return invalid(`${quoted} is not a number`);
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : invalid(`${quoted} is not a finite number`);
}

/**
 * A temperature in °F rounded to 4 decimals, as the generator writes them (never -0, which
 * protobuf would send differently from 0).
 *
 * @example
 * ```ts
 * toFahrenheit(12.8, "C"); // 55.04
 * ```
 */
export function toFahrenheit(value: number, units: Units): number {
  const fahrenheit = units === "C" ? value * 9 / 5 + 32 : value;
  return Math.round(fahrenheit * 1e4) / 1e4 + 0;
}

/**
 * Checks that a row's date comes after the previous accepted row's: the consumer counts a
 * date at most once and in order, so a repeated or earlier date is rejected, not reordered.
 *
 * @example
 * ```ts
 * checkOrder("2012-01-03", { date: "2012-01-05", line: 7 });
 * // { reason: "date 2012-01-03 is not after 2012-01-05 (line 7)" }
 * ```
 */
export function checkOrder(
  date: string,
  previous: { date: string; line: number } | undefined,
): Invalid | undefined {
  if (previous === undefined || date > previous.date) return undefined;
  return invalid(`date ${date} is not after ${previous.date} (line ${previous.line})`);
}

/** A station's report with the measurements of its row that could not be sent, and why. */
export interface Noted {
  report: Report;
  notes: string[];
}

/**
 * A row's verdict: the report to send (with notes, for a station's row that lost a
 * measurement), why it is invalid, or `null` when `where` leaves it out.
 */
export type RowVerdict = Report | Noted | Invalid | null;

/** How the rows of a file are read, found from its first line. */
export interface Layout {
  format: "CSV" | "JSON Lines";
  /** Turns one line of data into its verdict. */
  parseRow: (line: string) => RowVerdict;
  /** Whether the first line is a row too (JSON Lines) rather than a header (CSV). */
  firstLineIsRow: boolean;
}

/** A row's value in `column`, as the file holds it (CSV: a string). */
export type Row = (column: string) => unknown;

/**
 * The fields of a row as the file gives them, one reading per format: the format, whether
 * the first line is a row too, and how a line becomes a `Row` (or why it cannot).
 */
interface RowReader {
  format: Layout["format"];
  firstLineIsRow: boolean;
  read: (line: string) => Row | Invalid;
}

/** The report of a row from its date and temperature as found, or why there is none. */
function toReport(options: ReplayOptions, date: unknown, value: unknown): Report | Invalid {
  const { dateColumn, valueColumn } = options;
  if (date === undefined || date === null) return invalid(`${dateColumn} is missing`);
  if (typeof date !== "string" && typeof date !== "number") {
    return invalid(`${dateColumn} ${JSON.stringify(date)} is not a date`);
  }
  if (typeof date === "string" && date.trim() === "") return invalid(`${dateColumn} is missing`);
  const day = normalizeDate(String(date));
  if (isInvalid(day)) return invalid(`${dateColumn} ${day.reason}`);
  let reading: number | Invalid;
  if (typeof value === "string") reading = parseReading(value);
  else if (value === undefined || value === null) reading = invalid("is missing");
  else if (typeof value !== "number") reading = invalid(`${JSON.stringify(value)} is not a number`);
  else reading = Number.isFinite(value) ? value : invalid(`${value} is not a finite number`);
  if (isInvalid(reading)) return invalid(`${valueColumn} ${reading.reason}`);
  const degrees = toFahrenheit(reading, options.units);
  if (degrees < ABSOLUTE_ZERO_F) {
    return invalid(`${valueColumn} ${reading} °${options.units} is below absolute zero`);
  }
  return { date: day, degrees };
}

function csvReader(header: string, needed: readonly string[]): RowReader | Invalid {
  const names = splitCsvLine(header);
  if (isInvalid(names)) return invalid(`its header row is not valid CSV: ${names.reason}`);
  const columns = names.map((name) => name.trim());
  const index = new Map<string, number>();
  for (const column of needed) {
    const at = columns.indexOf(column);
    if (at === -1) {
      const date = columns.map(normalizeDate).find((day) => typeof day === "string");
      return invalid(
        date === undefined
          ? `no column ${JSON.stringify(column)} in its header (${columns.join(", ")})`
          : `it has no header row (its first line holds the date ${date})`,
      );
    }
    if (columns.indexOf(column, at + 1) !== -1) {
      return invalid(`column ${JSON.stringify(column)} appears twice in its header`);
    }
    index.set(column, at);
  }
  const width = columns.length;
  return {
    format: "CSV",
    firstLineIsRow: false,
    read: (line) => {
      const fields = splitCsvLine(line);
      if (isInvalid(fields)) return fields;
      if (fields.length !== width) {
        return invalid(`${fields.length} fields where the header has ${width}`);
      }
      return (column) => fields[index.get(column)!];
    },
  };
}

/** A value as `--where` compares it: a string trimmed, a number or boolean written out. */
function whereText(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim();
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function parseObject(line: string): Record<string, unknown> | Invalid {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return invalid("not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return invalid("not a JSON object");
  }
  return value as Record<string, unknown>;
}

function jsonReader(first: string, needed: readonly string[]): RowReader | Invalid {
  const record = parseObject(first);
  if (isInvalid(record)) return invalid(`its first line is ${record.reason}`);
  const keys = Object.keys(record);
  const missing = needed.find((column) => !Object.hasOwn(record, column));
  if (missing !== undefined) {
    return invalid(
      `no key ${JSON.stringify(missing)} in its first record (keys: ${keys.join(", ")})`,
    );
  }
  return {
    format: "JSON Lines",
    firstLineIsRow: true,
    read: (line) => {
      const row = parseObject(line);
      return isInvalid(row) ? row : (column) => row[column];
    },
  };
}

/**
 * How to read a file whose first non-blank line is `first`: JSON Lines when it starts with
 * `{` (each line an object, the keys of the first one its columns), else CSV with that line
 * as its header row. Invalid when a column named in `options` is not there.
 *
 * @example
 * ```ts
 * const layout = rowLayout("date,temp_max", { dateColumn: "date", valueColumn: "temp_max", units: "C" });
 * (layout as Layout).parseRow("2012-01-01,12.8"); // { date: "2012-01-01", degrees: 55.04 }
 * ```
 */
export function rowLayout(
  first: string,
  options: ReplayOptions | StationReplayOptions,
): Layout | Invalid {
  const where = options.where ?? [];
  const stations = "stationColumn" in options ? options : undefined;
  const own = stations === undefined
    ? [(options as ReplayOptions).dateColumn, (options as ReplayOptions).valueColumn]
    : stationColumns(stations);
  const needed = [...own, ...where.map((w) => w.column)];
  const reader = first.trimStart().startsWith("{")
    ? jsonReader(first, needed)
    : csvReader(first, needed);
  if (isInvalid(reader)) return reader;
  const report = stations === undefined
    ? (row: Row) =>
      toReport(
        options as ReplayOptions,
        row((options as ReplayOptions).dateColumn),
        row((options as ReplayOptions).valueColumn),
      )
    : (row: Row) => stationReport(stations, row);
  return {
    format: reader.format,
    firstLineIsRow: reader.firstLineIsRow,
    parseRow: (line) => {
      const row = reader.read(line);
      if (isInvalid(row)) return row;
      for (const { column, value } of where) if (whereText(row(column)) !== value) return null;
      return report(row);
    },
  };
}

/** Consecutive lines of a file: `lines[0]` is line `first`; `null` is a line too long to keep. */
export interface LinePage {
  first: number;
  lines: (string | null)[];
}

/** Options of `splitLines`. */
export interface SplitLinesOptions {
  /**
   * Length of the longest line kept; a longer one is dropped as it arrives and given as `null`.
   * @default MAX_LINE_LENGTH
   */
  maxLineLength?: number;
}

/**
 * The lines of a text stream, a page per chunk that ends one or more lines, without their
 * `\n` or `\r\n`. Memory stays within a chunk and one line, however long the stream.
 *
 * @example
 * ```ts
 * for await (const page of splitLines(ReadableStream.from(["a\nb", "c\r\n"]))) {
 *   // { first: 1, lines: ["a"] }, then { first: 2, lines: ["bc"] }
 * }
 * ```
 */
export async function* splitLines(
  chunks: AsyncIterable<string>,
  options: SplitLinesOptions = {},
): AsyncGenerator<LinePage> {
  const max = options.maxLineLength ?? MAX_LINE_LENGTH;
  const end = (line: string | null): string | null => {
    if (line === null) return null;
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    return text.length > max ? null : text;
  };
  // What the last chunk left of a line, null once it is too long to keep (+1 for a "\r").
  let pending: string | null = "";
  let first = 1;
  for await (const chunk of chunks) {
    const parts = chunk.split("\n");
    if (parts.length === 1) {
      pending = pending === null || pending.length + chunk.length > max + 1
        ? null
        : pending + chunk;
      continue;
    }
    const lines: (string | null)[] = parts.slice(0, -1);
    lines[0] = pending === null ? null : pending + parts[0];
    for (let i = 0; i < lines.length; i++) lines[i] = end(lines[i]!);
    const rest = parts.at(-1)!;
    pending = rest.length > max + 1 ? null : rest;
    yield { first, lines };
    first += lines.length;
  }
  if (pending !== "") yield { first, lines: [end(pending)] };
}

/** A file being replayed, its first line read and its columns found. */
export interface Replay {
  format: Layout["format"];
  /** The rows after the header, in file order, a page at a time. */
  pages: AsyncGenerator<ReplayItem[]>;
}

function inputError(path: string, reason: string, cause?: unknown): P7Error {
  return new P7Error("INPUT", `Cannot replay ${JSON.stringify(path)}: ${reason}`, { cause });
}

/**
 * Opens a CSV or JSON Lines file for replay and reads up to its first non-blank line, so
 * that a file that cannot be used fails before anything is sent. The returned pages stream
 * the rest: blank lines are passed over; every other row becomes one item, a report whose
 * date comes after the previous accepted one's, a rejection with its line number, or
 * `filtered`. Requires `--allow-read`.
 *
 * @throws {P7Error} `INPUT` when the file cannot be read, is empty, or lacks a column.
 * @example
 * ```ts
 * const replay = await openReplay("seattle-weather.csv", {
 *   dateColumn: "date",
 *   valueColumn: "temp_max",
 *   units: "C",
 * });
 * for await (const page of replay.pages) console.log(page.length);
 * ```
 */
export async function openReplay(
  path: string,
  options: ReplayOptions | StationReplayOptions,
): Promise<Replay> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
    if ((await file.stat()).isDirectory) {
      file.close();
      throw inputError(path, "it is a directory");
    }
  } catch (error) {
    if (error instanceof P7Error) throw error;
    if (error instanceof Deno.errors.NotFound) throw inputError(path, "no such file", error);
    if (error instanceof Deno.errors.PermissionDenied) {
      throw inputError(path, "permission denied", error);
    }
    throw error;
  }
  const lines = splitLines(file.readable.pipeThrough(new TextDecoderStream()));
  const read = async () => {
    try {
      return await lines.next();
    } catch (error) {
      throw inputError(path, (error as Error).message, error);
    }
  };
  const fail = async (reason: string): Promise<never> => {
    await lines.return(undefined);
    throw inputError(path, reason);
  };
  let page: LinePage = { first: 1, lines: [] };
  let at = 0;
  // Up to the first non-blank line: a CSV header or a JSON Lines record.
  while (at === page.lines.length || page.lines[at]?.trim() === "") {
    if (at < page.lines.length) {
      at++;
      continue;
    }
    const next = await read();
    if (next.done) return fail("the file is empty");
    [page, at] = [next.value, 0];
  }
  const first = page.lines[at];
  if (typeof first !== "string") {
    return fail(`line ${page.first + at} is longer than ${MAX_LINE_LENGTH} characters`);
  }
  const layout = rowLayout(first, options);
  if (isInvalid(layout)) return fail(layout.reason);
  if (!layout.firstLineIsRow) at++;
  const rest: LinePage = { first: page.first + at, lines: page.lines.slice(at) };
  return { format: layout.format, pages: items(rest, read, layout.parseRow, lines) };
}

async function* items(
  start: LinePage,
  read: () => Promise<IteratorResult<LinePage>>,
  parseRow: Layout["parseRow"],
  lines: AsyncGenerator<LinePage>,
): AsyncGenerator<ReplayItem[]> {
  let previous: { date: string; line: number } | undefined;
  // A station's rows may interleave with other stations': each is in order on its own.
  const previousOf = new Map<string, { time: string; line: number }>();
  const filtered: Filtered = { filtered: true };
  try {
    for (let page: LinePage | undefined = start; page !== undefined;) {
      const out: ReplayItem[] = [];
      for (let i = 0; i < page.lines.length; i++) {
        const text = page.lines[i]!;
        const line = page.first + i;
        if (text === null) {
          out.push({ line, reason: `longer than ${MAX_LINE_LENGTH} characters` });
          continue;
        }
        if (text.trim() === "") continue;
        const verdict = parseRow(text);
        if (verdict === null) {
          out.push(filtered);
          continue;
        }
        if (isInvalid(verdict)) {
          out.push({ line, reason: verdict.reason });
          continue;
        }
        const { report, notes } = "notes" in verdict ? verdict : { report: verdict, notes: [] };
        const station = report.stationId;
        const wrong = station === undefined
          ? checkOrder(report.date, previous)
          : checkStationOrder(station, report.time!, previousOf.get(station));
        if (wrong !== undefined) {
          out.push({ line, reason: wrong.reason });
          continue;
        }
        if (station === undefined) previous = { date: report.date, line };
        else previousOf.set(station, { time: report.time!, line });
        for (const note of notes) out.push({ line, reason: note, partial: true });
        out.push({ report, duplicate: false });
      }
      yield out;
      const next = await read();
      page = next.done ? undefined : next.value;
    }
  } finally {
    await lines.return(undefined);
  }
}
