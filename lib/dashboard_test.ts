import assert from "node:assert/strict";
import {
  ASSETS,
  changedPartitions,
  loadAssets,
  partitionsBody,
  requestPath,
  sseEvent,
} from "./dashboard.ts";

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
