import assert from "node:assert/strict";
import { join } from "node:path";
import {
  appendLog,
  lockPartition,
  logPath,
  readAllStats,
  readLog,
  readStats,
  recordRun,
  saveStats,
  trimLog,
} from "./checkpoint.ts";
import { P7Error } from "./errors.ts";
import { emptyStats } from "./stats/stats.ts";

Deno.test("readStats: missing is undefined, saved is read back, broken names the file", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal(await readStats(dir, 1), undefined);
  const stats = emptyStats(1);
  stats.offset = 7;
  await saveStats(dir, stats);
  assert.deepEqual(await readStats(dir, 1), stats);
  await Deno.writeTextFile(join(dir, "partition-1.json"), '{"partition": 1, "offset": -3}');
  await assert.rejects(readStats(dir, 1), (error: P7Error) => {
    assert.equal(error.code, "CHECKPOINT");
    assert.equal(
      error.message,
      `Cannot read checkpoint "${join(dir, "partition-1.json")}": offset is negative`,
    );
    return true;
  });
});

Deno.test("a partition's lock is exclusive across processes", async () => {
  const dir = await Deno.makeTempDir();
  const lock = await lockPartition(dir, 2);
  const script = `import { lockPartition } from "${new URL("./checkpoint.ts", import.meta.url)}";
    try { await lockPartition(${JSON.stringify(dir)}, 2); console.log("got it"); }
    catch (e) { console.log(e.message); }`;
  const other = async () =>
    new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), { args: ["eval", script], stderr: "null" }).output())
        .stdout,
    ).trim();
  assert.match(await other(), /^partition 2 is already consumed by another process/);
  lock.file.close();
  assert.equal(await other(), "got it");
});

Deno.test("the lock file remembers the producer run for the next owner", async () => {
  const dir = await Deno.makeTempDir();
  const first = await lockPartition(dir, 1);
  assert.equal(first.run, undefined);
  await recordRun(dir, 1, "a much longer run name than the next");
  await recordRun(dir, 1, "run-b");
  // Written in place: the lock still holds.
  const other = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const f = await Deno.open("${join(dir, "partition-1.lock")}", { write: true });
      console.log(await f.tryLock(true))`,
    ],
  }).output();
  assert.equal(new TextDecoder().decode(other.stdout).trim(), "false");
  first.file.close();
  const second = await lockPartition(dir, 1);
  assert.equal(second.run, "run-b");
  assert.deepEqual(JSON.parse(await Deno.readTextFile(join(dir, "partition-1.lock"))), {
    pid: Deno.pid,
    run: "run-b",
  });
  second.file.close();
  await Deno.writeTextFile(join(dir, "partition-1.lock"), '{"pid": 1, "ru');
  const torn = await lockPartition(dir, 1);
  assert.equal(torn.run, undefined);
  torn.file.close();
});

Deno.test("trimLog drops lines of batches whose checkpoint was never written", async () => {
  const dir = await Deno.makeTempDir();
  const entry = (offset: number) => ({ partition: 0, offset, reason: "empty value", value: "" });
  await appendLog(dir, "rejected", [entry(3), entry(9), entry(12)]);
  assert.equal(logPath(dir, "rejected", 0), join(dir, "rejected-0.jsonl"));
  await Deno.writeTextFile(logPath(dir, "rejected", 0), '{"partition": 0, "off', { append: true });
  assert.deepEqual((await readLog(dir, "rejected", 0, JSON.parse)).map((line) => line.offset), [
    3,
    9,
    12,
  ]);
  await trimLog(dir, "rejected", 0, 10);
  const lines = (await Deno.readTextFile(logPath(dir, "rejected", 0))).trim().split("\n");
  assert.deepEqual(lines.map((line) => JSON.parse(line).offset), [3, 9]);
  await trimLog(dir, "anomalies", 1, 10); // no file: nothing to do
  assert.deepEqual(await readLog(dir, "anomalies", 1, JSON.parse), []);
});

Deno.test("readAllStats lists partition files and reports unreadable ones", async () => {
  const dir = await Deno.makeTempDir();
  assert.deepEqual(await readAllStats(join(dir, "missing")), []);
  await saveStats(dir, emptyStats(3));
  await Deno.writeTextFile(join(dir, "partition-0.json"), "{");
  await Deno.writeTextFile(join(dir, "partition-x.json"), "{}");
  const files = await readAllStats(dir);
  assert.deepEqual(files.map((f) => [f.partition, "error" in f]), [[0, true], [3, false]]);
});
