import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { P7Error } from "../errors.ts";
import { rowOf } from "./rows.ts";
import { openSqlite, querySqlite } from "./sqlite.ts";

const stats = (month: string, count: number) =>
  rowOf(
    "temperature-stats",
    `${month}-2000`,
    JSON.stringify({
      partition: 0,
      month,
      year: "2000",
      count,
      sum: count * 50,
      avg: 50,
      start: "2000-01-01",
      end: `2000-01-${String(count).padStart(2, "0")}`,
      min: 40,
      max: 60,
      sumsq: count * 2600,
    }),
  );

Deno.test("rows and positions go in together, and a failed batch leaves nothing of it", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "p7.db");
  const store = await openSqlite(path);
  await store.apply([stats("January", 3)], new Map([["temperature-stats/0", 4]]), "run-1");
  // A row that cannot be written, after one that could: the whole batch is rolled back.
  const broken = { ...stats("January", 5), values: ["too", "few"] };
  await assert.rejects(
    store.apply([stats("January", 5), broken], new Map([["temperature-stats/0", 9]]), "run-1"),
    (error: unknown) => error instanceof P7Error && /cannot be written/.test(error.message),
  );
  assert.deepEqual([...(await store.positions())], [["temperature-stats/0", 4]]);
  assert.equal(await store.run(), "run-1");
  // A second sink is refused while the first has it open; a reader is not.
  await assert.rejects(openSqlite(path), (error: unknown) => (error as P7Error).code === "LOCKED");
  assert.deepEqual(querySqlite(path, "SELECT month, count FROM month_stats"), [
    { month: "January", count: 3 },
  ]);
  await store.close();
  // Reopened: the same position, and a record read again upserts the same row.
  const again = await openSqlite(path);
  assert.deepEqual([...(await again.positions())], [["temperature-stats/0", 4]]);
  await again.apply([stats("January", 3), stats("January", 3)], new Map(), undefined);
  assert.deepEqual(querySqlite(path, "SELECT count(*) AS n FROM month_stats"), [{ n: 1 }]);
  await again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a database of another schema version is refused and left as it was", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "old.db");
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE p7_meta (name TEXT PRIMARY KEY, value TEXT)");
  db.exec("INSERT INTO p7_meta VALUES ('schema_version', '0')");
  db.close();
  const before = await Deno.readFile(path);
  await assert.rejects(
    openSqlite(path),
    new RegExp(`^P7Error: database "${path}": cannot be opened: its schema version is 0`),
  );
  assert.deepEqual(await Deno.readFile(path), before);
  await Deno.remove(dir, { recursive: true });
});
