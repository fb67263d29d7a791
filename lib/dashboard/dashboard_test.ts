import assert from "node:assert/strict";
import {
  anomaliesBody,
  ASSETS,
  changedPartitions,
  extremesBody,
  LATEST_ANOMALIES,
  loadAssets,
  partitionsBody,
  requestPath,
  sseEvent,
} from "./dashboard.ts";
import type { MonthTable } from "../stats/stats.ts";

Deno.test("requestPath keeps the path as sent: no query, no decoding, no dot resolution", () => {
  const cases: [string, string][] = [
    ["http://127.0.0.1:8000/", "/"],
    ["http://127.0.0.1:8000", "/"],
    ["http://localhost:8000/api/lag?x=1#top", "/api/lag"],
    ["http://[::1]:8000/vendor/vega.min.js", "/vendor/vega.min.js"],
    ["http://h/vendor/../app.js", "/vendor/../app.js"],
    ["http://h/%2e%2e/deno.json", "/%2e%2e/deno.json"],
    ["http://h//etc/passwd", "//etc/passwd"],
    ["http://h/?/app.js", "/"],
  ];
  for (const [url, path] of cases) assert.equal(requestPath(url), path, url);
});

Deno.test("only the listed paths are assets, and every one of them can be read", async () => {
  assert.deepEqual(Object.keys(ASSETS).sort(), [
    "/",
    "/app.js",
    "/style.css",
    "/vendor/vega-embed.min.js",
    "/vendor/vega-lite.min.js",
    "/vendor/vega.min.js",
  ]);
  const assets = await loadAssets();
  assert.equal(assets.size, 6);
  assert.match(assets.get("/")!.type, /^text\/html/);
  const page = new TextDecoder().decode(assets.get("/")!.body);
  for (
    const path of Object.keys(ASSETS).filter((path) =>
      path.endsWith(".js") || path.endsWith(".css")
    )
  ) {
    assert.ok(page.includes(`"${path}"`), `the page loads ${path}`);
  }
  for (
    const [path, global] of [["vega", "vega"], ["vega-lite", "vegaLite"], [
      "vega-embed",
      "vegaEmbed",
    ]]
  ) {
    const bundle = new TextDecoder().decode(assets.get(`/vendor/${path}.min.js`)!.body);
    // The browser build (UMD), which defines a global, not the ES module build.
    assert.ok(bundle.includes(`.${global}=`), `${path} defines ${global}`);
  }
});

Deno.test("sseEvent frames one event with its data as one line of JSON", () => {
  assert.equal(
    sseEvent("partition", { partitions: [0, 2] }),
    'event: partition\ndata: {"partitions":[0,2]}\n\n',
  );
  assert.equal(sseEvent("lag", { error: "a\nb" }), 'event: lag\ndata: {"error":"a\\nb"}\n\n');
});

Deno.test("changedPartitions: partition files only, not their temporary files", () => {
  assert.deepEqual(
    changedPartitions([
      "/data/files/partition-2.json.4242.1a2b3c4d.tmp",
      "/data/files/partition-2.json",
      "/data/files/partition-10.json",
      "/data/files/partition-0.json",
      "/data/files/partition-0.json",
      "/data/files/partition-1.lock",
      "/data/files/rejected-1.jsonl",
      "/data/files/month.svg",
      "/data/files/partition-x.json",
    ]),
    [0, 2, 10],
  );
  assert.deepEqual(changedPartitions([]), []);
});

Deno.test("partitionsBody: each file's content by partition, or why it cannot be read", () => {
  const months = {
    March: {
      "1990": {
        count: 1,
        sum: 40,
        avg: 40,
        start: "1990-03-01",
        end: "1990-03-01",
        min: 40,
        max: 40,
        sumsq: 1600,
      },
    },
  };
  assert.deepEqual(
    partitionsBody("out", [
      { partition: 0, path: "out/partition-0.json", stats: { partition: 0, offset: 3, months } },
      { partition: 1, path: "out/partition-1.json", error: "not valid JSON" },
    ]),
    {
      dir: "out",
      partitions: [
        { partition: 0, file: "partition-0.json", offset: 3, months },
        { partition: 1, file: "partition-1.json", error: "not valid JSON" },
      ],
    },
  );
  assert.deepEqual(partitionsBody("out", []), { dir: "out", partitions: [] });
});

function entry(year: string, min: number, avg: number, max: number) {
  const date = `${year}-05-01`;
  return { count: 1, sum: avg, avg, start: date, end: date, min, max, sumsq: avg * avg };
}

Deno.test("extremesBody: each month's latest year and its records over all years", () => {
  const stats = (partition: number, months: MonthTable) => ({
    partition,
    path: `partition-${partition}.json`,
    stats: { partition, offset: 9, months },
  });
  const body = extremesBody([
    stats(0, { May: { "2001": entry("2001", 40, 60, 95), "2003": entry("2003", 50, 62, 80) } }),
    { partition: 1, path: "partition-1.json", error: "not valid JSON" },
    stats(2, {
      May: { "2002": entry("2002", 35, 61, 85) },
      March: { "1999": entry("1999", 1, 2, 3) },
    }),
  ]);
  assert.deepEqual(body, {
    months: [
      {
        month: "March",
        year: "1999",
        min: 1,
        avg: 2,
        max: 3,
        low: { year: "1999", degrees: 1 },
        high: { year: "1999", degrees: 3 },
      },
      {
        month: "May",
        year: "2003",
        min: 50,
        avg: 62,
        max: 80,
        low: { year: "2002", degrees: 35 },
        high: { year: "2001", degrees: 95 },
      },
    ],
  });
  assert.deepEqual(extremesBody([]), { months: [] });
});

Deno.test("anomaliesBody: how many, and the latest first", () => {
  const anomaly = (day: number) => ({
    date: `2000-01-${String(day).padStart(2, "0")}`,
    degrees: 1,
    mean: 30,
    std: 5,
    z: -5.8,
    partition: day % 4,
    offset: day,
  });
  const all = Array.from({ length: 25 }, (_, i) => anomaly(i + 1));
  const body = anomaliesBody([...all.slice(10), ...all.slice(0, 10)]);
  assert.equal(body.total, 25);
  assert.equal(body.latest.length, LATEST_ANOMALIES);
  assert.deepEqual(body.latest.map((a) => a.offset), all.slice(5).map((a) => a.offset).reverse());
});
