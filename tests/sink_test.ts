/**
 * The database sink on SQLite and on PostgreSQL: consumers and sinks killed with `kill -9`
 * over and over, then each database equals the statistics and anomalies recomputed from
 * `temperatures` (every row, no extra row) and the windows of the consumers' logs; two sinks
 * cannot share a database; bad databases are one line and leave the file as it was.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  backfill,
  BROKERS,
  type Output,
  ROOT,
  run,
  spawn,
  spawnCommand,
  tempDir,
  waitCaughtUp,
  waitFor,
  within,
} from "./harness.ts";
import { POSTGRES_MISSING, startPostgres } from "./postgres.ts";
import {
  assertDbExact,
  postgresDb,
  sqliteDb,
  sunkOffsets,
  type TestDb,
  topicEnds,
  waitSunk,
} from "./sink_check.ts";
import { mulberry32 } from "../lib/sources/weather.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The sink alone on what is left of the backlog, killed once past each mark, the last ones
 * in the consumers' final publication, which holds every key's latest value once: nothing
 * after it publishes the same keys again, so a record lost or applied out of turn stays
 * wrong. Returns the kills, and those that landed part way.
 */
async function killAtMarks(db: TestDb, end: number): Promise<{ kills: number; midway: number }> {
  let kills = 0;
  let midway = 0;
  for (const mark of [0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98]) {
    const before = await sunkOffsets(db);
    if (before >= mark * end) continue;
    const sink = spawn("sink.ts", db.args);
    const deadline = Date.now() + 30_000;
    while (await sunkOffsets(db) < mark * end && Date.now() < deadline) await pause(5);
    await sink.stop("SIGKILL");
    kills++;
    const after = await sunkOffsets(db);
    if (after > before && after < end) midway++;
  }
  return { kills, midway };
}

if (POSTGRES_MISSING) {
  console.log(`skipped: the PostgreSQL half of the sink test: ${POSTGRES_MISSING}`);
}

Deno.test("kill -9s of consumers and of the sinks: each database equals the recount, row for row", async () => {
  // Streamed while the consumers are killed, so that the last consumer counts the last days
  // itself: what it publishes then is in the topics once, and a sink that lost it would show.
  const dir = await tempDir();
  const postgres = POSTGRES_MISSING ? undefined : await startPostgres();
  const dbs = [sqliteDb(join(dir, "p7.db"))];
  if (postgres !== undefined) dbs.push(postgresDb(postgres.url));
  const producer = spawn("producer.ts", ["--count", "8000", "--delay", "0.002", "--seed", "23"]);
  try {
    await waitFor("the producer's topics", () => /producer: topic/.test(producer.stderr()));
    const consumerArgs = ["0", "1", "2", "3", "--dir", dir, "--window", "1d"];
    const random = mulberry32(5);
    let kills = 0;
    // Consumers killed: each start publishes the whole state again (and every window), so
    // the topics hold each key many times, and the sinks beside them, killed too, for a while.
    for (let round = 0; round < 6; round++) {
      const consumer = spawn("consumer.ts", consumerArgs);
      const sinks = round < 2 ? dbs.map((db) => spawn("sink.ts", db.args)) : [];
      await waitFor("the consumer to start", () => consumer.stderr() !== "");
      await pause(200 + random() * 1500);
      for (const sink of sinks) await sink.stop("SIGKILL");
      await consumer.stop("SIGKILL");
      kills += sinks.length + 1;
    }
    const consumer = spawn("consumer.ts", consumerArgs);
    const produced = await within(120_000, "the producer to end", producer.done);
    assert.equal(produced.code, 0, produced.stderr);
    assert.match(produced.stderr, /sent 8000 days/);
    await waitCaughtUp(dir, [0, 1, 2, 3], 120_000);
    assert.equal((await within(30_000, "the consumer to stop", consumer.stop())).code, 0);
    const end = await topicEnds();
    for (const db of dbs) {
      const marks = await killAtMarks(db, end);
      const midway = marks.midway;
      kills += marks.kills;
      console.log(`sink on ${db.label}: ${midway} kills part way through ${end} records`);
      // Observed 4 to 6 of the 7 marks: a kill may land past the next mark, then skipped.
      assert.ok(midway >= 3, `${db.label}: ${midway} kills of the sink landed part way`);
      const sink = spawn("sink.ts", db.args);
      await waitSunk(db);
      const stopped = await within(30_000, "the sink to stop", sink.stop());
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /^sink: stopped; \d+ records, \d+ rows in \d+ transactions/m);
      const windows = await assertDbExact(db, dir);
      // About one a day: the last days of each partition stay open (no --idle-close).
      assert.ok(windows > 7900 && windows < 8000, `${windows} daily windows`);
      // ./p7 sql reads it as a user would.
      const sql = await run("sql.ts", [
        ...db.args,
        "SELECT year, avg FROM month_stats WHERE month = 'July' ORDER BY avg DESC LIMIT 1",
      ]);
      assert.equal(sql.code, 0, sql.stderr);
      assert.match(sql.stdout, /^\{"year":\d{4},"avg":\d+\.\d+\}\n$/);
      assert.equal(sql.stderr, "sql: 1 row\n");
    }
    console.log(`sink: ${kills} kills in all, ${dbs.length} databases exact`);
  } finally {
    // A producer still streaming would write into the next test's topic.
    await producer.stop("SIGKILL");
    for (const db of dbs) await db.close();
    await postgres?.stop();
  }
});

