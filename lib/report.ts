/**
 * The `Report` protobuf message of `proto/report.proto`, encoded and decoded with
 * protobufjs, and the rules a decoded report must meet before it is counted.
 *
 * The schema is kept here as a protobufjs JSON descriptor so that compiled binaries read no
 * source file at run time; `report_test.ts` proves it equals `proto/report.proto`.
 *
 * @module
 */
import protobuf from "protobufjs";

/** One day's maximum temperature. */
export interface Report {
  /** The day, `YYYY-MM-DD`. */
  date: string;
  /** The day's maximum temperature in °F. */
  degrees: number;
}

/** protobufjs JSON descriptor of `proto/report.proto`. */
export const REPORT_DESCRIPTOR = {
  nested: {
    Report: {
      fields: {
        date: { type: "string", id: 1 },
        degrees: { type: "double", id: 2 },
      },
    },
  },
} as const;

const ReportType = protobuf.Root.fromJSON(REPORT_DESCRIPTOR).lookupType("Report");

/** The English month names, January first; the Kafka key of every report. */
export const MONTHS: readonly string[] = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/**
 * Encodes a report as protobuf bytes.
 *
 * @example
 * ```ts
 * const bytes = encodeReport({ date: "2000-12-26", degrees: 31.5235 });
 * ```
 */
export function encodeReport(report: Report): Uint8Array {
  return ReportType.encode(report).finish();
}

/**
 * Decodes protobuf bytes into a report, with proto3 defaults for absent fields.
 *
 * @throws {Error} when the bytes are not a valid protobuf message.
 * @example
 * ```ts
 * decodeReport(encodeReport({ date: "2000-12-26", degrees: 31.5235 })).degrees; // 31.5235
 * ```
 */
export function decodeReport(bytes: Uint8Array): Report {
  const message = ReportType.decode(bytes) as unknown as Report;
  return { date: message.date, degrees: message.degrees };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The month name of a `YYYY-MM-DD` date, or `undefined` when the date does not exist
 * (`2001-02-29`, `2000-13-01`, `banana`).
 *
 * @example
 * ```ts
 * monthOf("2000-02-29"); // "February"
 * monthOf("2001-02-29"); // undefined
 * ```
 */
export function monthOf(date: string): string | undefined {
  const match = DATE.exec(date);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return MONTHS[month - 1];
}

/** Days in a month of the proleptic Gregorian calendar (month 1-12). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A record's verdict: the report to count, or why it cannot be counted. */
export type Validated = { report: Report } | { reason: string };

/**
 * Decodes and checks a Kafka record's key and value: the checks a consumer makes on every
 * record before its stats see it.
 *
 * @example
 * ```ts
 * validateRecord("March", encodeReport({ date: "2000-01-05", degrees: 1 }));
 * // { reason: 'key "March" does not match the month of 2000-01-05 (January)' }
 * ```
 */
export function validateRecord(
  key: string | null,
  value: Uint8Array | null,
): Validated {
  if (value === null) return { reason: "null value" };
  if (value.length === 0) return { reason: "empty value" };
  let report: Report;
  try {
    report = decodeReport(value);
  } catch (error) {
    return { reason: `not a Report protobuf: ${(error as Error).message}` };
  }
  const month = monthOf(report.date);
  if (month === undefined) return { reason: `impossible date ${JSON.stringify(report.date)}` };
  if (!Number.isFinite(report.degrees)) return { reason: `degrees is ${report.degrees}` };
  if (key !== month) {
    return {
      reason: `key ${JSON.stringify(key)} does not match the month of ${report.date} (${month})`,
    };
  }
  return { report };
}
