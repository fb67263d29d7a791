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
import crc32C from "kafkajs/src/protocol/recordBatch/crc32C/index.js";
import produce from "kafkajs/src/protocol/requests/produce/index.js";
import Long from "kafkajs/src/utils/long.js";

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

/** A record's headers as kafkajs lists them: an array value gives one header per element. */
function headerList(headers: ProduceMessage["headers"]): { key: string; value: unknown }[] {
  const list: { key: string; value: unknown }[] = [];
  for (const key of Object.keys(headers!)) {
    const value = headers![key];
    if (Array.isArray(value)) { for (const each of value) list.push({ key, value: each }); }
    else list.push({ key, value });
  }
  return list;
}

/** Bytes of a record after its length, as kafkajs's `Record` counts them. */
function bodySize(
  timestampDelta: number,
  offsetDelta: number,
  message: ProduceMessage,
  headers: { key: string; value: unknown }[],
): number {
  let size = 1 + Encoder.sizeOfVarLong(timestampDelta) + Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(message.key) + Encoder.sizeOfVarIntBytes(message.value) +
    Encoder.sizeOfVarInt(headers.length);
  for (const { key, value } of headers) {
    const keySize = Buffer.byteLength(key);
    // Before the null check, as in kafkajs: a null header value fails there too.
    const valueSize = Buffer.byteLength(value as string);
    size += Encoder.sizeOfVarInt(keySize) + keySize;
    size += value === null ? Encoder.sizeOfVarInt(-1) : Encoder.sizeOfVarInt(valueSize) + valueSize;
  }
  return size;
}

/** Writes one partition's record batch (with its length in front) as kafkajs does. */
function writeBatch(
  out: KafkajsEncoder,
  args: ProduceArgs,
  firstSequence: number | undefined,
  messages: ProduceMessage[],
): void {
  const dateNow = Date.now();
  // kafkajs's order: the messages' own timestamps, sorted as text.
  const stamps = messages.map((m) => m.timestamp).filter((t) => t != null).sort();
  const firstTimestamp = stamps.length === 0 ? dateNow : stamps[0]!;
  const maxTimestamp = stamps.length === 0 ? dateNow : stamps[stamps.length - 1]!;
  const sizeAt = out.offset;
  out.writeInt32(0); // the record set's size, filled in below
  out.writeInt64(Long.fromInt(0)).writeInt32(0); // first offset; the batch length, below
  const lengthEnd = out.offset;
  out.writeInt32(0).writeInt8(MAGIC_BYTE).writeUInt32(0); // leader epoch; the CRC, below
  const bodyAt = out.offset;
  out.writeInt16(args.transactionalId ? TRANSACTIONAL_MASK : 0)
    .writeInt32(messages.length - 1)
    .writeInt64(firstTimestamp)
    .writeInt64(maxTimestamp)
    .writeInt64(args.producerId === undefined ? Long.fromInt(-1) : args.producerId)
    .writeInt16(args.producerEpoch === undefined ? 0 : args.producerEpoch)
    .writeInt32(firstSequence === undefined ? 0 : firstSequence)
    .writeInt32(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    const timestampDelta = ((message.timestamp || dateNow) as number) - (firstTimestamp as number);
    const headers = headerList(message.headers === undefined ? {} : message.headers);
    out.writeVarInt(bodySize(timestampDelta, i, message, headers))
      .writeInt8(0)
      .writeVarLong(timestampDelta)
      .writeVarInt(i)
      .writeVarIntBytes(message.key)
      .writeVarIntBytes(message.value)
      .writeVarInt(headers.length);
    for (const { key, value } of headers) out.writeVarIntString(key).writeVarIntBytes(value);
  }
  const end = out.offset;
  const buf: Buffer = out.buf;
  buf.writeUInt32BE(crc32C(buf.subarray(bodyAt, end)), bodyAt - 4);
  buf.writeInt32BE(end - lengthEnd, lengthEnd - 4);
  buf.writeInt32BE(end - sizeAt - 4, sizeAt);
}

/** Encodes an uncompressed Produce request (v3 to v7) as kafkajs's own encoder does. */
export function encodeProduce(args: ProduceArgs): KafkajsEncoder {
  const out = new Encoder(64 * 1024);
  out.writeString(args.transactionalId === undefined ? null : args.transactionalId).writeInt16(
    args.acks,
  ).writeInt32(args.timeout);
  out.writeInt32(args.topicData.length);
  for (const { topic, partitions } of args.topicData) {
    out.writeString(topic).writeInt32(partitions.length);
    for (const { partition, firstSequence, messages } of partitions) {
      out.writeInt32(partition);
      writeBatch(out, args, firstSequence, messages);
    }
  }
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
