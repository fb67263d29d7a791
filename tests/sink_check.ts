/**
 * What the sink tests check of a database, whichever kind: the sink's position against the
 * topics' ends, and every table against the statistics recomputed from `temperatures` and
 * the windows of the consumers' logs. A database is read through `Rows`, a client we did
 * not write (node:sqlite's own reader, psql).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { endOffsets, recount, waitFor } from "./harness.ts";
import { psqlRows } from "./postgres.ts";
// @ts-types="npm:@types/pg@8.23.1"
import pg from "pg";

/** The topics the sink reads. */
export const SINK_TOPICS = ["temperature-stats", "temperature-anomalies", "temperature-windows"];

/** A database the test reads: the sink's arguments for it, and its rows of a query. */
export interface TestDb {
  label: string;
  args: string[];
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** The sum of the sink's next offsets, read often while a sink runs. */
  sunk(): Promise<number>;
  close(): Promise<void>;
}

const SUNK = "SELECT sum(next_offset) AS n FROM sink_offsets";

/** The SQLite database at `path`, read with node:sqlite read-only. */
export function sqliteDb(path: string): TestDb {
  const rows = (sql: string) => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return Promise.resolve(db.prepare(sql).all() as Record<string, unknown>[]);
    } finally {
      db.close();
    }
  };
  return {
    label: "SQLite",
    args: ["--db", `sqlite:${path}`],
    rows,
    sunk: async () => Number((await rows(SUNK))[0]?.n ?? 0),
    close: () => Promise.resolve(),
  };
}

/**
 * The PostgreSQL database at `url`, read with psql; the position, polled every few
 * milliseconds while a sink runs, through one connection (a psql takes 40 ms or more).
 */
export function postgresDb(url: string): TestDb {
  // Connected again after a failure: the server may have restarted.
  let client: Promise<pg.Client> | undefined;
  const connect = async () => {
    const fresh = new pg.Client({ connectionString: url });
    fresh.on("error", () => {});
    await fresh.connect();
    return fresh;
  };
  return {
    label: "PostgreSQL",
    args: ["--db", url],
    rows: (sql) => psqlRows(url, sql),
    sunk: async () => {
      const connection = client ??= connect();
      try {
        return Number((await (await connection).query(SUNK)).rows[0]?.n ?? 0);
      } catch (error) {
        client = undefined;
        (await connection.catch(() => undefined))?.end().catch(() => {});
        throw error;
      }
    },
    close: async () => {
      await (await client?.catch(() => undefined))?.end();
    },
  };
}

/** The sum of the sink's next offsets (0 before its tables exist). */
export async function sunkOffsets(db: TestDb): Promise<number> {
  try {
    return await db.sunk();
  } catch {
    return 0;
  }
}

/** The sum of the end offsets of the topics the sink reads. */
export async function topicEnds(): Promise<number> {
  let end = 0;
  for (const topic of SINK_TOPICS) end += (await endOffsets(topic)).reduce((a, b) => a + b, 0);
  return end;
}

/** Waits until the sink's position is each topic partition's end. */
export async function waitSunk(db: TestDb): Promise<void> {
  const ends = new Map<string, number>();
  for (const topic of SINK_TOPICS) {
    (await endOffsets(topic)).forEach((end, p) => end > 0 && ends.set(`${topic}/${p}`, end));
  }
  await waitFor(`the sink to reach the topics' ends in ${db.label}`, async () => {
    let at: Record<string, unknown>[];
    try {
      at = await db.rows("SELECT * FROM sink_offsets");
    } catch {
      return false;
    }
    const got = new Map(at.map((r) => [`${r.topic}/${r.partition}`, Number(r.next_offset)]));
    return [...ends].every(([key, end]) => got.get(key) === end);
  }, 60_000);
}

/**
 * Checks every table of `db` against the recount of `temperatures` and the consumers' window
 * logs in `dir`: each row there, no other row. Returns the number of daily windows.
 */
export async function assertDbExact(db: TestDb, dir: string): Promise<number> {
  const want = await recount();
  const expected = new Map<string, Record<string, unknown>>();
  for (const file of want.files) {
    for (const [month, years] of Object.entries(file)) {
      if (month === "partition" || month === "offset" || month === "windows") continue;
      for (const [year, entry] of Object.entries(years as Record<string, object>)) {
        expected.set(`${month}-${year}`, { ...entry, partition: file.partition });
      }
    }
  }
  const got = await db.rows("SELECT * FROM month_stats");
  assert.equal(got.length, expected.size, `${db.label}: one row per month and year, no more`);
  for (const row of got) {
    const where = `${db.label} ${row.month}-${row.year}`;
    assert.equal(row.station, "default");
    assert.equal(row.measure, "degrees");
    const entry = expected.get(`${row.month}-${row.year}`) as Record<string, number | string>;
    assert.ok(entry !== undefined, `${where} is not in the recount`);
    for (const column of ["count", "start", "end", "min", "max", "partition"]) {
      assert.equal(row[column], entry[column], `${where} ${column}`);
    }
    assert.ok(Math.abs(Number(row.sum) - Number(entry.sum)) < 1e-6, where);
  }
  const anomalies = want.anomalies.flat();
  assert.ok(anomalies.length > 0, "the days have anomalies");
  const gotAnomalies = await db.rows("SELECT * FROM anomalies ORDER BY time");
  assert.deepEqual(
    gotAnomalies.map((a) => [a.time, a.value, a.partition, a.offset]),
    anomalies.map((a) => [a.date, a.degrees, a.partition, a.offset])
      .sort((a, b) => String(a[0]) < String(b[0]) ? -1 : 1),
    `${db.label}: anomalies`,
  );
  // The consumers' checkpoints, as the offset records give them: the topic's end.
  assert.deepEqual(
    (await db.rows('SELECT * FROM checkpoints ORDER BY "partition"')).map((r) => r.offset),
    await endOffsets(),
    `${db.label}: checkpoints`,
  );
  // The windows: each closed window of the logs once, final.
  const logged = new Map<string, Record<string, unknown>>();
  for (const p of [0, 1, 2, 3]) {
    const text = await Deno.readTextFile(join(dir, `windows-${p}.jsonl`)).catch(() => "");
    for (const line of text.split("\n").filter((l) => l !== "")) {
      const window = JSON.parse(line);
      logged.set(window.key, window);
    }
  }
  const windows = await db.rows("SELECT * FROM windows WHERE final");
  assert.equal(windows.length, logged.size, `${db.label}: final windows`);
  for (const w of windows) {
    const key = `${w.station}/${w.measure}/${w.size}/${w.start}`;
    const want = logged.get(key);
    assert.ok(want !== undefined, `${db.label}: ${key} is not in the logs`);
    assert.deepEqual([w.count, w.min, w.max, w.end], [want.count, want.min, want.max, want.end]);
  }
  return logged.size;
}
