import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import produce from "kafkajs/src/protocol/requests/produce/index.js";
import Long from "kafkajs/src/utils/long.js";
import {
  encodeProduce,
  kafkajsProtocol,
  type ProduceArgs,
  type ProduceMessage,
  useFastProduceEncoder,
} from "./kafkajs_produce.ts";
import { encodeReport } from "./report.ts";
import { mulberry32 } from "../sources/weather.ts";

const NOW = 1_764_000_000_123;

/** Runs `work` with `Date.now` fixed, as both encoders stamp records without a timestamp. */
async function atNow<T>(work: () => Promise<T>): Promise<T> {
  const now = Date.now;
  Date.now = () => NOW;
  try {
    return await work();
  } finally {
    Date.now = now;
  }
}

/** The request kafkajs's own encoder writes, as hex, or its error. */
async function theirs(args: ProduceArgs, version = 7): Promise<string> {
  return await atNow(async () => {
    const { request } = kafkajsProtocol({ version })(args);
    return Buffer.from((await request.encode()).buffer).toString("hex");
  }).catch((error) => `error: ${error.constructor.name}`);
}

async function ours(args: ProduceArgs): Promise<string> {
  return await atNow(() => Promise.resolve(Buffer.from(encodeProduce(args).buffer).toString("hex")))
    .catch((error) => `error: ${error.constructor.name}`);
}

const request = (
  partitions: ProduceArgs["topicData"][number]["partitions"],
  extra: Partial<ProduceArgs> = {},
): ProduceArgs => ({
  acks: -1,
  timeout: 30_000,
  producerId: Long.fromValue("4711"),
  producerEpoch: 3,
  topicData: [{ topic: "temperatures", partitions }],
  ...extra,
});

const run = Buffer.from("0f6e5e1c-3b7a-4a57-9a4b-6c0c3f1f2e11");
const reports = (count: number): ProduceMessage[] =>
  Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(["January", "February", "March"][i % 3]!),
    value: Buffer.from(
      encodeReport({ date: `2001-03-${String(i % 28 + 1).padStart(2, "0")}`, degrees: i / 7 }),
    ),
    headers: { "p7-run": run },
  }));

Deno.test("p7's report batches encode to kafkajs's bytes", async () => {
  const args = request([
    { partition: 0, firstSequence: 0, messages: reports(250) },
    { partition: 3, firstSequence: 1_000, messages: reports(3) },
  ]);
  const expected = await theirs(args);
  assert.ok(!expected.startsWith("error"), expected);
  assert.equal(await ours(args), expected);
});

Deno.test("keys, values, headers and timestamps of every kind encode to kafkajs's bytes", async () => {
  const cases: [string, ProduceMessage[], Partial<ProduceArgs>?][] = [
    ["strings", [{ key: "März-2024", value: '{"count":31,"avg":-3.5}' }]],
    ["null and missing keys", [{ key: null, value: "v" }, { value: "w" }, { key: "", value: "" }]],
    ["null value", [{ key: "tombstone", value: null }]],
    ["large value", [{ key: "k", value: "x".repeat(70_000) }, {
      key: "k",
      value: "é".repeat(999),
    }]],
    ["headers", [
      { value: "a", headers: { one: "1", many: ["x", Buffer.from("y"), ""], empty: [] } },
      { value: "b", headers: { "ключ": "значение", "p7-run": run } },
    ]],
    ["null header value", [{ value: "a", headers: { bad: null as unknown as string } }]],
    ["timestamps as numbers", [
      { value: "a", timestamp: NOW - 5_000 },
      { value: "b", timestamp: NOW + 2 ** 40 },
      { value: "c" },
    ]],
    ["timestamps as text, sorted as text", [
      { value: "a", timestamp: "999" },
      { value: "b", timestamp: "1000" },
      { value: "c", timestamp: String(NOW) },
    ]],
    ["transactional", reports(4), { transactionalId: "tx-1" }],
    ["no producer id", reports(2), { producerId: undefined, producerEpoch: undefined }],
    ["no messages", []],
    ["a value that is no string or Buffer", [{ value: 42 as unknown as string }]],
  ];
  for (const [what, messages, extra] of cases) {
    const args = request([{ partition: 1, firstSequence: 7, messages }], extra);
    const expected = await theirs(args);
    const fails = what === "null header value" || what.startsWith("a value that");
    assert.equal(expected.startsWith("error"), fails, `${what}: ${expected.slice(0, 80)}`);
    assert.equal(await ours(args), expected, what);
  }
  const topics = request([], {
    topicData: [
      { topic: "temperature-stats", partitions: [{ partition: 2, messages: reports(5) }] },
      { topic: "temperature-anomalies", partitions: [{ partition: 2, messages: reports(1) }] },
    ],
  });
  assert.equal(await ours(topics), await theirs(topics), "two topics");
});

Deno.test("random messages encode to kafkajs's bytes", async () => {
  const random = mulberry32(5);
  const text = () => "aé✓😀-".repeat(Math.floor(random() * 40)).slice(0, Math.floor(random() * 90));
  for (let i = 0; i < 200; i++) {
    const messages = Array.from({ length: Math.floor(random() * 30) }, () => ({
      key: random() < 0.2 ? null : text(),
      value: random() < 0.5 ? Buffer.from(text()) : text(),
      headers: random() < 0.5 ? undefined : { [text() || "h"]: text(), x: [text(), text()] },
      timestamp: random() < 0.3 ? NOW - Math.floor(random() * 1e9) : undefined,
    }));
    const args = request([{ partition: i % 4, firstSequence: i, messages }]);
    assert.equal(await ours(args), await theirs(args), `case ${i}`);
  }
});

Deno.test("useFastProduceEncoder takes uncompressed v3+ requests only, with the same bytes", async () => {
  useFastProduceEncoder();
  const args = request([{ partition: 0, messages: reports(10) }]);
  for (const version of [3, 5, 7]) {
    const built = produce.protocol({ version })(args);
    assert.equal(built.request.apiVersion, version);
    const bytes = await atNow(async () => Buffer.from((await built.request.encode()).buffer));
    assert.equal(bytes.toString("hex"), await theirs(args, version), `version ${version}`);
  }
  // Message sets (before v3) and compressed batches stay kafkajs's: other layouts than ours.
  const old = await atNow(async () =>
    Buffer.from((await produce.protocol({ version: 2 })(args).request.encode()).buffer)
  );
  assert.equal(old.toString("hex"), await theirs(args, 2));
  const gzip = { ...args, compression: 1 };
  const compressed = await atNow(async () =>
    Buffer.from((await produce.protocol({ version: 7 })(gzip).request.encode()).buffer)
  );
  assert.equal(compressed.toString("hex"), await theirs(gzip));
});
