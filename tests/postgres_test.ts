/**
 * The sink on a real PostgreSQL server (Debian's, started on a loopback port for the test):
 * a batch's rows and position in one transaction, one sink per database by an advisory
 * lock, refused schemas, an unreachable server as one line, `./p7 sql` read-only, and a
 * restart of the server while the sink runs: the sink ends with one line in bounded time,
 * and a sink started again leaves the database exact.
 */
import assert from "node:assert/strict";
import { P7Error } from "../lib/errors.ts";
import { rowOf } from "../lib/sinks/rows.ts";
import { openPostgres } from "../lib/sinks/postgres.ts";
import { run, type Running, spawn, tempDir, waitCaughtUp, waitFor, within } from "./harness.ts";
import { POSTGRES_MISSING, psqlRows, startPostgres } from "./postgres.ts";
import { assertDbExact, postgresDb, sunkOffsets, topicEnds, waitSunk } from "./sink_check.ts";

if (POSTGRES_MISSING) console.log(`skipped: the PostgreSQL tests: ${POSTGRES_MISSING}`);
const ignore = POSTGRES_MISSING !== undefined;

const checkpoint = (partition: number, offset: number) =>
  rowOf("temperature-stats", `offset-${partition}`, JSON.stringify({ partition, offset }));

Deno.test({
  name: "rows and positions go in together; one sink per database; other schemas refused",
  ignore,
  fn: async () => {
    const postgres = await startPostgres();
    try {
      const store = await openPostgres(postgres.url);
      await store.apply([checkpoint(0, 4)], new Map([["temperature-stats/0", 5]]), "run-1");
      // A row that cannot be written, after one that could: the whole batch is rolled back.
      const broken = { ...checkpoint(1, 2), values: ["not a number", 2] };
      await assert.rejects(
        store.apply([checkpoint(0, 9), broken], new Map([["temperature-stats/0", 11]]), "run-1"),
        (error: unknown) => error instanceof P7Error && /cannot be written/.test(error.message),
      );
      assert.deepEqual([...(await store.positions())], [["temperature-stats/0", 5]]);
      assert.equal(await store.run(), "run-1");
      // The same key twice in one batch: the last wins, as upserts one by one would leave it.
      await store.apply([checkpoint(0, 6), checkpoint(0, 7)], new Map(), undefined);
      assert.deepEqual(await psqlRows(postgres.url, "SELECT * FROM checkpoints"), [
        { partition: 0, offset: 7 },
      ]);
      // A second sink is refused while the first holds the lock; a reader is not.
      await assert.rejects(
        openPostgres(postgres.url),
        (error: unknown) =>
          error instanceof P7Error && error.code === "LOCKED" &&
          error.message ===
            `database ${postgres.url} is fed by another sink (it holds advisory lock 7000001)`,
      );
      const sql = await run("sql.ts", ["--db", postgres.url, 'SELECT "offset" FROM checkpoints']);
      assert.equal(sql.stdout, '{"offset":7}\n');
      // Read-only: a query that would write is refused.
      const write = await run("sql.ts", ["--db", postgres.url, "DELETE FROM checkpoints"]);
      assert.equal(write.code, 1);
      assert.equal(
        write.stderr,
        "error: query failed: cannot execute DELETE in a read-only transaction\n",
      );
      // A sink killed with -9 takes its lock with it.
      await store.close();
      const killed = spawn("sink.ts", ["--db", postgres.url]);
      await waitFor("the sink to start", () => /sink: "/.test(killed.stderr()));
      await killed.stop("SIGKILL");
      const reopened = await openPostgres(postgres.url);
      assert.deepEqual([...(await reopened.positions())], [["temperature-stats/0", 5]]);
      await reopened.close();

      // Another schema version, and tables of p7's names that are not p7's: refused as they are.
      for (
        const [setup, why] of [
          [
            "UPDATE p7_meta SET value = '99' WHERE name = 'schema_version'",
            "its schema version is 99; this p7 reads version 1",
          ],
          ["DROP TABLE p7_meta", "it has table month_stats but no p7_meta: not a p7 database"],
        ]
      ) {
        await psql(postgres.url, setup!);
        const before = await psqlRows(postgres.url, "SELECT * FROM checkpoints");
        const refused = await run("sink.ts", ["--db", postgres.url]);
        assert.equal(refused.code, 1);
        assert.equal(refused.stderr, `error: database ${postgres.url}: cannot be opened: ${why}\n`);
        assert.deepEqual(await psqlRows(postgres.url, "SELECT * FROM checkpoints"), before);
      }
    } finally {
      await postgres.stop();
    }
  },
});

async function psql(url: string, sql: string): Promise<void> {
  const out = await new Deno.Command("psql", {
    args: [url, "-qX", "-v", "ON_ERROR_STOP=1", "-c", sql],
  })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test({
  name: "an unreachable server, a bad URL: one line, no trace",
  ignore,
  fn: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const url = `postgres://p7:secret@127.0.0.1:${port}/p7`;
    const refused = await run("sink.ts", ["--db", url]);
    assert.equal(refused.code, 1);
    // The password is not printed.
    assert.equal(
      refused.stderr,
      `error: database postgres://p7@127.0.0.1:${port}/p7: cannot connect: ` +
        `connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    const query = await run("sql.ts", ["--db", url, "SELECT 1"]);
    assert.equal(query.code, 1);
    assert.match(query.stderr, /^error: database [^\n]+: cannot connect: [^\n]+\n$/);
    const bad = await run("sink.ts", ["--db", "postgres://p7@[bad/p7"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, "error: --db postgres://p7@[bad/p7: not a URL\n");
  },
});

Deno.test({
  name: "a restart of the server while the sink runs: one line in bounded time, then exact",
  ignore,
  fn: async () => {
    const postgres = await startPostgres();
    // Whatever a failure leaves running is killed, or it would write into the next test.
    const children: Running[] = [];
    const started = (child: Running) => (children.push(child), child);
    try {
      const db = postgresDb(postgres.url);
      const dir = await tempDir();
      const producer = started(spawn("producer.ts", [
        "--count",
        "4000",
        "--delay",
        "0.002",
        "--seed",
        "31",
      ]));
      await waitFor("the producer's topics", () => /producer: topic/.test(producer.stderr()));
      const consumer = started(
        spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir, "--window", "1d"]),
      );
      const waits: number[] = [];
      let said = "";
      for (let restart = 0; restart < 2; restart++) {
        const sink = started(spawn("sink.ts", db.args));
        await waitFor("the sink to start", () => /^sink: "/m.test(sink.stderr()));
        // Read through psql: the test's own connection went with the last restart.
        const sunk = async () =>
          Number((await db.rows("SELECT sum(next_offset) AS n FROM sink_offsets"))[0]?.n ?? 0);
        const before = await sunk();
        // The first restart lands while the sink writes; the second one too, unless the
        // sink has caught up by then (the producer may be done): then it lands while it waits.
        const since = performance.now();
        await waitFor(
          "the sink to write",
          async () => await sunk() > before || (restart > 0 && performance.now() - since > 5000),
        ).catch((error) => {
          throw new Error(`${error.message}; the sink said:\n${sink.stderr()}`);
        });
        const restarted = performance.now();
        await postgres.restart();
        const ended = await within(30_000, "the sink to end", sink.done);
        waits.push(Math.round(performance.now() - restarted));
        said = ended.stderr.trimEnd().split("\n").at(-1)!;
        assert.equal(ended.code, 1, ended.stderr);
        assert.match(
          ended.stderr,
          new RegExp(
            `\\nerror: database ${postgres.url.replaceAll("/", "\\/")}: ` +
              `(connection lost|cannot be written): [^\\n]+\\n$`,
          ),
        );
        assert.doesNotMatch(ended.stderr, /^\s+at /m);
      }
      console.log(`sink: ended ${waits.join(" and ")} ms after the server's restarts: ${said}`);
      const produced = await within(120_000, "the producer to end", producer.done);
      assert.equal(produced.code, 0, produced.stderr);
      await waitCaughtUp(dir, [0, 1, 2, 3], 120_000);
      assert.equal((await within(30_000, "the consumer to stop", consumer.stop())).code, 0);
      const sink = started(spawn("sink.ts", db.args));
      await waitSunk(db);
      assert.equal((await within(30_000, "the sink to stop", sink.stop())).code, 0);
      assert.ok(await sunkOffsets(db) === await topicEnds());
      await assertDbExact(db, dir);
      await db.close();
    } finally {
      for (const child of children) await child.stop("SIGKILL");
      await postgres.stop();
    }
  },
});
