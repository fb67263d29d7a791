import assert from "node:assert/strict";
import { P7Error } from "../errors.ts";
import { createSql, lastByKey, POSTGRES, rowOf, SQLITE, TABLES, upsertSql } from "./rows.ts";

const monthStats = TABLES.find((t) => t.name === "month_stats")!;

Deno.test("one description makes each dialect's table and upsert", () => {
  assert.equal(
    createSql(TABLES.find((t) => t.name === "checkpoints")!, SQLITE),
    'CREATE TABLE IF NOT EXISTS checkpoints ("partition" INTEGER NOT NULL, "offset" INTEGER ' +
      'NOT NULL, PRIMARY KEY ("partition"))',
  );
  assert.match(createSql(monthStats, POSTGRES), /"sum" DOUBLE PRECISION NOT NULL/);
  assert.match(
    createSql(monthStats, POSTGRES),
    /PRIMARY KEY \("station", "measure", "month", "year"\)/,
  );
  const upsert = upsertSql(monthStats, POSTGRES);
  assert.match(
    upsert,
    /VALUES \(\$1, \$2, .*\$13\) ON CONFLICT \("station", "measure", "month", "year"\)/,
  );
  assert.match(
    upsert,
    /DO UPDATE SET "count" = excluded."count", .*"partition" = excluded."partition"$/,
  );
  assert.doesNotMatch(upsert, /"station" = excluded/);
  assert.equal((upsertSql(monthStats, SQLITE).match(/\?/g) ?? []).length, 13);
  // Several rows in one statement: the second row's placeholders follow the first's.
  assert.match(upsertSql(monthStats, POSTGRES, 2), /VALUES \(\$1, .*\$13\), \(\$14, .*\$26\) ON/);
});

Deno.test("a batch's rows, the last of each key only, each table apart", () => {
  const checkpoint = (partition: number, offset: number) =>
    rowOf("temperature-stats", `offset-${partition}`, JSON.stringify({ partition, offset }));
  const anomaly = rowOf(
    "temperature-anomalies",
    "2000-07-01",
    JSON.stringify({
      partition: 0,
      offset: 3,
      date: "2000-07-01",
      degrees: 99,
      mean: 80,
      std: 5,
      z: 3.8,
    }),
  );
  const tables = lastByKey([checkpoint(0, 5), checkpoint(1, 7), anomaly, checkpoint(0, 9)]);
  assert.deepEqual(
    [...tables].map(([table, rows]) => [table.name, rows.map((r) => r.values)]),
    [["checkpoints", [[1, 7], [0, 9]]], ["anomalies", [anomaly.values]]],
  );
});

const entry = {
  count: 31,
  sum: 2581.85,
  avg: 2581.85 / 31,
  start: "1995-07-01",
  end: "1995-07-31",
  min: 72.9,
  max: 94.9,
  sumsq: 215954.77,
};

Deno.test("each topic's records give the row of their key", () => {
  const course = rowOf(
    "temperature-stats",
    "July-1995",
    JSON.stringify({ partition: 1, month: "July", year: "1995", ...entry }),
  );
  assert.equal(course.table.name, "month_stats");
  assert.deepEqual(course.values, [
    "default",
    "degrees",
    "July",
    1995,
    31,
    2581.85,
    2581.85 / 31,
    72.9,
    94.9,
    215954.77,
    "1995-07-01",
    "1995-07-31",
    1,
  ]);
  const time = { ...entry, start: "2013-07-01T00:00:00Z", end: "2013-07-31T23:00:00Z" };
  const station = rowOf(
    "temperature-stats",
    "JFK/humidity/July-2013",
    JSON.stringify({
      partition: 3,
      station: "JFK",
      measure: "humidity",
      month: "July",
      year: "2013",
      ...time,
    }),
  );
  assert.deepEqual(station.values.slice(0, 4), ["JFK", "humidity", "July", 2013]);
  const offset = rowOf("temperature-stats", "offset-2", '{"partition":2,"offset":1053}');
  assert.deepEqual([offset.table.name, offset.values], ["checkpoints", [2, 1053]]);
  const anomaly = rowOf(
    "temperature-anomalies",
    "2023-09-21",
    '{"date":"2023-09-21","degrees":41.9,"mean":71.9,"std":8.4,"z":-3.58,"partition":0,"offset":3294}',
  );
  assert.deepEqual(anomaly.values, [
    "default",
    "degrees",
    "2023-09-21",
    41.9,
    71.9,
    8.4,
    -3.58,
    0,
    3294,
  ]);
  const key = "JFK/temperature/1d/2013-07-04T00:00:00Z";
  const window = rowOf(
    "temperature-windows",
    key,
    JSON.stringify({
      key,
      series: "JFK/temperature",
      size: "1d",
      start: "2013-07-04T00:00:00Z",
      end: "2013-07-05T00:00:00Z",
      count: 24,
      sum: 1900,
      avg: 79.17,
      min: 71,
      max: 89,
      final: true,
      closedBy: "stream time",
      partition: 3,
      offset: 4321,
    }),
  );
  assert.deepEqual(window.values.slice(0, 5), [
    "JFK",
    "temperature",
    "1d",
    "2013-07-04T00:00:00Z",
    "2013-07-05T00:00:00Z",
  ]);
  assert.equal(window.values[10], true);
});

Deno.test("a record p7 did not write, or of another topic, is an INPUT error", () => {
  const input = (error: unknown) => error instanceof P7Error && error.code === "INPUT";
  assert.throws(() => rowOf("temperature-stats", "July-1995", "not json"), input);
  assert.throws(
    () =>
      rowOf(
        "temperature-stats",
        "June-1995",
        JSON.stringify({ partition: 1, month: "July", year: "1995", ...entry }),
      ),
    /it holds July-1995/,
  );
  assert.throws(
    () => rowOf("temperatures", "July", "x"),
    /topic "temperatures" is not one the sink reads/,
  );
});
