/**
 * The dashboard's HTTP API against the real broker and real partition files written by the
 * real producer and consumer: assets, 404s for anything else, the partitions, the lag and
 * its rates, the charts, and the events when a file changes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  consume,
  type Dashboard,
  monthsOnDisk,
  pointCount,
  startDashboard,
} from "./dashboard_harness.ts";
import {
  backfill,
  endOffsets,
  readAll,
  run,
  type Running,
  spawn,
  tempDir,
  waitFor,
} from "./harness.ts";

/** Sends a request line exactly as given (no client normalizes it) and returns the status. */
async function rawStatus(port: number, target: string): Promise<number> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  await connection.write(
    new TextEncoder().encode(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    ),
  );
  const response = await new Response(connection.readable).text();
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1]);
}

async function getJson(url: string, status = 200): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  assert.equal(response.status, status, url);
  assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
  return await response.json();
}

/** The server-sent events of one connection, parsed as they come. */
interface Events {
  /** Waits for the next event of type `type` whose data passes `test`. */
  next(type: string, test: (data: unknown) => boolean, ms?: number): Promise<unknown>;
  close(): Promise<void>;
}

async function openEvents(url: string): Promise<Events> {
  const response = await fetch(url + "/events");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const read = async (ms: number): Promise<string> => {
    const timer = setTimeout(() => reader.cancel(), ms);
    try {
      const { value, done } = await reader.read();
      if (done) throw new Error(`no event within ${ms} ms`);
      return value;
    } finally {
      clearTimeout(timer);
    }
  };
  // The stream opens with a comment, so the page knows it is connected.
  while (!buffer.includes(": connected\n\n")) buffer += await read(5000);
  buffer = buffer.slice(buffer.indexOf(": connected\n\n") + 13);
  return {
    async next(type, test, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (true) {
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const kind = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (kind === type && data !== undefined && test(JSON.parse(data))) {
            return JSON.parse(data);
          }
        }
        buffer += await read(Math.max(1, deadline - Date.now()));
      }
    },
    close: () => reader.cancel(),
  };
}

interface LagRow {
  partition: number;
  state: string;
  end: number | null;
  checkpoint: number | null;
  lag: number | null;
  producedPerSec: number | null;
  consumedPerSec: number | null;
}

