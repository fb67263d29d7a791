/**
 * The `Report` protobuf message of `proto/report.proto`, encoded and decoded by fast paths
 * for the layout every encoder writes (protobufjs for anything else, with the same bytes and
 * values), and the rules a decoded report must meet before it is counted.
 *
 * The schema is kept here as a protobufjs JSON descriptor so that compiled binaries read no
 * source file at run time; `report_test.ts` proves it equals `proto/report.proto`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import protobuf from "protobufjs";
import { MEASURES } from "../stats/measures.ts";
import { validateStationReport } from "../stats/stations.ts";

/**
 * One observation. The course's single series has only `date` and `degrees`; a station's
 * observation has `stationId`, `time` and the measurements made (see `measures.ts`), each
 * absent when not observed, with `degrees` repeating `temperature`.
 */
export interface Report {
  /** The day, `YYYY-MM-DD`; for a station, the UTC day of `time`. */
  date: string;
  /** The day's maximum temperature in °F; for a station, its temperature when observed. */
  degrees: number;
  stationId?: string;
  /** The observation time, `YYYY-MM-DDTHH:MM:SSZ`. */
  time?: string;
  temperature?: number;
  dewPoint?: number;
  humidity?: number;
  pressure?: number;
  windSpeed?: number;
  windDirection?: number;
  windGust?: number;
  precipitation?: number;
  visibility?: number;
}

/** The fields a Report has beyond the course's `date` and `degrees`. */
const EXTRA_FIELDS: readonly (keyof Report)[] = [
  "stationId",
  "time",
  ...MEASURES.map((info) => info.field as keyof Report),
];

/** The protobufjs name of a proto field, when it differs from the proto name. */
function protoName(name: string, field: string): { protoName?: string } {
  return name === field ? {} : { protoName: name };
}

/** protobufjs JSON descriptor of `proto/report.proto`. */
export const REPORT_DESCRIPTOR = {
  nested: {
    Report: {
      oneofs: Object.fromEntries(
        MEASURES.map((info) => [`_${info.field}`, { oneof: [info.field] }]),
      ),
      fields: {
        date: { type: "string", id: 1 },
        degrees: { type: "double", id: 2 },
        stationId: { type: "string", id: 3, protoName: "station_id" },
        time: { type: "string", id: 4 },
        ...Object.fromEntries(MEASURES.map((info) => [info.field, {
          type: "double",
          id: info.id,
          ...protoName(info.name, info.field),
          options: { proto3_optional: true },
        }])),
      },
    },
  },
};

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
  return encodeCanonical(report) ?? ReportType.encode(report).finish();
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
  const report = decodeCanonical(bytes) ?? decodeFlat(bytes);
  if (report !== undefined) return report;
  const message = ReportType.decode(bytes) as unknown as Report;
  const decoded: Report = { date: message.date, degrees: message.degrees };
  // An absent field is the message prototype's default, never an own property.
  for (const field of EXTRA_FIELDS) {
    if (Object.hasOwn(message, field) && message[field] !== "") {
      (decoded as unknown as Record<string, unknown>)[field] = message[field];
    }
  }
  return decoded;
}

/** True when the report has any field beyond `date` and `degrees`. */
function hasExtras(report: Report): boolean {
  for (const field of EXTRA_FIELDS) if (report[field] !== undefined) return true;
  return false;
}

/** Tag of field 1 (`date`, length-delimited) and of field 2 (`degrees`, 64-bit). */
const DATE_TAG = 0x0a;
const DEGREES_TAG = 0x11;
const DATE_LENGTH = 10;
const DEGREES_AT = 2 + DATE_LENGTH;
const scratch = new DataView(new ArrayBuffer(8));

/**
 * The bytes protobufjs writes for a course report (no field beyond the two) with a
 * 10-character ASCII date and degrees other than +0 (a proto3 default it leaves out), written
 * directly: protobufjs's general encoder was a sixth of the producer's own time. `undefined` for any other report, which
 * protobufjs encodes.
 */
function encodeCanonical(report: Report): Buffer | undefined {
  const { date, degrees } = report;
  if (hasExtras(report)) return undefined;
  if (typeof date !== "string" || date.length !== DATE_LENGTH || !Object.hasOwn(report, "date")) {
    return undefined;
  }
  if (typeof degrees !== "number" || Object.is(degrees, 0) || !Object.hasOwn(report, "degrees")) {
    return undefined;
  }
  const bytes = Buffer.allocUnsafe(DEGREES_AT + 9);
  bytes[0] = DATE_TAG;
  bytes[1] = DATE_LENGTH;
  for (let i = 0; i < DATE_LENGTH; i++) {
    const code = date.charCodeAt(i);
    if (code >= 0x80) return undefined;
    bytes[2 + i] = code;
  }
  bytes[DEGREES_AT] = DEGREES_TAG;
  bytes.writeDoubleLE(degrees, DEGREES_AT + 1);
  return bytes;
}

