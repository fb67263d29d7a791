/**
 * A faster decoder of kafkajs 2.2.4's Fetch responses (version 11, the one it uses with any
 * broker of the last years), giving the very objects kafkajs's own decoder gives, but for
 * record batches without records, where it gives what gets kafkajs past them (`emptyBatchMark`).
 *
 * kafkajs decodes each record through a `Decoder` of its own over a `Buffer` slice, adds the
 * offset and timestamp deltas in `BigInt` arithmetic through `Long` objects and turns them back
 * into strings, merges the headers by object spread, and awaits once per record batch: a third
 * of the consumer's time in a backlog. Here uncompressed record batches (what p7's producer
 * sends) are read in one pass over the response's bytes, in plain number arithmetic while the
 * offsets and timestamps are below 2^53. Anything else (compressed batches, the message sets
 * of old brokers, a batch that looks malformed) is handed to kafkajs's own decoders, so their
 * results and errors stay exactly kafkajs's.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import Decoder from "kafkajs/src/protocol/decoder.js";
import RecordBatchDecoder from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import decodeMessages from "kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js";
import fetchV11 from "kafkajs/src/protocol/requests/fetch/v11/response.js";
import TimestampTypes from "kafkajs/src/protocol/timestampTypes.js";

/** kafkajs's own decoder of Fetch v11 responses, for values outside the fast path and tests. */
export const kafkajsDecode: (raw: Buffer) => Promise<FetchResponse> = fetchV11.decode;

/**
 * A record as kafkajs's decoder gives it to `eachBatch`. Records of a response with equal keys,
 * or equal header bytes, share one key `Buffer`, or one headers object: read them, do not
 * change them.
 */
export interface FetchedRecord {
  magicByte: number;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
  batchContext: Record<string, unknown>;
}

/** A decoded Fetch v11 response, as kafkajs's decoder gives it. */
export interface FetchResponse {
  throttleTime: number;
  clientSideThrottleTime: number;
  errorCode: number;
  sessionId: number;
  responses: {
    topicName: string;
    partitions: {
      partition: number;
      errorCode: number;
      highWatermark: string;
      lastStableOffset: string;
      lastStartOffset: string;
      abortedTransactions: { producerId: string; firstOffset: string }[];
      preferredReadReplica: number;
      messages: FetchedRecord[];
    }[];
  }[];
}

/** The least a record batch's length counts: the header after offset and length. */
const BATCH_OVERHEAD = 49;
/** Where a record set's first batch keeps its magic byte (after offset, length and epoch). */
const MAGIC_AT = 16;
const RECORD_BATCH_MAGIC = 2;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_MASK = 0x10;
const CONTROL_MASK = 0x20;
const TWO_32 = 2 ** 32;

/** Thrown by the readers where kafkajs's decoder might do otherwise; the batch goes to kafkajs. */
class Unusual extends Error {}

/** "0" to "999", and "000" to "999". */
const SHORT = Array.from({ length: 1000 }, (_, n) => String(n));
const PADDED = SHORT.map((text) => text.padStart(3, "0"));

/**
 * Prints whole numbers as `String` does, faster for runs of nearby ones (the offsets of a
 * fetch): `String` on a number is a call into the runtime, a string concatenation is not.
 */
class Printer {
  private thousands = -1;
  private prefix = "";

  print(n: number): string {
    if (n >= 0 && n < 1000) return SHORT[n]!;
    if (n < 0 || n > Number.MAX_SAFE_INTEGER) return String(n);
    const thousands = Math.floor(n / 1000);
    if (thousands !== this.thousands) {
      this.thousands = thousands;
      this.prefix = String(thousands);
    }
    return this.prefix + PADDED[n - thousands * 1000]!;
  }

  /** `base + delta` as kafkajs's `Long` arithmetic prints it. */
  sum(base: number | bigint, delta: number): string {
    if (typeof base === "number") {
      const sum = base + delta;
      if (Number.isSafeInteger(sum)) return this.print(sum);
      return String(BigInt(base) + BigInt(delta));
    }
    return String(base + BigInt(delta));
  }
}