Deno.test("the API serves the files and the lag, and an event for each change", async (t) => {
  await backfill(2000, 5);
  const ends = await endOffsets();
  const dir = await tempDir();
  await consume(dir, [0, 1, 2]);
  // An empty, valid checkpoint: partition 3 is all lag until its consumer runs.
  await Deno.writeTextFile(join(dir, "partition-3.json"), '{"partition": 3, "offset": 0}\n');
  const started = performance.now();
  const dashboard = await startDashboard(["--dir", dir]);
  const { url, port } = dashboard;
  try {
    await t.step("the page and the vega bundles are served by the server itself", async () => {
      const page = await fetch(url + "/");
      assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
      assert.match(page.headers.get("content-security-policy")!, /default-src 'self'/);
      const html = await page.text();
      assert.match(html, /<title>p7 dashboard: live temperatures<\/title>/);
      assert.doesNotMatch(html, /https?:\/\//, "nothing from another host");
      for (
        const [path, global] of [
          ["/vendor/vega.min.js", "vega"],
          ["/vendor/vega-lite.min.js", "vegaLite"],
          ["/vendor/vega-embed.min.js", "vegaEmbed"],
        ]
      ) {
        const response = await fetch(url + path);
        assert.equal(response.status, 200, path);
        assert.equal(response.headers.get("content-type"), "text/javascript; charset=utf-8");
        const script = await response.text();
        assert.ok(script.length > 50_000, `${path} is the whole bundle`);
        assert.ok(script.includes(`.${global}=`), `${path} defines ${global}`);
      }
      for (const path of ["/app.js", "/style.css"]) {
        const response = await fetch(url + path);
        assert.equal(response.status, 200, path);
        await response.body?.cancel();
      }
    });

    await t.step("any other path is 404, however it is spelled", async () => {
      assert.equal(await rawStatus(port, "/"), 200);
      assert.equal(await rawStatus(port, "/vendor/vega.min.js?v=6"), 200);
      for (
        const target of [
          "/../deno.json",
          "/%2e%2e/deno.json",
          "/%2E%2E/%2E%2E/etc/passwd",
          "/vendor/../../deno.json",
          "/vendor/%2e%2e/%2e%2e/deno.json",
          "/vendor/..%2f..%2fdeno.json",
          "/vendor/..%5c..%5cdeno.json",
          "/vendor/%2e%2e/app.js",
          "/./app.js",
          "//etc/passwd",
          "/%2fetc%2fpasswd",
          "/dashboard/index.html",
          "/index.html",
          "/dashboard.ts",
          "/deno.json",
          "/vendor/",
          "/app.js/",
          "/vendor/vega.min.js%00",
          "/api",
          "/api/lag/",
          "/API/LAG",
        ]
      ) {
        assert.equal(await rawStatus(port, target), 404, target);
      }
      const post = await fetch(url + "/api/lag", { method: "POST" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
    });

    await t.step("/api/partitions has the content of every partition file", async () => {
      const body = await getJson(url + "/api/partitions");
      assert.equal(body.dir, dir);
      const onDisk = await readAll(dir);
      assert.deepEqual(
        body.partitions,
        onDisk.map(({ partition, offset, ...months }) => ({
          partition,
          file: `partition-${partition}.json`,
          offset,
          months,
        })),
      );
    });

    await t.step("/api/lag has each partition's end offset, checkpoint and lag", async () => {
      const body = await getJson(url + "/api/lag") as { partitions: LagRow[] };
      assert.deepEqual(
        body.partitions.map(({ partition, state, end, checkpoint, lag }) => ({
          partition,
          state,
          end,
          checkpoint,
          lag,
        })),
        ends.map((end, partition) => ({
          partition,
          state: "ok",
          end,
          checkpoint: partition === 3 ? 0 : end,
          lag: partition === 3 ? end : 0,
        })),
      );
      for (const row of body.partitions) assert.equal(row.producedPerSec ?? 0, 0);
    });

    await t.step("/api/charts has a spec with a mark per point of the files", async () => {
      const body = await getJson(url + "/api/charts") as Record<
        string,
        { data: { values: unknown[] } }
      >;
      assert.equal(body.temperature!.data.values.length, pointCount(await monthsOnDisk(dir)));
      assert.ok(body.months!.data.values.length >= 1);
      assert.deepEqual(
        body.lag!.data.values.map((value) => (value as { lag: number }).lag),
        [0, 0, 0, ends[3]],
      );
    });

    await t.step("the consumer's writes are events, and the lag follows", async () => {
      const events = await openEvents(url);
      try {
        // Rates need samples at least a second apart.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, 1100 - (performance.now() - started)))
        );
        await consume(dir, [3]);
        await events.next(
          "partition",
          (data) => (data as { partitions: number[] }).partitions.includes(3),
        );
        const body = await getJson(url + "/api/lag") as { partitions: LagRow[] };
        const seconds = (performance.now() - started) / 1000;
        const row = body.partitions[3]!;
        assert.deepEqual([row.state, row.checkpoint, row.lag], ["ok", ends[3], 0]);
        // Consumed from 0 to the end between the first sample and this one.
        assert.ok(row.consumedPerSec! >= ends[3]! / seconds, `${row.consumedPerSec}/s`);
        assert.ok(row.consumedPerSec! <= ends[3]! / 1, `${row.consumedPerSec}/s`);
        assert.equal(body.partitions[0]!.consumedPerSec, 0);

        await Deno.writeTextFile(join(dir, "partition-1.json"), "{ not json");
        await events.next(
          "partition",
          (data) => (data as { partitions: number[] }).partitions.includes(1),
        );
      } finally {
        await events.close();
      }
    });

    await t.step("an unreadable file is marked and the rest is still served", async () => {
      const files = await getJson(url + "/api/partitions") as {
        partitions: Record<string, unknown>[];
      };
      assert.deepEqual(files.partitions.map((entry) => "error" in entry), [
        false,
        true,
        false,
        false,
      ]);
      assert.match(String(files.partitions[1]!.error), /not valid JSON/);
      const lag = await getJson(url + "/api/lag") as { partitions: LagRow[] };
      assert.deepEqual(lag.partitions.map((row) => row.state), ["ok", "unreadable", "ok", "ok"]);
      const charts = await getJson(url + "/api/charts") as Record<string, unknown>;
      assert.ok(charts.temperature !== null && charts.months !== null && charts.lag !== null);
    });
  } finally {
    const result = await dashboard.process.stop();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /dashboard: stopped/);
  }
});

Deno.test("while the stream is live, the lag is never negative", async () => {
  const producer = spawn("producer.ts", ["--count", "1500", "--delay", "0.002", "--seed", "9"]);
  const dir = await tempDir();
  let consumer: Running | undefined;
  let dashboard: Dashboard | undefined;
  try {
    await waitFor("the topic", () => /recreated/.test(producer.stderr()));
    consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
    dashboard = await startDashboard(["--dir", dir]);
    const seen = new Set<string>();
    let answers = 0;
    let produced = false;
    producer.done.then(() => produced = true);
    while (!produced) {
      const body = await getJson(dashboard.url + "/api/lag") as { partitions: LagRow[] };
      for (const row of body.partitions) {
        seen.add(row.state);
        assert.ok(row.lag === null || row.lag >= 0, JSON.stringify(row));
      }
      answers++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal((await producer.done).code, 0);
    assert.ok(answers > 20, `${answers} answers`);
    assert.ok(seen.has("ok"), [...seen].join());
    assert.equal(seen.has("ahead"), false);
  } finally {
    await producer.stop();
    if (consumer) assert.equal((await consumer.stop()).code, 0);
    if (dashboard) assert.equal((await dashboard.process.stop()).code, 0);
  }
});

Deno.test("no folder yet and no broker: an empty state, an error for the lag, then files", async () => {
  const dir = join(await tempDir(), "later");
  const dashboard = await startDashboard(["--dir", dir, "--brokers", "127.0.0.1:1"]);
  try {
    assert.deepEqual(await getJson(dashboard.url + "/api/partitions"), { dir, partitions: [] });
    const lag = await getJson(dashboard.url + "/api/lag", 503);
    assert.deepEqual(lag.partitions, []);
    assert.match(String(lag.error), /^cannot reach Kafka at 127\.0\.0\.1:1 /);
    assert.deepEqual(await getJson(dashboard.url + "/api/charts"), {
      temperature: null,
      months: null,
      lag: null,
      rolling: null,
    });
    // No windows counted: no rolling mean, and no late value.
    assert.deepEqual(await getJson(dashboard.url + "/api/late"), { total: 0, latest: [] });
    assert.deepEqual(await getJson(dashboard.url + "/api/rolling", 404), {
      error: "no daily windows of this series (consumer --window 1d)",
    });
    const events = await openEvents(dashboard.url);
    try {
      await Deno.mkdir(dir);
      await Deno.writeTextFile(join(dir, "partition-2.json"), '{"partition": 2, "offset": 5}\n');
      await events.next(
        "partition",
        (data) => (data as { partitions: number[] }).partitions.includes(2),
      );
    } finally {
      await events.close();
    }
    const files = await getJson(dashboard.url + "/api/partitions");
    assert.deepEqual(files.partitions, [{
      partition: 2,
      file: "partition-2.json",
      offset: 5,
      months: {},
    }]);
  } finally {
    assert.equal((await dashboard.process.stop()).code, 0);
  }
});

Deno.test("bad flags and a busy port are one-line errors", async () => {
  const badPort = await run("dashboard.ts", ["--port", "http"]);
  assert.equal(badPort.code, 2);
  assert.equal(badPort.stderr, 'error: --port "http" is not an integer\n');
  const unknown = await run("dashboard.ts", ["--colour"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: Unknown option '--colour'\n$/);
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const result = await run("dashboard.ts", ["--port", String(busy.addr.port)]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${busy.addr.port}: `),
    );
    assert.equal(result.stderr.split("\n").length, 2, result.stderr);
  } finally {
    busy.close();
  }
});
