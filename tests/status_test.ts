/**
 * The health check against the real broker and partition files written by the real
 * producer and consumer: one line per partition and an exit status that says whether
 * everything produced has been consumed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { consume } from "./dashboard_harness.ts";
import { readAllStats } from "../lib/checkpoint.ts";
import { backfill, endOffsets, run, type Running, spawn, tempDir, waitFor } from "./harness.ts";

function lines(ends: number[], checkpoints: (number | null)[], notes: string[] = []): string {
  return ends.map((end, partition) => {
    const checkpoint = checkpoints[partition] ?? null;
    const lag = checkpoint === null ? "-" : String(end - checkpoint);
    const note = notes[partition] ? ` (${notes[partition]})` : "";
    return `partition ${partition}: end ${end}, checkpoint ${
      checkpoint ?? "-"
    }, lag ${lag}${note}\n`;
  }).join("");
}

Deno.test("status exits 0 only when every partition file is there and caught up", async () => {
  await backfill(2000, 3);
  const ends = await endOffsets();
  const dir = await tempDir();
  await consume(dir, [0, 1, 2, 3]);

  const healthy = await run("status.ts", ["--dir", dir]);
  assert.equal(healthy.code, 0, healthy.stderr);
  assert.equal(healthy.stdout, lines(ends, ends));
  assert.equal(
    healthy.stderr,
    `status: ok, 4 partitions in "${dir}", total lag 0 (at most 1000 each)\n`,
  );

  // Partition 2 back at the start: all of it is lag.
  await Deno.writeTextFile(join(dir, "partition-2.json"), '{"partition": 2, "offset": 0}\n');
  const behind = await run("status.ts", ["--dir", dir, "--max-lag", String(ends[2]! - 1)]);
  assert.equal(behind.code, 1);
  assert.equal(behind.stdout, lines(ends, [ends[0]!, ends[1]!, 0, ends[3]!]));
  assert.match(
    behind.stderr,
    new RegExp(
      `^status: partition 2 is ${ends[2]} records behind \\(more than ${ends[2]! - 1}\\)\n`,
    ),
  );
  const tolerated = await run("status.ts", ["--dir", dir, "--max-lag", String(ends[2])]);
  assert.equal(tolerated.code, 0, tolerated.stderr);
  assert.match(tolerated.stderr, new RegExp(`total lag ${ends[2]} `));

  await Deno.remove(join(dir, "partition-3.json"));
  await Deno.writeTextFile(join(dir, "partition-0.json"), '{"partition": 0, "offset": -1}\n');
  await Deno.writeTextFile(
    join(dir, "partition-1.json"),
    `{"partition": 1, "offset": ${ends[1]! + 5}}\n`,
  );
  await Deno.writeTextFile(join(dir, "partition-9.json"), '{"partition": 9, "offset": 0}\n');
  const broken = await run("status.ts", ["--dir", dir, "--max-lag", "100000"]);
  assert.equal(broken.code, 1);
  assert.equal(
    broken.stdout,
    `partition 0: end ${ends[0]}, checkpoint -, lag - (unreadable)\n` +
      `partition 1: end ${ends[1]}, checkpoint ${ends[1]! + 5}, lag -5 (ahead)\n` +
      `partition 2: end ${ends[2]}, checkpoint 0, lag ${ends[2]}\n` +
      `partition 3: end ${ends[3]}, checkpoint -, lag - (missing)\n` +
      `partition 9: end -, checkpoint 0, lag - (unknown)\n`,
  );
  assert.equal(
    broken.stderr,
    `status: cannot read "partition-0.json": offset is negative\n` +
      `status: checkpoint ${ends[1]! + 5} of partition 1 is beyond the topic's end ${ends[1]}; ` +
      `was the topic recreated?\n` +
      `status: partition 3 has no file "partition-3.json"\n` +
      `status: "partition-9.json" is for partition 9, which the topic does not have\n` +
      `status: unhealthy, 4 problems with the files in "${dir}"\n`,
  );
});

Deno.test("status stays healthy while a consumer keeps up with a live stream", async () => {
  const producer = spawn("producer.ts", ["--count", "1500", "--delay", "0.002", "--seed", "4"]);
  const dir = await tempDir();
  let consumer: Running | undefined;
  try {
    await waitFor("the topic", () => /recreated/.test(producer.stderr()));
    consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
    await waitFor("the files", async () => (await readAllStats(dir)).length === 4);
    let produced = false;
    producer.done.then(() => produced = true);
    let checks = 0;
    while (!produced) {
      const result = await run("status.ts", ["--dir", dir, "--max-lag", "100000"]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      checks++;
    }
    assert.equal((await producer.done).code, 0);
    assert.ok(checks >= 2, `${checks} checks`);
  } finally {
    await producer.stop();
    if (consumer) assert.equal((await consumer.stop()).code, 0);
  }
});

Deno.test("status says so at once when the broker is unreachable, and rejects bad flags", async () => {
  const started = performance.now();
  const down = await run("status.ts", ["--brokers", "127.0.0.1:1"]);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(down.code, 1);
  assert.match(
    down.stderr,
    /^error: cannot reach Kafka at 127\.0\.0\.1:1 while reading topic "temperatures": .*ECONNREFUSED.*\n$/,
  );
  assert.equal(down.stdout, "");
  assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s`);

  const negative = await run("status.ts", ["--max-lag=-1"]);
  assert.equal(negative.code, 2);
  assert.match(negative.stderr, /^error: --max-lag -1 is out of range \(0 to \d+\)\n$/);
  const extra = await run("status.ts", ["0"]);
  assert.equal(extra.code, 2);
  assert.match(extra.stderr, /^error: Unexpected argument '0'\n$/);
});
