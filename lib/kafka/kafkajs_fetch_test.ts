import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import Encoder from "kafkajs/src/protocol/encoder.js";
import MessageSet from "kafkajs/src/protocol/messageSet/index.js";
import Record from "kafkajs/src/protocol/recordBatch/record/v0/index.js";
import recordBatchV0 from "kafkajs/src/protocol/recordBatch/v0/index.js";
import fetchV11 from "kafkajs/src/protocol/requests/fetch/v11/response.js";
import Long from "kafkajs/src/utils/long.js";
import { decodeFetch, kafkajsDecode, useFastFetchDecoder } from "./kafkajs_fetch.ts";
import { encodeReport } from "./report.ts";
import { mulberry32 } from "../sources/weather.ts";

type Headers = Record<string, string | string[]>;
interface RecordSpec {
  key?: string | null;
  value?: Uint8Array | string | null;
  headers?: Headers;
  offsetDelta?: number;
  timestampDelta?: number;
}
interface BatchSpec {
  firstOffset?: string;
  firstTimestamp?: number;
  compression?: number;
  transactional?: boolean;
  /** Attribute bits set after encoding (kafkajs's encoder has no flag for them). */
  attributes?: number;
  records: RecordSpec[];
}

const reports = (count: number, from = 0): RecordSpec[] =>
  Array.from({ length: count }, (_, i) => ({
    key: ["January", "February", "March"][i % 3],
    value: encodeReport({ date: `2000-01-${String(i % 28 + 1).padStart(2, "0")}`, degrees: i }),
    offsetDelta: from + i,
    timestampDelta: 3 * i,
  }));

/** A v2 record batch as a broker stores it, written by kafkajs's own encoder. */
async function batch(spec: BatchSpec): Promise<Uint8Array> {
  const records = spec.records.map((r, i) =>
    Record({
      offsetDelta: r.offsetDelta ?? i,
      timestampDelta: r.timestampDelta ?? i,
      key: r.key === undefined ? Buffer.from(`key-${i}`) : r.key,
      value: r.value === undefined ? Buffer.from(`value-${i}`) : r.value,
      headers: r.headers,
    })
  );
  const encoder = await recordBatchV0.RecordBatch({
    compression: spec.compression ?? 0,
    firstOffset: Long.fromValue(spec.firstOffset ?? "0"),
    firstTimestamp: spec.firstTimestamp ?? 1_700_000_000_000,
    maxTimestamp: (spec.firstTimestamp ?? 1_700_000_000_000) + 99,
    lastOffsetDelta: Math.max(0, spec.records.length - 1),
    transactional: spec.transactional ?? false,
    records,
  });
  const bytes = Uint8Array.from(encoder.buffer as Uint8Array);
  // Attributes: int16 after offset (8), length (4), epoch (4), magic (1) and CRC (4).
  bytes[22]! |= spec.attributes ?? 0;
  return bytes;
}

interface PartitionSpec {
  partition: number;
  /** The record set's bytes; `null` writes a size of -1. */
  set: Uint8Array | null;
  aborted?: { producerId: string; firstOffset: string }[];
}

/** A Fetch v11 response with one topic. */
function response(partitions: PartitionSpec[], topic = "temperatures"): Buffer {
  const encoder = new Encoder().writeInt32(7).writeInt16(0).writeInt32(1234).writeInt32(1);
  encoder.writeString(topic).writeInt32(partitions.length);
  for (const p of partitions) {
    encoder.writeInt32(p.partition).writeInt16(0);
    encoder.writeInt64("1000").writeInt64("999").writeInt64("0");
    const aborted = p.aborted ?? [];
    encoder.writeInt32(aborted.length);
    for (const a of aborted) encoder.writeInt64(a.producerId).writeInt64(a.firstOffset);
    encoder.writeInt32(-1);
    if (p.set === null) encoder.writeInt32(-1);
    else encoder.writeInt32(p.set.length).writeBuffer(Buffer.from(p.set));
  }
  return encoder.buffer as Buffer;
}

const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);

