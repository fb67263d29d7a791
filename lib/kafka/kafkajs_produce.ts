/**
 * A faster encoder of kafkajs 2.2.4's Produce requests (versions 3 to 7, the record-batch
 * ones), byte for byte the request kafkajs's own encoder writes.
 *
 * kafkajs encodes every record, and every header of it, into an `Encoder` of its own, each
 * starting with a zeroed 512-byte `Buffer`, then copies them into the batch, the batch into
 * the partition's data and that into the request; it groups the messages by partition by
 * copying the growing array once per message. Here each uncompressed request is written into
 * one `Encoder`, with kafkajs's own writers for every field (so odd keys, values and headers
 * give its very bytes), and the batch's length and CRC filled in once its records are
 * written. Compressed requests are left to kafkajs.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import Encoder from "kafkajs/src/protocol/encoder.js";
import compression from "kafkajs/src/protocol/message/compression/index.js";
import produce from "kafkajs/src/protocol/requests/produce/index.js";
import Long from "kafkajs/src/utils/long.js";
import { crc32c } from "./crc32c.ts";

type KafkajsEncoder = typeof Encoder.prototype;

/** A message as kafkajs's producer hands it to the request. */
export interface ProduceMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  timestamp?: string | number;
}

/** The arguments kafkajs builds a Produce request from. */
export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: {
    topic: string;
    partitions: { partition: number; firstSequence?: number; messages: ProduceMessage[] }[];
  }[];
}

const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 0x10;

/** A header as kafkajs lists them, with the byte sizes of its key and value. */
interface Header {
  key: string;
  value: unknown;
  keySize: number;
  valueSize: number;
}

/** A record's sizes and headers, worked out before it is written. */
interface Planned {
  message: ProduceMessage;
  timestampDelta: number;
  keySize: number;
  valueSize: number;
  headers: Header[];
  /** Bytes after the record's length. */
  body: number;
}

/**
 * The UTF-8 bytes of a key, value or header as kafkajs's `Buffer.byteLength` counts them (-1
 * for a null key or value); text that is all ASCII without a call into the runtime.
 */
function byteSize(value: unknown): number {
  if (typeof value === "string") {
    for (let i = 0; i < value.length; i++) {
      if (value.charCodeAt(i) > 0x7f) return Buffer.byteLength(value);
    }
    return value.length;
  }
  if (value instanceof Buffer) return value.length;
  // kafkajs's own call, which refuses what it cannot measure (a null header value too).
  return Buffer.byteLength(value as string);
}

/** A record's headers (an array value gives one header per element) and sizes, as kafkajs. */
function plan(message: ProduceMessage, offsetDelta: number, timestampDelta: number): Planned {
  const headers: Header[] = [];
  const all = message.headers === undefined ? {} : message.headers;
  for (const key of Object.keys(all)) {
    const value = all[key];
    for (const each of Array.isArray(value) ? value : [value]) {
      headers.push({ key, value: each, keySize: byteSize(key), valueSize: byteSize(each) });
    }
  }
  const keySize = message.key == null ? -1 : byteSize(message.key);
  const valueSize = message.value == null ? -1 : byteSize(message.value);
  let body = 1 + Encoder.sizeOfVarLong(timestampDelta) + Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarInt(keySize) + Math.max(keySize, 0) +
    Encoder.sizeOfVarInt(valueSize) + Math.max(valueSize, 0) +
    Encoder.sizeOfVarInt(headers.length);
  for (const { keySize, valueSize } of headers) {
    body += Encoder.sizeOfVarInt(keySize) + keySize + Encoder.sizeOfVarInt(valueSize) + valueSize;
  }
  return { message, timestampDelta, keySize, valueSize, headers, body };
}

/**
 * Writes length-prefixed bytes as kafkajs's `Encoder.writeVarIntBytes` does; a `Buffer` or
 * ASCII text (`size` equal to its length) straight into the encoder's buffer.
 */
function writeBytes(out: KafkajsEncoder, value: unknown, size: number): void {
  const ascii = typeof value === "string" && size === value.length;
  if (!ascii && !(value instanceof Buffer)) {
    out.writeVarIntBytes(value);
    return;
  }
  out.writeVarInt(size);
  out.ensureAvailable(size);
  const buf: Buffer = out.buf;
  if (ascii) {
    let at = out.offset;
    for (let i = 0; i < size; i++) buf[at++] = (value as string).charCodeAt(i);
  } else {
    buf.set(value as Buffer, out.offset);
  }
  out.offset += size;
}

