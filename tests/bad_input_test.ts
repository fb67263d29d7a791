/**
 * Bad input of every kind: one `error: …` line on stderr, a non-zero exit, no stack trace,
 * and no data file changed.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { encodeReport } from "../lib/kafka/report.ts";
import {
  backfill,
  endOffsets,
  type Output,
  readJson,
  run,
  spawn,
  tempDir,
  testKafka,
  waitCaughtUp,
  waitFor,
} from "./harness.ts";

function assertOneLineError(result: Output, pattern: RegExp, status = 1): void {
  assert.equal(result.code, status, result.stderr);
  const lines = result.stderr.trim().split("\n").filter((line) => !line.startsWith("Task "));
  assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".lock")) {
      files[entry.name] = await Deno.readTextFile(join(dir, entry.name));
    }
  }
  return files;
}

Deno.test("usage errors of every script exit 2 with one line", async () => {
  const cases: [string, string[], RegExp][] = [
    ["consumer.ts", [], /name the partitions to consume/],
    ["consumer.ts", ["1", "x"], /partition "x" is not an integer/],
    ["consumer.ts", ["1.5"], /partition "1.5" is not an integer/],
    ["consumer.ts", ["--", "-1"], /partition -1 is out of range/],
    ["consumer.ts", ["0", "2", "0"], /partition 0 is named twice/],
    ["consumer.ts", ["0", "--nope"], /Unknown option '--nope'/],
    ["producer.ts", ["--bogus"], /Unknown option '--bogus'/],
    ["producer.ts", ["--delay", "abc"], /--delay "abc" is not a number/],
    ["producer.ts", ["--delay=-1"], /--delay -1 is out of range/],
    ["producer.ts", ["--count", "0"], /--count 0 is out of range/],
    ["producer.ts", ["--count", "2.5"], /--count "2.5" is not an integer/],
    ["producer.ts", ["--seed", "-3"], /--seed needs a value; write --seed=VALUE/],
    ["producer.ts", ["--seed=-3"], /--seed -3 is out of range/],
    ["producer.ts", ["--duplicate-rate", "1.5"], /--duplicate-rate 1.5 is out of range/],
    ["producer.ts", ["--brokers", "nohost"], /broker "nohost" is not host:port/],
    ["producer.ts", ["--delay"], /--delay/],
    ["debug.ts", ["--from-beginning"], /Unknown option '--from-beginning'/],
    ["plot.ts", ["extra"], /Unexpected argument 'extra'/],
  ];
  for (const [script, args, pattern] of cases) {
    assertOneLineError(await run(script, args), pattern, 2);
  }
});

Deno.test("--help prints the usage and exits 0", async () => {
  for (const script of ["producer.ts", "consumer.ts", "debug.ts", "plot.ts"]) {
    const result = await run(script, ["--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: /);
  }
});

Deno.test("an unreachable broker is reported within 30 s", async () => {
  const started = Date.now();
  const result = await run("producer.ts", ["--brokers", "127.0.0.1:1", "--count", "1"]);
  assertOneLineError(result, /cannot reach Kafka at 127\.0\.0\.1:1 .*ECONNREFUSED/);
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
});

Deno.test("plot: no data, and an unreadable partition file", async () => {
  const dir = await tempDir();
  assertOneLineError(await run("plot.ts", ["--dir", dir]), /no January\/February\/March data/);
  await Deno.writeTextFile(join(dir, "partition-1.json"), '{"partition": 1,');
  assertOneLineError(await run("plot.ts", ["--dir", dir]), /partition-1\.json": not valid JSON/);
  assert.deepEqual(await snapshot(dir), { "partition-1.json": '{"partition": 1,' });
});

Deno.test("consumer refuses bad checkpoints and leaves every file as it was", async () => {
  await backfill(400, 11);
  const end = (await endOffsets())[0]!;
  const good = await tempDir();
  const consumer = spawn("consumer.ts", ["0", "--dir", good]);
  await waitCaughtUp(good, [0]);
  assert.equal((await consumer.stop()).code, 0);
  const valid = await Deno.readTextFile(join(good, "partition-0.json"));
  const data = JSON.parse(valid);
  const year = Object.keys(data.March)[0]!;
  const edit = (change: (d: typeof data) => void) => {
    const copy = structuredClone(data);
    change(copy);
    return JSON.stringify(copy);
  };
  const cases: [string, RegExp][] = [
    ["", /partition-0\.json": file is empty$/],
    [valid.slice(0, valid.length / 2), /not valid JSON/],
    ["hello", /not valid JSON/],
    [edit((d) => d.offset = "12"), /offset "12" is not an integer/],
    [edit((d) => d.offset = -5), /offset is negative/],
    [
      edit((d) => d.offset = end + 1000),
      new RegExp(`offset ${end + 1000} is beyond the end of partition 0 \\(${end}\\)`),
    ],
    [edit((d) => d.March[year].avg += 1), /avg .* is not sum\/count/],
    [
      edit((d) => {
        d.March[year].count = 40;
        d.March[year].avg = d.March[year].sum / 40;
      }),
      /count 40 is more than the \d+ days from start to end/,
    ],
    [edit((d) => d.March[year].sum = "x"), /sum "x" is not a finite number/],
  ];
  for (const [text, pattern] of cases) {
    const dir = await tempDir();
    await Deno.writeTextFile(join(dir, "partition-0.json"), text);
    await Deno.writeTextFile(join(dir, "rejected-0.jsonl"), '{"partition":0,"offset":999999}\n');
    const before = await snapshot(dir);
    assertOneLineError(await run("consumer.ts", ["0", "--dir", dir]), pattern);
    assert.deepEqual(await snapshot(dir), before, `files changed for ${pattern}`);
  }
});

Deno.test("consumer: partition out of range, then records deleted below the checkpoint", async () => {
  await backfill(200, 12);
  const dir = await tempDir();
  assertOneLineError(
    await run("consumer.ts", ["1", "4", "--dir", dir]),
    /partition 4 does not exist: topic "temperatures" has 4 partitions \(0-3\)/,
  );
  assert.deepEqual(await snapshot(dir), {});
  const admin = testKafka().admin();
  await admin.connect();
  await admin.fetchTopicMetadata({ topics: ["temperatures"] });
  await admin.deleteTopicRecords({
    topic: "temperatures",
    partitions: [{ partition: 1, offset: "5" }],
  });
  await admin.disconnect();
  assertOneLineError(
    await run("consumer.ts", ["1", "--dir", dir]),
    /offset 0 is below the start of partition 1 \(5\): the records in between were deleted/,
  );
  assert.deepEqual(await snapshot(dir), {}, "no checkpoint is created for a refused start");
});

Deno.test("consumer and debug refuse a missing topic and do not create it", async () => {
  const admin = testKafka().admin();
  await admin.connect();
  if ((await admin.listTopics()).includes("temperatures")) {
    await admin.deleteTopics({ topics: ["temperatures"] });
  }
  const dir = await tempDir();
  assertOneLineError(
    await run("consumer.ts", ["0", "--dir", dir]),
    /topic "temperatures" does not exist/,
  );
  assertOneLineError(await run("debug.ts", []), /topic "temperatures" does not exist/);
  assert.ok(!(await admin.listTopics()).includes("temperatures"), "not auto-created");
  await admin.disconnect();
  assert.deepEqual(await snapshot(dir), {});
});

Deno.test("bad records are skipped, logged in rejected-N.jsonl, and never counted", async () => {
  await backfill(31, 5, { duplicateRate: 0 });
  const dir = await tempDir();
  const consumer = spawn("consumer.ts", ["2", "--dir", dir]);
  await waitCaughtUp(dir, [2]);
  const before = await readJson(dir, 2) as { offset: number; January: unknown };
  // January's partition is 2: every kind of bad record, then a good one that still counts.
  // Random-looking bytes that are certainly no protobuf: field 1 claims 32 bytes, 3 follow.
  const garbage = new Uint8Array([0x0a, 0x20, 0x9f, 0x17, 0xe4]);
  const bad: [string, Uint8Array | null, RegExp][] = [
    ["January", garbage, /^not a Report protobuf/],
    ["January", new Uint8Array(0), /^empty value$/],
    ["January", null, /^null value$/],
    ["January", encodeReport({ date: "1991-02-30", degrees: 1 }), /^impossible date "1991-02-30"/],
    ["January", encodeReport({ date: "1991-01-05", degrees: NaN }), /^degrees is NaN$/],
    ["January", encodeReport({ date: "1991-01-06", degrees: Infinity }), /^degrees is Infinity$/],
    ["March", encodeReport({ date: "1991-01-07", degrees: 1 }), /^key "March" does not match/],
  ];
  const producer = testKafka().producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({
    topic: "temperatures",
    messages: [
      ...bad.map(([key, value]) => ({
        key,
        value: value === null ? null : Buffer.from(value),
        partition: 2,
      })),
      {
        key: "January",
        value: Buffer.from(encodeReport({ date: "1991-01-08", degrees: 20.5 })),
        partition: 2,
      },
    ],
  });
  await producer.disconnect();
  await waitCaughtUp(dir, [2]);
  assert.equal((await consumer.stop()).code, 0);
  const after = await readJson(dir, 2) as { offset: number; January: Record<string, unknown> };
  assert.equal(after.offset, before.offset + bad.length + 1);
  assert.deepEqual(after.January["1991"], {
    count: 1,
    sum: 20.5,
    avg: 20.5,
    start: "1991-01-08",
    end: "1991-01-08",
    min: 20.5,
    max: 20.5,
    sumsq: 420.25,
  });
  const lines = (await Deno.readTextFile(join(dir, "rejected-2.jsonl"))).trim().split("\n");
  const rejected = lines.map((line) => JSON.parse(line));
  assert.equal(rejected.length, bad.length);
  for (const [i, [, value, reason]] of bad.entries()) {
    assert.equal(rejected[i].partition, 2);
    assert.equal(rejected[i].offset, before.offset + i);
    assert.match(rejected[i].reason, reason);
    assert.equal(rejected[i].value, value === null ? null : Buffer.from(value).toString("base64"));
  }
  // A restart neither counts them nor logs them again.
  const again = spawn("consumer.ts", ["2", "--dir", dir]);
  await waitFor("the consumer to start", () => /consumer: partitions/.test(again.stderr()));
  assert.equal((await again.stop()).code, 0);
  assert.deepEqual(await readJson(dir, 2), after);
  assert.equal(
    (await Deno.readTextFile(join(dir, "rejected-2.jsonl"))).trim().split("\n").length,
    bad.length,
  );
});