/** Slots of `Reader.slot`'s cache, and the longest bytes it keeps. */
const SHARED_SLOTS = 16;
const SHARED_MAX = 64;

/** A cursor over the response's bytes, with the readers a record batch needs. */
class Reader {
  /** Recently read short byte strings and their `Buffer`s and texts, by a hash of the bytes. */
  private readonly slots: { at: number; length: number; buffer: Buffer; text?: string }[] = [];
  /** Printers of the records' offsets and timestamps. */
  readonly offsets = new Printer();
  readonly times = new Printer();

  constructor(readonly buf: Buffer, public at: number, public end: number) {}

  int8(): number {
    const value = this.buf.readInt8(this.at);
    this.at += 1;
    return value;
  }

  int16(): number {
    const value = this.buf.readInt16BE(this.at);
    this.at += 2;
    return value;
  }

  int32(): number {
    const value = this.buf.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  /** An int64 as a number when it is safe, else as a `bigint`. */
  int64(): number | bigint {
    const high = this.buf.readInt32BE(this.at);
    const low = this.buf.readUInt32BE(this.at + 4);
    this.at += 8;
    if (high >= -0x200000 && high < 0x200000) return high * TWO_32 + low;
    return (BigInt(high) << 32n) + BigInt(low);
  }

  /** A zigzag varint of up to 4 bytes (28 bits), where kafkajs's arithmetic and ours agree. */
  varint(): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.at >= this.end) throw new Unusual();
      const byte = buf[this.at++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (value >>> 1) ^ -(value & 1);
    }
    throw new Unusual();
  }

  /** The length of length-prefixed bytes (-1 for null), checked against the end. */
  private length(): number {
    const length = this.varint();
    if (length < -1 || this.at + length > this.end) throw new Unusual();
    return length;
  }

  /** Length-prefixed bytes, `null` for length -1, sharing the response's memory. */
  bytes(): Buffer | null {
    const length = this.length();
    if (length === -1) return null;
    const value = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  /**
   * Like `bytes`, but short bytes equal to ones read before give the same `Buffer`: record
   * keys and header values repeat (a month name, a run id), and a `Buffer` costs more to make
   * than to compare.
   */
  sharedBytes(): Buffer | null {
    const length = this.length();
    if (length === -1) return null;
    const slot = this.slot(length);
    this.at += length;
    return slot.buffer;
  }

  /** Length-prefixed UTF-8 text, `null` for length -1; repeated short texts decoded once. */
  text(): string | null {
    const length = this.length();
    if (length === -1) return null;
    const slot = this.slot(length);
    this.at += length;
    return slot.text ??= slot.buffer.toString("utf8");
  }

  /** The cache slot of the `length` bytes at `at`, filled with them if it held others. */
  private slot(length: number): { buffer: Buffer; text?: string } {
    const buf = this.buf;
    const at = this.at;
    if (length > SHARED_MAX) return { buffer: buf.subarray(at, at + length) };
    let hash = length;
    for (let i = 0; i < length; i += 4) hash = (hash * 31 + buf[at + i]!) | 0;
    const index = hash & (SHARED_SLOTS - 1);
    const slot = this.slots[index];
    if (
      slot !== undefined && slot.length === length &&
      buf.compare(buf, at, at + length, slot.at, slot.at + length) === 0
    ) {
      return slot;
    }
    const fresh = { at, length, buffer: buf.subarray(at, at + length) };
    this.slots[index] = fresh;
    return fresh;
  }
}