/** Writes one partition's record batch (with its length in front) as kafkajs does. */
function writeBatch(
  out: KafkajsEncoder,
  args: ProduceArgs,
  firstSequence: number | undefined,
  records: Planned[],
  firstTimestamp: unknown,
  maxTimestamp: unknown,
): void {
  const sizeAt = out.offset;
  out.writeInt32(0); // the record set's size, filled in below
  out.writeInt64(Long.fromInt(0)).writeInt32(0); // first offset; the batch length, below
  const lengthEnd = out.offset;
  out.writeInt32(0).writeInt8(MAGIC_BYTE).writeUInt32(0); // leader epoch; the CRC, below
  const bodyAt = out.offset;
  out.writeInt16(args.transactionalId ? TRANSACTIONAL_MASK : 0)
    .writeInt32(records.length - 1)
    .writeInt64(firstTimestamp)
    .writeInt64(maxTimestamp)
    .writeInt64(args.producerId === undefined ? Long.fromInt(-1) : args.producerId)
    .writeInt16(args.producerEpoch === undefined ? 0 : args.producerEpoch)
    .writeInt32(firstSequence === undefined ? 0 : firstSequence)
    .writeInt32(records.length);
  for (let i = 0; i < records.length; i++) {
    const { message, timestampDelta, keySize, valueSize, headers, body } = records[i]!;
    out.writeVarInt(body).writeInt8(0).writeVarLong(timestampDelta).writeVarInt(i);
    writeBytes(out, message.key, keySize);
    writeBytes(out, message.value, valueSize);
    out.writeVarInt(headers.length);
    for (const header of headers) {
      writeBytes(out, header.key, header.keySize);
      writeBytes(out, header.value, header.valueSize);
    }
  }
  const end = out.offset;
  const buf: Buffer = out.buf;
  buf.writeUInt32BE(crc32c(buf, bodyAt, end), bodyAt - 4);
  buf.writeInt32BE(end - lengthEnd, lengthEnd - 4);
  buf.writeInt32BE(end - sizeAt - 4, sizeAt);
}

/** Bytes of a record batch besides its records: offset, length, and the header it counts. */
const BATCH_HEADER = 61;

/** Encodes an uncompressed Produce request (v3 to v7) as kafkajs's own encoder does. */
export function encodeProduce(args: ProduceArgs): KafkajsEncoder {
  let size = 64;
  const batches = args.topicData.map(({ topic, partitions }) => {
    size += 8 + 3 * topic.length;
    return partitions.map(({ messages }) => {
      const dateNow = Date.now();
      // kafkajs's order: the messages' own timestamps, sorted as text.
      const stamps = messages.map((m) => m.timestamp).filter((t) => t != null).sort();
      const firstTimestamp = stamps.length === 0 ? dateNow : stamps[0]!;
      const maxTimestamp = stamps.length === 0 ? dateNow : stamps[stamps.length - 1]!;
      const records = messages.map((message, i) =>
        plan(
          message,
          i,
          ((message.timestamp || dateNow) as number) - (firstTimestamp as number),
        )
      );
      size += 8 + BATCH_HEADER;
      for (const { body } of records) size += 5 + body;
      return { records, firstTimestamp, maxTimestamp };
    });
  });
  // One buffer the size of the request (kafkajs's writers still grow it if need be).
  const out = new Encoder(1);
  out.buf = Buffer.allocUnsafe(size);
  out.writeString(args.transactionalId === undefined ? null : args.transactionalId);
  out.writeInt16(args.acks).writeInt32(args.timeout).writeInt32(args.topicData.length);
  args.topicData.forEach(({ topic, partitions }, t) => {
    out.writeString(topic).writeInt32(partitions.length);
    partitions.forEach(({ partition, firstSequence }, p) => {
      const { records, firstTimestamp, maxTimestamp } = batches[t]![p]!;
      out.writeInt32(partition);
      writeBatch(out, args, firstSequence, records, firstTimestamp, maxTimestamp);
    });
  });
  return out;
}

/** kafkajs's own request builder, for the tests. */
export const kafkajsProtocol: typeof produce.protocol = produce.protocol;

/**
 * Puts `encodeProduce` under kafkajs's uncompressed Produce requests of version 3 and up in
 * this process. Safe to call more than once.
 */
export function useFastProduceEncoder(): void {
  produce.protocol = ({ version }: { version: number }) => {
    const build = kafkajsProtocol({ version });
    if (Number(version) < 3) return build;
    return (args: ProduceArgs) => {
      const built = build(args);
      if ((args.compression ?? compression.Types.None) === compression.Types.None) {
        // A promise either way, a failure included, as kafkajs's encoder gives.
        built.request.encode = () => new Promise((resolve) => resolve(encodeProduce(args)));
      }
      return built;
    };
  };
}
