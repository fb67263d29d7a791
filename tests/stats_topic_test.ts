/**
 * The statistics published back into Kafka: after consumers killed with `kill -9` and
 * restarted, the topic's latest values rebuild the four files exactly; plot, dashboard and
 * status read it as they read the files; a reader started mid-run catches up and follows;
 * kcat reads it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createKafka, PARTITIONS, recreateTopic } from "../lib/kafka/kafka.ts";
import { fetchStats, STATS_TOPIC, STATS_TOPIC_CONFIG } from "../lib/kafka/stats_topic.ts";
import { startDashboard } from "./dashboard_harness.ts";
import {
  BROKERS,
  readAll,
  readAnomalies,
  recount,
  run,
  spawn,
  tempDir,
  waitCaughtUp,
  waitFor,
  waitOffsets,
} from "./harness.ts";

const decoder = new TextDecoder();
/** Anomalies after one earlier year, beyond 2 deviations: a run of two years has some. */
const RULE = ["--anomaly-years", "1", "--anomaly-sigma", "2"];
const brokers = BROKERS.split(",");

/** The topic's latest values as the files they mirror, in the files' plain JSON shape. */
async function fromTopic(): Promise<Record<string, unknown>[]> {
  const files = await fetchStats(brokers, "p7-test");
  return files.map((file) => {
    assert.ok("stats" in file);
    const { partition, offset, months } = file.stats;
    return { partition, offset, ...months };
  });
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return await response.json();
}

Deno.test("after kill -9s the topic rebuilds the four files; plot, dashboard and status read it alike", async () => {
  const dir = await tempDir();
  const producer = spawn("producer.ts", ["--delay", "0.002", "--seed", "31"]);
  await waitFor("the producer to recreate the topics", () => /beside it/.test(producer.stderr()));
  let follower: Awaited<ReturnType<typeof startDashboard>> | undefined;
  try {
    for (let kill = 0; kill < 4; kill++) {
      const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir, ...RULE]);
      await waitFor("the consumer to start", () => /published to/.test(consumer.stderr()));
      await new Promise((resolve) => setTimeout(resolve, 700 + kill * 300));
      await consumer.stop("SIGKILL");
      // A reader started mid-run catches up with what is there, then follows.
      follower ??= await startDashboard(["--from", "kafka", "--dir", dir]);
    }
    const stopped = await producer.stop("SIGINT");
    assert.equal(stopped.code, 0, stopped.stderr);
    const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir, ...RULE]);
    await waitCaughtUp(dir, [0, 1, 2, 3]);
    const finished = await consumer.stop("SIGINT");
    assert.equal(finished.code, 0, finished.stderr);

    const files = await readAll(dir);
    const expected = await recount(undefined, undefined, { sigma: 2, years: 1 });
    assert.deepEqual(files, expected.files);
    assert.deepEqual(await readAnomalies(dir), expected.anomalies);
    assert.ok(expected.anomalies.flat().length > 0, "no anomaly to publish");
    assert.deepEqual(await fromTopic(), files);

    // The follower saw it all, and answers what a dashboard of the folder answers.
    const byFolder = await startDashboard(["--dir", dir]);
    try {
      const api = (dashboard: { url: string }) => getJson(`${dashboard.url}/api/partitions`);
      await waitFor("the following dashboard to reach the files' offsets", async () => {
        const body = await api(follower!) as { partitions: { offset: number }[] };
        return body.partitions.map((p) => p.offset).join() === files.map((f) => f.offset).join();
      });
      const [folder, topic] = [await api(byFolder), await api(follower!)] as {
        partitions: unknown;
      }[];
      assert.deepEqual(topic!.partitions, folder!.partitions);
      const charts = (dashboard: { url: string }) => getJson(`${dashboard.url}/api/charts`);
      const [folderCharts, topicCharts] = [await charts(byFolder), await charts(follower!)] as {
        temperature: unknown;
        months: unknown;
      }[];
      assert.ok(folderCharts!.temperature !== null);
      assert.deepEqual(topicCharts!.temperature, folderCharts!.temperature);
      assert.deepEqual(topicCharts!.months, folderCharts!.months);
      // Anomalies sent twice (the whole log again after each kill) are one per date.
      for (const path of ["/api/anomalies", "/api/extremes"]) {
        const want = JSON.stringify(await getJson(`${byFolder.url}${path}`));
        await waitFor(
          `the following dashboard's ${path} to equal the folder's`,
          async () => JSON.stringify(await getJson(`${follower!.url}${path}`)) === want,
        );
      }
      const anomalies = await getJson(`${byFolder.url}/api/anomalies`) as { total: number };
      assert.equal(anomalies.total, expected.anomalies.flat().length);
    } finally {
      await byFolder.process.stop();
    }

    // plot from the topic, into another folder, is byte for byte plot from the files.
    const other = await tempDir();
    const plotted = await run("plot.ts", ["--dir", dir]);
    assert.equal(plotted.code, 0, plotted.stderr);
    const fromKafka = await run("plot.ts", ["--from", "kafka", "--dir", other]);
    assert.equal(fromKafka.code, 0, fromKafka.stderr);
    assert.deepEqual(
      await Deno.readFile(join(other, "month.svg")),
      await Deno.readFile(join(dir, "month.svg")),
    );
    assert.equal(fromKafka.stderr.replace(other, dir), plotted.stderr);

    const status = await run("status.ts", ["--from", "kafka", "--max-lag", "0"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stderr,
      /status: ok, 4 partitions in topic "temperature-stats", total lag 0/,
    );
    await Deno.remove(other, { recursive: true });
  } finally {
    if (follower) {
      const { code, stderr } = await follower.process.stop();
      assert.equal(code, 0, stderr);
    }
  }
});