/**
 * The consumer decodes every record, and protobufjs's general decoder was most of its
 * time. Every encoder writes a report as `0a 0a <10 ASCII bytes>`, then `11 <8 bytes>`
 * unless degrees is a proto3 default it leaves out. Exactly that layout is read here, with
 * the same result protobufjs gives; anything else (another order, repeated or unknown
 * fields, other lengths, non-ASCII, truncation) is left to protobufjs: `undefined`.
 */
function decodeCanonical(bytes: Uint8Array): Report | undefined {
  const length = bytes.length;
  if (length !== DEGREES_AT && length !== DEGREES_AT + 9) return undefined;
  if (bytes[0] !== DATE_TAG || bytes[1] !== DATE_LENGTH) return undefined;
  let ascii = 0;
  for (let i = 2; i < DEGREES_AT; i++) ascii |= bytes[i]!;
  if (ascii >= 0x80) return undefined;
  let degrees = 0;
  if (length > DEGREES_AT) {
    if (bytes[DEGREES_AT] !== DEGREES_TAG) return undefined;
    for (let i = 0; i < 8; i++) scratch.setUint8(i, bytes[DEGREES_AT + 1 + i]!);
    degrees = scratch.getFloat64(0, true);
  }
  const date = String.fromCharCode(
    bytes[2]!,
    bytes[3]!,
    bytes[4]!,
    bytes[5]!,
    bytes[6]!,
    bytes[7]!,
    bytes[8]!,
    bytes[9]!,
    bytes[10]!,
    bytes[11]!,
  );
  return { date, degrees };
}

/** The Report field of each double's field number (2, 5-13), for `decodeFlat`. */
const DOUBLE_FIELDS: (keyof Report | undefined)[] = [];
DOUBLE_FIELDS[2] = "degrees";
for (const info of MEASURES) DOUBLE_FIELDS[info.id] = info.field as keyof Report;
/** The Report field of each string's field number (1, 3, 4). */
const STRING_FIELDS: (keyof Report | undefined)[] = [
  undefined,
  "date",
  undefined,
  "stationId",
  "time",
];

/**
 * A station's report is longer than the course's layout, and protobufjs's general decoder
 * was most of a consumer's time on it. Any report whose fields are all known, each a one-byte
 * tag of its own wire type (a double, or a string shorter than 128 ASCII bytes), is read here
 * with the result protobufjs gives (a repeated field: the last one wins; an empty station or
 * time: absent); anything else is left to protobufjs: `undefined`.
 */
function decodeFlat(bytes: Uint8Array): Report | undefined {
  const length = bytes.length;
  const report: Report = { date: "", degrees: 0 };
  const fields = report as unknown as Record<string, unknown>;
  let at = 0;
  while (at < length) {
    const tag = bytes[at++]!;
    const field = tag >> 3;
    if ((tag & 7) === 1) {
      const name = DOUBLE_FIELDS[field];
      if (name === undefined || at + 8 > length) return undefined;
      for (let i = 0; i < 8; i++) scratch.setUint8(i, bytes[at + i]!);
      fields[name] = scratch.getFloat64(0, true);
      at += 8;
    } else if ((tag & 7) === 2) {
      const name = STRING_FIELDS[field];
      const size = bytes[at++];
      if (name === undefined || size === undefined || size >= 0x80 || at + size > length) {
        return undefined;
      }
      let ascii = 0;
      for (let i = at; i < at + size; i++) ascii |= bytes[i]!;
      if (ascii >= 0x80) return undefined;
      const text = String.fromCharCode.apply(null, bytes.subarray(at, at + size) as never);
      if (text !== "" || name === "date") fields[name] = text;
      else delete fields[name];
      at += size;
    } else {
      return undefined;
    }
  }
  return report;
}

const DASH = 0x2d;

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
  if (date.length !== 10 || date.charCodeAt(4) !== DASH || date.charCodeAt(7) !== DASH) {
    return undefined;
  }
  const year = digits(date, 0, 4);
  const month = digits(date, 5, 2);
  const day = digits(date, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined;
  }
  return MONTHS[month - 1];
}

/** The number written by `count` ASCII digits of `text` from `from`; -1 if one is not a digit. */
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in a month of the proleptic Gregorian calendar (month 1-12). */
export function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
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
  if (report.stationId !== undefined) return validateStationReport(key, report);
  if (key !== month) {
    return {
      reason: `key ${JSON.stringify(key)} does not match the month of ${report.date} (${month})`,
    };
  }
  return { report };
}
