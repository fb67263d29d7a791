/**
 * Faults that must lose nothing and count nothing twice: consumer kills, broker restarts and
 * outages, a second owner for a partition, a producer restart under running consumers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runChaos, summary } from "./chaos.ts";
import {
  backfill,
  broker,
  BROKERS,
  endOffsets,
  readAll,
  recompute,
  ROOT,
  spawn,
  spawnCommand,
  tempDir,
  tempFiles,
  waitCaughtUp,
  waitFor,
  waitOffsets,
  within,
} from "./harness.ts";

Deno.test("chaos: 50 random kill -9s and 2 broker restarts, files and anomaly logs exact", async () => {
  const report = await runChaos({ kills: 50, brokerRestarts: 2, seed: 2026 });
  console.log(summary(report));
  assert.deepEqual(report.problems, []);
  assert.equal(report.kills, 50);
  assert.equal(report.brokerRestarts, 2);
  assert.ok(report.midWriteKills > 0, "some kills landed in the middle of a checkpoint write");
  assert.ok(report.messages > 1000, `${report.messages} messages`);
  assert.ok(report.anomalies > 10, `${report.anomalies} anomalies`);
  assert.equal(report.mismatches, 0);
});

Deno.test("a broker down past the retry budget: clients exit 1 clearly, a restart is exact", async () => {
  const producer = spawn("producer.ts", ["--delay", "0.002", "--seed", "21"]);
  await waitFor("the producer to recreate the topic", () => /recreated/.test(producer.stderr()));
  const dir = await tempDir();
  const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitOffsets(dir, "some progress", (offsets) => offsets.some((offset) => offset > 50));
  await broker("stop");
  try {
    const [produced, consumed] = await Promise.all([producer.done, consumer.done]);
    for (const result of [produced, consumed]) {
      assert.equal(result.code, 1, result.stderr);
      const last = result.stderr.trim().split("\n").at(-1)!;
      assert.match(last, /^error: (cannot reach Kafka at|Kafka failed while)/);
    }
  } finally {
    await broker("start");
  }
  const again = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitFor("the consumer to start", () => /consumer: partitions/.test(again.stderr()));
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  const restarted = await again.stop();
  assert.equal(restarted.code, 0, restarted.stderr);
  assert.deepEqual(await readAll(dir), await recompute());
  assert.deepEqual(await tempFiles(dir), []);
});

Deno.test("a second consumer for a partition someone owns is refused", async () => {
  await backfill(300, 22);
  const dir = await tempDir();
  const owner = spawn("consumer.ts", ["0", "2", "--dir", dir]);
  await waitCaughtUp(dir, [0, 2]);
  const before = await Deno.readTextFile(join(dir, "partition-2.json"));
  const second = await spawn("consumer.ts", ["2", "3", "--dir", dir]).done;
  assert.equal(second.code, 1);
  assert.match(second.stderr, /^error: partition 2 is already consumed by another process/m);
  assert.equal(await Deno.readTextFile(join(dir, "partition-2.json")), before);
  await assert.rejects(Deno.stat(join(dir, "partition-3.json")), Deno.errors.NotFound);
  assert.equal((await owner.stop()).code, 0);
});

Deno.test("a producer restart under a running consumer is noticed, not mixed in", async () => {
  const first = spawn("producer.ts", ["--delay", "0.002", "--seed", "23"]);
  await waitFor("the producer to recreate the topic", () => /recreated/.test(first.stderr()));
  const dir = await tempDir();
  const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitOffsets(dir, "some progress", (offsets) => offsets.every((offset) => offset > 20));
  await first.stop("SIGKILL");
  const before = await readAll(dir);
  const second = spawn("producer.ts", ["--count", "3000", "--delay", "0.001", "--seed", "24"]);
  const result = await consumer.done;
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^error: .*topic "temperatures" (was recreated|disappeared)/m);
  assert.equal((await second.stop()).code, 0);
  // Whatever the consumer had counted stays as it was: complete batches of the old topic.
  const after = await readAll(dir);
  for (const [p, file] of after.entries()) {
    assert.ok((file.offset as number) >= (before[p]!.offset as number));
  }
});

Deno.test("a consumer restarted after a producer restart refuses the old checkpoint", async () => {
  await backfill(400, 25);
  const dir = await tempDir();
  const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  assert.equal((await consumer.stop()).code, 0);
  const before = await readAll(dir);
  // The new topic holds more records than the old checkpoints' offsets.
  await backfill(3000, 26);
  const result = await spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]).done;
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^error: topic "temperatures" was recreated/m);
  assert.deepEqual(await readAll(dir), before, "the old checkpoints are left as they were");
});

Deno.test("chaos with 10 simulated stations: 20 kill -9s and a broker restart, files and anomaly logs exact", async () => {
  // A year and a half of days: anomalies once one earlier year of a month is known.
  const report = await runChaos({
    kills: 20,
    brokerRestarts: 1,
    seed: 2027,
    stations: 10,
    anomalyYears: 1,
  });
  console.log(summary(report));
  assert.deepEqual(report.problems, []);
  assert.equal(report.kills, 20);
  assert.ok(report.messages > 1000, `${report.messages} messages`);
  assert.ok(report.anomalies > 10, `${report.anomalies} anomalies`);
  assert.equal(report.mismatches, 0);
});

Deno.test("Ctrl-C to the process group of ./p7 consumer: the summary, then exit 0", async () => {
  // A terminal's Ctrl-C reaches `./p7` (deno task) and the consumer alike, and deno task
  // forwards its copy: the consumer sees two SIGINTs a few milliseconds apart.
  await backfill(200000, 31);
  const dir = await tempDir();
  for (const moment of ["at once", "while counting", "caught up"]) {
    const before = await readAll(dir).then(
      (files) => files.reduce((sum, file) => sum + (file.offset as number), 0),
      () => 0,
    );
    const consumer = spawnCommand(
      new Deno.Command("setsid", {
        args: ["./p7", "consumer", "--dir", dir, "0", "1", "2", "3"],
        cwd: ROOT,
        env: { KAFKA_BROKERS: BROKERS, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }),
    );
    await waitFor("the consumer to start", () => /consumer: partitions/.test(consumer.stderr()));
    if (moment === "while counting") {
      await waitOffsets(
        dir,
        "some counting",
        (offsets) => offsets.reduce((a, b) => a + b) > before,
      );
    } else if (moment === "caught up") {
      await waitCaughtUp(dir, [0, 1, 2, 3]);
    }
    Deno.kill(-consumer.process.pid, "SIGINT");
    const result = await within(20_000, `the consumer to exit (${moment})`, consumer.done)
      .catch((error) => {
        Deno.kill(-consumer.process.pid, "SIGKILL");
        throw error;
      });
    assert.equal(result.code, 0, `${moment}: ${result.stderr}`);
    assert.match(
      result.stderr,
      /consumer: stopped at offsets 0@\d+ 1@\d+ 2@\d+ 3@\d+; \d+ counted/,
    );
  }
  assert.deepEqual(await readAll(dir), await recompute());
});

Deno.test("SIGINT or SIGTERM at any moment: exit 0, whole batches only, a restart is exact", async () => {
  // Long enough for the threaded consumer (about 400,000 messages a second here) to be
  // stopped mid-backlog several times.
  await backfill(300000, 27);
  const total = (await endOffsets()).reduce((sum, end) => sum + end, 0);
  let behind = 0;
  const dir = await tempDir();
  // From "just started" (still connecting to Kafka) to the middle of the backlog.
  for (const [i, wait] of [0, 0, 50, 100, 200, 400, 800].entries()) {
    const signal = i % 2 === 0 ? "SIGINT" : "SIGTERM";
    // Two threads whatever the machine: every thread must finish its batch.
    const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir, "--threads", "2"]);
    await waitFor("the consumer to start", () => /consumer: partitions/.test(consumer.stderr()));
    assert.match(consumer.stderr(), / on 2 threads;/);
    await new Promise((resolve) => setTimeout(resolve, wait));
    const result = await within(20_000, `the consumer to exit on ${signal}`, consumer.stop(signal))
      .catch((error) => {
        consumer.process.kill("SIGKILL");
        throw error;
      });
    assert.equal(result.code, 0, `${signal} after ${wait} ms: ${result.stderr}`);
    assert.match(result.stderr, /consumer: stopped at offsets/);
    assert.deepEqual(await tempFiles(dir), []);
    const counted = (await readAll(dir)).reduce((sum, file) => sum + (file.offset as number), 0);
    if (counted < total) behind++;
  }
  assert.ok(behind >= 3, `only ${behind} stops landed before the end of the backlog`);
  const last = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitFor("the consumer to start", () => /consumer: partitions/.test(last.stderr()));
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  assert.equal((await last.stop()).code, 0);
  assert.deepEqual(await readAll(dir), await recompute());
});