/** Both decoders on the same bytes: equal results, or both fail. */
async function same(raw: Buffer, what: string): Promise<unknown> {
  const theirs = await kafkajsDecode(raw).then((value) => ({ value }), (error) => ({ error }));
  const ours = await decodeFetch(raw).then((value) => ({ value }), (error) => ({ error }));
  if ("error" in theirs) {
    assert.ok("error" in ours, `${what}: kafkajs failed (${theirs.error}), ours did not`);
    return undefined;
  }
  assert.ok("value" in ours, `${what}: ours failed (${"error" in ours && ours.error})`);
  assert.deepStrictEqual(ours.value, theirs.value, what);
  return ours.value;
}

Deno.test("uncompressed batches of p7's reports decode as kafkajs decodes them", async () => {
  const raw = response([
    { partition: 0, set: concat(await batch({ records: reports(50) })) },
    {
      partition: 2,
      set: concat(
        await batch({ firstOffset: "50", records: reports(3) }),
        await batch({ firstOffset: "53", records: reports(7) }),
      ),
    },
  ]);
  const decoded = await same(raw, "reports") as Awaited<ReturnType<typeof decodeFetch>>;
  const [first, second] = decoded.responses[0]!.partitions;
  assert.equal(first!.messages.length, 50);
  assert.equal(first!.messages[49]!.offset, "49");
  assert.equal(first!.messages[49]!.timestamp, String(1_700_000_000_000 + 3 * 49));
  assert.equal(second!.messages.map((m) => m.offset).join(), "50,51,52,53,54,55,56,57,58,59");
  assert.equal(first!.messages[1]!.key!.toString(), "February");
});

Deno.test("headers, null keys and values, and repeated header keys decode as kafkajs's", async () => {
  const records: RecordSpec[] = [
    { key: null, value: null },
    { headers: { "p7-run": "abc", other: "x" } },
    { headers: { twice: ["1", "2"], thrice: ["a", "b", "c"] } },
    { headers: { "__proto__": "odd", constructor: "c" } },
    { key: "", value: "", headers: { "": "" } },
    { value: "é ü ✓ 😀", headers: { "ключ": "значение" } },
    // Keys alike but for a byte the cache's hash skips.
    ...["aXcde", "aYcde", "aXcde", "aZcde"].map((key) => ({ key, headers: { [key]: key } })),
  ];
  await same(response([{ partition: 1, set: await batch({ records }) }]), "headers");
});

Deno.test("offsets and timestamps past 2^53 and odd deltas take the slow path's values", async () => {
  const cases: [string, BatchSpec][] = [
    ["offset past 2^53", { firstOffset: "9007199254740990", records: reports(5) }],
    ["offset near 2^63", { firstOffset: "9223372036854775000", records: reports(3) }],
    ["offsets across a thousand", { firstOffset: "1998", records: reports(5) }],
    ["offsets in the millions", { firstOffset: "123456998", records: reports(4) }],
    ["negative first offset", { firstOffset: "-3", records: reports(6) }],
    ["timestamp -1", { firstTimestamp: -1, records: reports(3) }],
    ["large timestamp delta", {
      records: [{ timestampDelta: 2 ** 40 }, { timestampDelta: -(2 ** 29) }, {
        timestampDelta: 2 ** 27,
      }],
    }],
    ["large offset delta", { records: [{ offsetDelta: 2 ** 30 }, { offsetDelta: 2 ** 27 }] }],
    ["log append time", { attributes: 0x08, records: reports(4) }],
    ["control batch", { attributes: 0x20, transactional: true, records: reports(2) }],
    ["transactional", { transactional: true, records: reports(2) }],
    ["gzip", { compression: 1, firstOffset: "10", records: reports(20) }],
  ];
  for (const [what, spec] of cases) {
    await same(response([{ partition: 0, set: await batch(spec) }]), what);
  }
  const aborted = [{ producerId: "77", firstOffset: "3" }];
  await same(
    response([{
      partition: 3,
      aborted,
      set: await batch({ transactional: true, records: reports(5) }),
    }]),
    "aborted transactions",
  );
});

