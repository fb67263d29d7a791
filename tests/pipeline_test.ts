/**
 * End to end on the real broker: the producer fills the topic, consumers count it, and every
 * file equals an independent recomputation from the topic, whatever the process layout.
 */
import assert from "node:assert/strict";
import { endOffsets, readAll, recompute, run, spawn, tempDir, waitCaughtUp } from "./harness.ts";

const DAYS = 3000;

async function produce(days = DAYS, seed = 7): Promise<void> {
  const result = await run("producer.ts", [
    "--count",
    String(days),
    "--delay",
    "0",
    "--seed",
    String(seed),
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`sent ${days} days`));
}

Deno.test("one consumer process for all four partitions equals the recomputation", async () => {
  await produce();
  const ends = await endOffsets();
  assert.equal(ends.length, 4);
  assert.ok(ends.reduce((a, b) => a + b) > DAYS, "duplicates are produced too");
  const dir = await tempDir();
  const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  const result = await consumer.stop("SIGINT");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /stopped at offsets/);
  const files = await readAll(dir);
  assert.deepEqual(files, await recompute());
  assert.deepEqual(files.map((f) => f.offset), ends);
});

Deno.test("two consumer processes (0 2 and 1 3) give the same files", async () => {
  await produce();
  const dir = await tempDir();
  const a = spawn("consumer.ts", ["0", "2", "--dir", dir]);
  const b = spawn("consumer.ts", ["1", "3", "--dir", dir]);
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  assert.equal((await a.stop()).code, 0);
  assert.equal((await b.stop()).code, 0);
  assert.deepEqual(await readAll(dir), await recompute());
});
