import assert from "node:assert/strict";
import { P7Error } from "../errors.ts";
import { parseAnomaly } from "../stats/anomaly.ts";
import {
  anomalyRecords,
  foldStatsRecord,
  orderedTables,
  publicationRequests,
  type StatsRecord,
  statsRecords,
} from "./stats_topic.ts";
import type { PartitionStats } from "../stats/stats.ts";

/** An entry of one day. */
function day(date: string, degrees: number) {
  const [count, sum, avg, min, max, sumsq] = [1, degrees, degrees, degrees, degrees, degrees ** 2];
  return { count, sum, avg, start: date, end: date, min, max, sumsq };
}

const stats: PartitionStats = {
  partition: 1,
  offset: 70,
  months: {
    March: {
      "2001": {
        ...day("2001-03-01", 40),
        count: 2,
        sum: 90,
        avg: 45,
        end: "2001-03-02",
        max: 50,
        sumsq: 4100,
      },
    },
    January: { "2000": day("2000-01-01", 30.5), "2001": day("2001-01-05", 20) },
  },
};

Deno.test("statsRecords: every entry in calendar order, or the changed ones, then the offset", () => {
  const all = statsRecords(stats);
  assert.deepEqual(all.map((r) => r.key), [
    "January-2000",
    "January-2001",
    "March-2001",
    "offset-1",
  ]);
  assert.deepEqual(JSON.parse(all[0]!.value), {
    partition: 1,
    month: "January",
    year: "2000",
    count: 1,
    sum: 30.5,
    avg: 30.5,
    start: "2000-01-01",
    end: "2000-01-01",
    min: 30.5,
    max: 30.5,
    sumsq: 930.25,
  });
  assert.deepEqual(JSON.parse(all.at(-1)!.value), { partition: 1, offset: 70 });
  assert.deepEqual(
    statsRecords(stats, ["March-2001", "May-1999"]).map((r) => r.key),
    ["March-2001", "offset-1"],
  );
});

Deno.test("foldStatsRecord: the latest value per key rebuilds the partition's stats", () => {
  const tables = new Map<number, PartitionStats>();
  const old = {
    ...stats,
    offset: 10,
    months: { January: { "2000": stats.months.January!["2000"]! } },
  };
  for (const { key, value } of [...statsRecords(old), ...statsRecords(stats)]) {
    foldStatsRecord(tables, key, value);
  }
  assert.deepEqual(orderedTables(tables), [{
    partition: 1,
    offset: 70,
    months: { January: stats.months.January, March: stats.months.March },
  }]);
  assert.deepEqual(Object.keys(orderedTables(tables)[0]!.months), ["January", "March"]);
  for (
    const [key, value, why] of [
      ["March-2001", "{", "its value is not JSON"],
      ["offset-1", '{"partition":1,"offset":-1}', "offset -1 is not an offset"],
      ["March-2001", '{"partition":1,"month":"March","year":"2002"}', "it holds March-2002"],
      ["March-2001", '{"partition":"x"}', 'partition "x" is not a partition number'],
      [
        "March-2001",
        JSON.stringify({
          partition: 1,
          month: "March",
          year: "2001",
          ...day("2001-03-01", 1),
          count: 0,
        }),
        "March 2001: count 0 is not a positive integer",
      ],
    ]
  ) {
    assert.throws(() => foldStatsRecord(tables, key!, value!), (error: unknown) => {
      assert.ok(error instanceof P7Error && error.code === "INPUT");
      assert.equal(
        error.message,
        `Cannot read record "${key}" of topic "temperature-stats": ${why}`,
      );
      return true;
    });
  }
});

Deno.test("anomalyRecords: keyed by date, the log's line as value", () => {
  const anomaly = {
    date: "2001-07-04",
    degrees: 99,
    mean: 80,
    std: 5,
    z: 3.8,
    partition: 2,
    offset: 400,
  };
  assert.deepEqual(anomalyRecords([anomaly]), [{
    key: "2001-07-04",
    value: JSON.stringify(anomaly),
  }]);
  assert.deepEqual(parseAnomaly(anomalyRecords([anomaly])[0]!.value), anomaly);
  assert.throws(() => parseAnomaly('{"date":"2001-07-04","degrees":"hot"}'), /degrees "hot"/);
});

Deno.test("publicationRequests: bounded requests, in order, the offset and last anomaly last", () => {
  const records = (prefix: string, count: number, size: number): StatsRecord[] =>
    Array.from({ length: count }, (_, i) => ({ key: `${prefix}${i}`, value: "v".repeat(size) }));
  const bytes = (list: StatsRecord[]) =>
    list.reduce((sum, r) => sum + r.key.length + r.value.length + 64, 0);
  const stats = [...records("March-", 100, 900), { key: "offset-0", value: "{}" }];
  const anomalies = records("2001-03-", 30, 400);
  for (const max of [1_000, 10_000, 50_000, 10_000_000]) {
    const requests = publicationRequests({ stats, anomalies }, max);
    assert.deepEqual(requests.flatMap((r) => r.stats), stats, `stats at ${max}`);
    assert.deepEqual(requests.flatMap((r) => r.anomalies), anomalies, `anomalies at ${max}`);
    for (const request of requests) {
      for (const part of [request.stats, request.anomalies]) {
        assert.ok(part.length <= 1 || bytes(part) <= max, `a request of ${bytes(part)} > ${max}`);
      }
    }
    assert.equal(requests.at(-1)!.stats.at(-1)!.key, "offset-0");
    assert.equal(requests.at(-1)!.anomalies.at(-1)!.key, "2001-03-29");
  }
  assert.equal(publicationRequests({ stats, anomalies }, 10_000_000).length, 1);
  assert.equal(publicationRequests({ stats, anomalies }, 10_000).length, 10);
  // A record larger than the bound goes alone.
  const big = [{ key: "k", value: "x".repeat(5_000) }, { key: "offset-1", value: "{}" }];
  assert.deepEqual(publicationRequests({ stats: big, anomalies: [] }, 1_000).map((r) => r.stats), [
    [big[0]],
    [big[1]],
  ]);
  assert.deepEqual(publicationRequests({ stats: [], anomalies: [] }, 1_000), [{
    stats: [],
    anomalies: [],
  }]);
});