Deno.test("empty, missing, partial and old-format record sets decode as kafkajs's", async () => {
  const whole = concat(
    await batch({ records: reports(10) }),
    await batch({ firstOffset: "10", records: reports(10) }),
  );
  const legacy = MessageSet({
    messageVersion: 1,
    compression: 0,
    entries: [{ key: "k", value: "v", timestamp: 5 }, { key: null, value: "w", timestamp: 6 }],
  }).buffer as Uint8Array;
  const sets: [string, Uint8Array | null][] = [
    ["no bytes", new Uint8Array(0)],
    ["size -1", null],
    ["legacy message set", legacy],
    ["a few bytes", whole.subarray(0, 10)],
  ];
  // Every cut of the fetch's byte limit: a whole first batch and part of the second.
  for (let cut = whole.length - 1; cut > whole.length / 2 - 80; cut -= 7) {
    sets.push([`cut at ${cut}`, whole.subarray(0, cut)]);
  }
  for (const [what, set] of sets) {
    await same(response([{ partition: 0, set }, { partition: 1, set: whole }]), what);
  }
});

/** A batch of `records` records with them cut off, as compaction leaves it: count 0. */
async function emptied(firstOffset: string, records: number): Promise<Uint8Array> {
  const header = (await batch({ firstOffset, records: reports(records) })).slice(0, 61);
  const view = new DataView(header.buffer);
  view.setInt32(8, 49); // the length after offset and length: the header alone
  view.setInt32(57, 0); // no records
  return header;
}

Deno.test("an emptied batch gets kafkajs past it: a control record at its last offset", async () => {
  const { default: Batch } = await import("kafkajs/src/consumer/batch.js");
  const empty = await emptied("100", 5);
  const after = await batch({ firstOffset: "105", records: reports(3) });
  const ours = await decodeFetch(response([{ partition: 0, set: concat(empty, after) }]));
  const theirs = await kafkajsDecode(response([{ partition: 0, set: after }]));
  const [mark, ...rest] = ours.responses[0]!.partitions[0]!.messages;
  assert.deepEqual(
    { offset: mark!.offset, isControlRecord: mark!.isControlRecord, key: mark!.key },
    { offset: "104", isControlRecord: true, key: null },
  );
  assert.deepStrictEqual(rest, theirs.responses[0]!.partitions[0]!.messages);
  // What kafkajs's consumer makes of it: the records after it, or, alone, a batch to skip.
  const both = new Batch("t", "100", ours.responses[0]!.partitions[0]);
  assert.deepEqual(both.messages.map((m: { offset: string }) => m.offset), ["105", "106", "107"]);
  const alone = (await decodeFetch(response([{ partition: 0, set: empty }]))).responses[0]!;
  const skipped = new Batch("t", "100", alone.partitions[0]);
  assert.equal(skipped.isEmptyDueToFiltering(), true);
  assert.equal(skipped.lastOffset(), "104");
  // kafkajs's own decoder gives nothing, and its consumer would fetch offset 100 again.
  const stuck = (await kafkajsDecode(response([{ partition: 0, set: empty }]))).responses[0]!;
  assert.equal(new Batch("t", "100", stuck.partitions[0]).isEmptyDueToFiltering(), false);
  // A compression flag left on the header changes nothing: there is nothing to decompress.
  const flagged = Uint8Array.from(empty);
  flagged[22]! |= 1;
  const gzip = (await decodeFetch(response([{ partition: 0, set: flagged }]))).responses[0]!;
  assert.equal(gzip.partitions[0]!.messages[0]!.offset, "104");
});

Deno.test("damaged bytes give kafkajs's result or make both decoders fail", async () => {
  const clean = response([{
    partition: 0,
    set: concat(
      await batch({ records: reports(4) }),
      await batch({ firstOffset: "4", records: [{ headers: { a: "1", b: ["2", "3"] } }] }),
    ),
  }]);
  const random = mulberry32(17);
  // Past the response's own framing (which both read with kafkajs's decoder) into the batches.
  const from = 70;
  for (let i = 0; i < 3000; i++) {
    const raw = Buffer.from(clean);
    const changes = 1 + Math.floor(random() * 3);
    for (let c = 0; c < changes; c++) {
      raw[from + Math.floor(random() * (raw.length - from))] = Math.floor(random() * 256);
    }
    await same(raw, `damage ${i}`);
  }
});

Deno.test("useFastFetchDecoder puts decodeFetch under kafkajs's Fetch v11 requests", async () => {
  const { default: requests } = await import("kafkajs/src/protocol/requests/fetch/index.js");
  useFastFetchDecoder();
  const request = requests.protocol({ version: 11 })({ maxWaitTime: 100, topics: [] });
  assert.equal(request.response.decode, decodeFetch);
  assert.equal(fetchV11.decode, decodeFetch);
});