Deno.test("one sink per database; bad databases are one line and stay as they were", async () => {
  await backfill(400, 3);
  const dir = await tempDir();
  const db = join(dir, "p7.db");
  const first = spawn("sink.ts", ["--dir", dir]);
  await waitFor("the sink to start", () => /sink: "/.test(first.stderr()));
  const second = await run("sink.ts", ["--dir", dir]);
  assert.equal(second.code, 1);
  assert.equal(
    second.stderr,
    `error: database "${db}" is fed by another sink (it holds "${db}.lock")\n`,
  );
  assert.equal((await first.stop()).code, 0);

  const bad = await run("sink.ts", ["--db", "mysql://x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --db "mysql:\/\/x": expected sqlite:PATH/);
  // Another schema version, and a database that is not p7's: refused, unchanged.
  const other = join(dir, "other.db");
  const handle = new DatabaseSync(other);
  handle.exec("CREATE TABLE p7_meta (name TEXT PRIMARY KEY, value TEXT)");
  handle.exec("INSERT INTO p7_meta VALUES ('schema_version', '99')");
  handle.close();
  const foreign = join(dir, "foreign.db");
  const handle2 = new DatabaseSync(foreign);
  handle2.exec("CREATE TABLE t (a)");
  handle2.close();
  for (
    const [path, why] of <[string, string][]> [
      [other, "its schema version is 99; this p7 reads version 1"],
      [foreign, "it is not a p7 database (no table p7_meta)"],
    ]
  ) {
    const before = await Deno.readFile(path);
    const result = await run("sink.ts", ["--db", `sqlite:${path}`]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `error: database "${path}": cannot be opened: ${why}\n`);
    assert.deepEqual(await Deno.readFile(path), before);
  }
  const missing = await run("sql.ts", ["--db", `sqlite:${join(dir, "none.db")}`, "SELECT 1"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: database "[^"]+none\.db": cannot be opened: [^\n]+\n$/);
  const query = await run("sql.ts", ["--dir", dir, "SELECT * FROM nope"]);
  assert.equal(query.code, 1);
  assert.equal(query.stderr, "error: query failed: no such table: nope\n");
});

/** Runs the sink in a mount namespace of its own on a tmpfs of `size`: a disk that fills. */
function sinkOnSmallDisk(mount: string, out: string, size: string): Promise<Output> {
  const script = 'mount -t tmpfs -o size="$1" p7-full "$2" && cp "$3"/p7.db* "$2"/ 2>/dev/null; ' +
    `"$4" run --allow-all --no-prompt sink.ts --db "sqlite:$2/p7.db"; status=$?; ` +
    'cp "$2"/p7.db* "$3"/; exit $status';
  return spawnCommand(
    new Deno.Command("unshare", {
      args: ["-m", "sh", "-c", script, "sh", size, mount, out, Deno.execPath()],
      cwd: ROOT,
      env: { KAFKA_BROKERS: BROKERS, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }),
  ).done;
}

/** Sets or clears the immutable flag: a file even root cannot write. */
async function immutable(paths: string[], on: boolean): Promise<boolean> {
  const out = await new Deno.Command("chattr", {
    args: [on ? "+i" : "-i", ...paths],
    stderr: "null",
  })
    .output().catch(() => undefined);
  return out?.success === true;
}

const diskSkip = Deno.uid() === 0 ? undefined : "a full disk (a tmpfs of its own) needs root";
if (diskSkip) console.log(`skipped: ${diskSkip}`);

Deno.test({
  name: "a full disk and a read-only file: one line, exit 1, nothing half-written",
  ignore: diskSkip !== undefined,
  fn: async () => {
    // Enough windows that the database outgrows the disk many times over, while one batch
    // (at most a fetch's 1 MiB of records) fits on it.
    await backfill(40_000, 9);
    const dir = await tempDir();
    const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir, "--window", "1d"]);
    await waitCaughtUp(dir, [0, 1, 2, 3]);
    assert.equal((await consumer.stop()).code, 0);
    const end = await topicEnds();
    // The sink fills a 3 MiB disk part way through the topics.
    const mount = await tempDir();
    const out = await tempDir();
    const full = await sinkOnSmallDisk(mount, out, "3m");
    assert.equal(full.code, 1, full.stderr);
    const lines = full.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, full.stderr);
    assert.equal(
      lines[1],
      `error: database "${mount}/p7.db": cannot be written: database or disk is full`,
    );
    const db = sqliteDb(join(out, "p7.db"));
    const partWay = await sunkOffsets(db);
    assert.ok(partWay > 0 && partWay < end, `${partWay} of ${end} records sunk`);
    // The same database, read-only: refused in one line, not a byte changed.
    const files = [...Deno.readDirSync(out)].map((entry) => join(out, entry.name))
      .filter((path) => /p7\.db(-wal|-shm)?$/.test(path));
    const before = await Promise.all(files.map((path) => Deno.readFile(path)));
    if (!(await immutable(files, true))) {
      console.log("skipped: the read-only half (chattr +i is not supported here)");
    } else {
      try {
        const refused = await run("sink.ts", db.args);
        assert.equal(refused.code, 1, refused.stderr);
        // Refused at the start, before waiting for a record to write.
        assert.equal(
          refused.stderr,
          `error: database "${join(out, "p7.db")}": cannot be opened: ` +
            "attempt to write a readonly database\n",
        );
      } finally {
        await immutable(files, false);
      }
      assert.deepEqual(await Promise.all(files.map((path) => Deno.readFile(path))), before);
    }
    // And with room again, it goes on from where the full disk stopped it: exact.
    const sink = spawn("sink.ts", db.args);
    await waitSunk(db);
    assert.equal((await sink.stop()).code, 0);
    await assertDbExact(db, dir);
    for (const e of Deno.readDirSync(out)) {
      console.log(e.name, Deno.statSync(join(out, e.name)).size);
    }
  },
});