/** A record's headers as kafkajs merges them: a repeated key collects its values in order. */
function readHeaders(reader: Reader): FetchedRecord["headers"] {
  const headers: FetchedRecord["headers"] = {};
  const count = reader.varint();
  if (count < -1) throw new Unusual();
  for (let i = 0; i < count; i++) {
    const key = reader.text() ?? "null";
    const value = reader.sharedBytes();
    // Inherited names ("constructor") count as known, as in kafkajs's merge: the same values.
    const known = (headers as Record<string, unknown>)[key] as FetchedRecord["headers"][string];
    const merged = known === undefined
      ? value
      : Array.isArray(known)
      ? [...known, value]
      : [known, value];
    if (key === "__proto__") {
      // An own property, as kafkajs's object spread makes it, not the prototype.
      Object.defineProperty(headers, key, {
        value: merged,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      headers[key] = merged;
    }
  }
  return headers;
}

/** The uncompressed record batch at `reader.at`, which holds all of it. */
function readBatch(reader: Reader, batchEnd: number): FetchedRecord[] {
  const firstOffset = reader.int64();
  reader.int32(); // length, checked by the caller
  const partitionLeaderEpoch = reader.int32();
  const magicByte = reader.int8();
  reader.int32(); // the CRC, which kafkajs does not check either
  const attributes = reader.int16();
  const lastOffsetDelta = reader.int32();
  const firstTimestamp = reader.int64();
  const maxTimestamp = String(reader.int64());
  const producerId = String(reader.int64());
  const producerEpoch = reader.int16();
  const firstSequence = reader.int32();
  const count = reader.int32();
  const timestampType = (attributes & TIMESTAMP_TYPE_MASK) !== 0
    ? TimestampTypes.LOG_APPEND_TIME
    : TimestampTypes.CREATE_TIME;
  const isControlBatch = (attributes & CONTROL_MASK) !== 0;
  const batchContext = {
    firstOffset: String(firstOffset),
    firstTimestamp: String(firstTimestamp),
    partitionLeaderEpoch,
    inTransaction: (attributes & TRANSACTIONAL_MASK) !== 0,
    isControlBatch,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType,
    magicByte,
  };
  const appendTime = timestampType === TimestampTypes.LOG_APPEND_TIME;
  if (count < -1) throw new Unusual();
  if (count === 0) return [emptyBatchMark(reader, firstOffset, lastOffsetDelta, batchContext)];
  const records: FetchedRecord[] = new Array(Math.max(count, 0));
  // Records with the same header bytes (a producer's run id on every one) share one object.
  let lastHeaders: FetchedRecord["headers"] | undefined;
  let lastHeadersAt = 0;
  let lastHeadersLength = -1;
  // Records sent together share a timestamp: its text is made once.
  let lastDelta = NaN;
  let lastTimestamp = maxTimestamp;
  for (let i = 0; i < count; i++) {
    const length = reader.varint();
    const end = reader.at + length;
    if (length < 1 || end > batchEnd) throw new Unusual();
    reader.end = end;
    const recordAttributes = reader.int8();
    const timestampDelta = reader.varint();
    const offsetDelta = reader.varint();
    const key = reader.sharedBytes();
    const value = reader.bytes();
    const headersAt = reader.at;
    const headersLength = end - headersAt;
    let headers: FetchedRecord["headers"];
    if (
      lastHeaders !== undefined && headersLength === lastHeadersLength &&
      reader.buf.compare(
          reader.buf,
          headersAt,
          end,
          lastHeadersAt,
          lastHeadersAt + headersLength,
        ) ===
        0
    ) {
      headers = lastHeaders;
    } else {
      headers = lastHeaders = readHeaders(reader);
      lastHeadersAt = headersAt;
      lastHeadersLength = headersLength;
    }
    if (!appendTime && timestampDelta !== lastDelta) {
      lastDelta = timestampDelta;
      lastTimestamp = reader.times.sum(firstTimestamp, timestampDelta);
    }
    records[i] = {
      magicByte,
      attributes: recordAttributes,
      timestamp: lastTimestamp,
      offset: reader.offsets.sum(firstOffset, offsetDelta),
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
    reader.at = end;
    reader.end = batchEnd;
  }
  return records;
}

/**
 * The one record kafkajs is given for a record batch without records: compaction keeps such a
 * batch (its header only) where it removed every record of an idempotent producer's batch, so
 * that the producer's sequence state survives. kafkajs gets no record from it, does not move
 * past it and fetches the same offset forever; the Java client moves to the batch's last
 * offset + 1. A control record at that offset does the same in kafkajs: it is never handed to
 * `eachBatch` or `eachMessage`, and the consumer resolves the offset past it.
 */
function emptyBatchMark(
  reader: Reader,
  firstOffset: number | bigint,
  lastOffsetDelta: number,
  batchContext: FetchedRecord["batchContext"],
): FetchedRecord {
  return {
    magicByte: batchContext.magicByte as number,
    attributes: 0,
    timestamp: String(batchContext.maxTimestamp),
    offset: reader.offsets.sum(firstOffset, lastOffsetDelta),
    key: null,
    value: null,
    headers: {},
    isControlRecord: true,
    batchContext,
  };
}

/**
 * The records of a record set of `size` bytes at `at` in a v2 (magic 2) log; a partial batch
 * at its end (the broker cuts the set at the fetch's byte limit) is left out, as kafkajs does.
 */
async function readRecordSet(buf: Buffer, at: number, size: number): Promise<FetchedRecord[]> {
  const end = at + size;
  const records: FetchedRecord[] = [];
  const reader = new Reader(buf, at, end);
  while (end - at >= BATCH_OVERHEAD) {
    const length = buf.readInt32BE(at + 8);
    const batchEnd = at + 12 + length;
    if (batchEnd > end) break;
    let batch: FetchedRecord[] | undefined;
    // An empty batch (see emptyBatchMark) has nothing to decompress, whatever its attributes.
    if (
      length >= BATCH_OVERHEAD &&
      ((buf.readInt16BE(at + 21) & COMPRESSION_MASK) === 0 || buf.readInt32BE(at + 57) === 0)
    ) {
      try {
        reader.at = at;
        reader.end = batchEnd;
        batch = readBatch(reader, batchEnd);
      } catch (error) {
        if (!(error instanceof Unusual || error instanceof RangeError)) throw error;
      }
    }
    batch ??= (await RecordBatchDecoder(new Decoder(buf.subarray(at, batchEnd)))).records;
    for (const record of batch!) records.push(record);
    at = batchEnd;
  }
  return records;
}

/** A partition of the response, its records from the fast path when the log is v2. */
async function readPartition(decoder: typeof Decoder.prototype) {
  const partition = decoder.readInt32();
  const errorCode = decoder.readInt16();
  const highWatermark = decoder.readInt64().toString();
  const lastStableOffset = decoder.readInt64().toString();
  const lastStartOffset = decoder.readInt64().toString();
  const abortedTransactions = decoder.readArray((d: typeof Decoder.prototype) => ({
    producerId: d.readInt64().toString(),
    firstOffset: d.readInt64().toString(),
  }));
  const preferredReadReplica = decoder.readInt32();
  const buf: Buffer = decoder.buffer;
  const at: number = decoder.offset;
  let messages: FetchedRecord[];
  const size = at + 4 <= buf.length ? buf.readInt32BE(at) : -1;
  if (
    size > 0 && at + 4 + size <= buf.length && size > MAGIC_AT &&
    buf.readInt8(at + 4 + MAGIC_AT) === RECORD_BATCH_MAGIC
  ) {
    messages = await readRecordSet(buf, at + 4, size);
    decoder.offset = at + 4 + size;
  } else {
    messages = await decodeMessages(decoder);
  }
  return {
    partition,
    errorCode,
    highWatermark,
    lastStableOffset,
    lastStartOffset,
    abortedTransactions,
    preferredReadReplica,
    messages,
  };
}

/** Decodes a Fetch v11 response as kafkajs's own `decode` does. */
export async function decodeFetch(raw: Buffer): Promise<FetchResponse> {
  const decoder = new Decoder(raw);
  const clientSideThrottleTime = decoder.readInt32();
  const errorCode = decoder.readInt16();
  const sessionId = decoder.readInt32();
  const responses = await decoder.readArrayAsync(async (d: typeof Decoder.prototype) => ({
    topicName: d.readString(),
    partitions: await d.readArrayAsync(readPartition),
  }));
  // As kafkajs: the broker has not throttled, whatever it asks the client to do.
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

/** Puts `decodeFetch` in place of kafkajs's own in this process. Safe to call more than once. */
export function useFastFetchDecoder(): void {
  fetchV11.decode = decodeFetch;
}
