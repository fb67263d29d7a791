/**
 * The benchmark still works end to end (a tiny run; speed targets are the bench's, never a
 * test's): Java's perf tools, p7's producer, consumer and logic on the test broker.
 */
import assert from "node:assert/strict";
import { BROKERS, run } from "./harness.ts";
import { POSTGRES_MISSING } from "./postgres.ts";

Deno.test("a tiny bench prints the table and the summary line", async () => {
  const result = await run("bench/bench.ts", ["--count", "20000"], {
    env: { P7_TEST_BROKERS: BROKERS },
  });
  assert.equal(result.code, 0, result.stderr);
  for (
    const name of [
      "java ProducerPerformance",
      "p7 producer",
      "java ConsumerPerformance",
      "p7 consumer \\(4 partitions, \\d threads?, stats topic\\)",
      "p7 sink \\(SQLite, stats and anomalies topics\\)",
      "p7 consumer \\(4 partitions, 1 thread\\)",
      "p7 consumer \\(2 partitions \\(0 1\\)\\)",
      "p7 consumer \\(1 partition \\(0\\)\\)",
      "p7 consumer \\(the same, no stats topic\\)",
      "p7 producer \\(--stations 10\\)",
      "p7 consumer \\(--stations 10, 4 measures a report\\)",
      "p7 producer \\(nycflights13 replay\\)",
      "p7 consumer \\(nycflights13, 9 measures a row\\)",
      "p7 logic \\(the same, no anomaly check\\)",
    ]
  ) {
    assert.match(result.stdout, new RegExp(`\\| ${name}`));
  }
  if (POSTGRES_MISSING) console.log(`skipped: the bench's PostgreSQL row: ${POSTGRES_MISSING}`);
  else assert.match(result.stdout, /\| p7 sink \(PostgreSQL, stats and anomalies topics\)/);
  assert.match(
    result.stdout,
    /\np7 consumer: peak RSS \d+ MB at half the messages, \d+ MB at the end\n/,
  );
  assert.match(result.stdout, /\nstats topic: \d+ records published, \d+\.\d MB on disk/);
  assert.match(result.stdout, /replay: 200000 rows read/);
  assert.match(
    result.stdout,
    /\nanomalies: \d+ in 20000 days \(3 standard deviations, 5 earlier years\)/,
  );
  const summary = result.stdout.trim().split("\n").at(-1)!;
  const m =
    /^bench: producer (\d+) msg\/s \((\d+)% of java\), consumer (\d+) msg\/s \((\d+)% of java\), logic (\d+) msg\/s$/
      .exec(summary);
  assert.ok(m, summary);
  for (const value of m.slice(1)) assert.ok(Number(value) > 0, summary);
});