Deno.test({
  name: "kcat reads the statistics topic: one JSON record per month and year, and the offsets",
  ignore: !(await new Deno.Command("sh", { args: ["-c", "command -v kcat"] }).output()).success,
  fn: async () => {
    const dir = await tempDir();
    const produced = await run("producer.ts", ["--count", "400", "--delay", "0", "--seed", "5"]);
    assert.equal(produced.code, 0, produced.stderr);
    const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
    await waitCaughtUp(dir, [0, 1, 2, 3]);
    assert.equal((await consumer.stop()).code, 0);
    const { code, stdout } = await new Deno.Command("kcat", {
      args: ["-C", "-b", BROKERS, "-t", STATS_TOPIC, "-e", "-q", "-f", "%p %k %s %h\n"],
    }).output();
    assert.equal(code, 0);
    const latest = new Map<string, string>();
    for (const line of decoder.decode(stdout).trim().split("\n")) {
      const [partition, key, value, headers] = line.split(" ");
      assert.match(headers!, /^p7-run=[0-9a-f-]{36}$/, line);
      assert.equal(JSON.parse(value!).partition, Number(partition), line);
      latest.set(key!, value!);
    }
    const files = await readAll(dir);
    for (const file of files) {
      assert.deepEqual(JSON.parse(latest.get(`offset-${file.partition}`)!), {
        partition: file.partition,
        offset: file.offset,
      });
    }
    const march = (files.find((f) => "March" in f)!.March as Record<string, unknown>)["1990"];
    assert.deepEqual(JSON.parse(latest.get("March-1990")!), {
      partition: files.find((f) => "March" in f)!.partition,
      month: "March",
      year: "1990",
      ...march as object,
    });
    assert.equal(latest.size, 4 + 14); // 12 months of 1990 and 2 of 1991, and 4 offsets
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("a consumer restarted on a checkpoint of over 1 MB republishes it whole", async () => {
  // The broker takes at most 1 MiB in a record batch; 700,000 days give partition 2 a file of
  // about 1.2 MB, so its whole state must go in several requests.
  const produced = await run("producer.ts", ["--count", "700000", "--delay", "0", "--seed", "8"]);
  assert.equal(produced.code, 0, produced.stderr);
  const dir = await tempDir();
  const first = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  assert.equal((await first.stop()).code, 0);
  const largest = Math.max(
    ...await Promise.all(
      [0, 1, 2, 3].map(async (p) => (await Deno.stat(join(dir, `partition-${p}.json`))).size),
    ),
  );
  assert.ok(largest > 1_100_000, `the largest checkpoint is only ${largest} bytes`);
  // An empty topic: what it holds next is the restart's publication alone.
  const admin = createKafka(brokers, "p7-test").admin();
  await admin.connect();
  await recreateTopic(admin, STATS_TOPIC, { partitions: PARTITIONS, config: STATS_TOPIC_CONFIG });
  await admin.disconnect();
  const again = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitFor("the consumer to start", () => /published to|^error:/m.test(again.stderr()));
  assert.doesNotMatch(again.stderr(), /^error:/m);
  const files = await readAll(dir);
  await waitFor("the topic to hold the files", async () => {
    try {
      assert.deepEqual(await fromTopic(), files);
      return true;
    } catch {
      return false;
    }
  });
  const { code, stderr } = await again.stop();
  assert.equal(code, 0, stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("without the statistics topic the consumer says so and counts as before", async () => {
  const produced = await run("producer.ts", ["--count", "50", "--delay", "0", "--seed", "6"]);
  assert.equal(produced.code, 0, produced.stderr);
  const admin = createKafka(brokers, "p7-test").admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [STATS_TOPIC] });
  await admin.disconnect();
  const dir = await tempDir();
  const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir]);
  await waitOffsets(dir, "50 days", (o) => o.reduce((a, b) => a + b, 0) === 50);
  const { code, stderr } = await consumer.stop();
  assert.equal(code, 0, stderr);
  assert.match(stderr, /topic "temperature-stats" does not exist, statistics not published/);
  const plot = await run("plot.ts", ["--from", "kafka", "--dir", dir]);
  assert.equal(plot.code, 1);
  assert.equal(
    plot.stderr,
    'error: topic "temperature-stats" does not exist (the producer creates it; the consumer fills it)\n',
  );
  await Deno.remove(dir, { recursive: true });
});
