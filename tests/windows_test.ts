/**
 * Windows in event time with late data in the open: a replay in which one station runs a known
 * three hours behind another in the same partition, counted into hourly and daily windows by
 * consumers killed with `kill -9` along the way, then closed by `--idle-close`; the windows,
 * the late log and the windows topic are checked against a recount of the CSV.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  laggingCsv,
  type LaggingRow,
  latestByKey,
  readJson,
  spawn,
  tally,
  tempDir,
  tempFiles,
  waitCaughtUp,
  waitFor,
} from "./harness.ts";

const HOUR = 3_600_000;
const HOURS = 40 * 24;

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19) + "Z";

interface Window {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/**
 * The windows the consumer must close, by key, recounted here by the rule as the README
 * states it: with `--grace 1h`, a window takes values until the partition's latest time is
 * an hour past its end. Ahead's time leads partition 0, so every value of Behind, three hours
 * behind, misses its hourly window (its end plus the grace passed an hour before), and its
 * hours 22:00 and 23:00 miss their day.
 */
function expectedWindows(all: LaggingRow[]): Map<string, Window> {
  const windows = new Map<string, Window>();
  for (const { station, time, value } of all) {
    for (const [size, ms] of [["1h", HOUR], ["1d", 24 * HOUR]] as const) {
      if (station === "Behind" && (size === "1h" || new Date(time).getUTCHours() >= 22)) continue;
      const key = `${station}/temperature/${size}/${iso(Math.floor(time / ms) * ms)}`;
      tally(windows, key, value);
    }
  }
  return windows;
}

async function lines(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

const WINDOWS = ["--window", "1h", "--window", "1d", "--grace", "1h"];

Deno.test("a station three hours behind: its late values logged once each, every window exact, through kill -9s and an idle close", async () => {
  const work = await tempDir();
  const { rows: all, replay } = await laggingCsv(work, HOURS);
  const dir = join(work, "files");
  const producer = spawn("producer.ts", [...replay, "--delay", "0.003"]);
  // Consumers killed -9 while the rows trickle in, so that kills land between checkpoints.
  let kills = 0;
  let produced: Awaited<typeof producer.done> | undefined;
  producer.done.then((result) => produced = result);
  while (produced === undefined || kills < 3) {
    const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir, ...WINDOWS]);
    await waitFor("the consumer to start", () => /consumer: partitions/.test(consumer.stderr()));
    await new Promise((resolve) => setTimeout(resolve, 700 + 300 * (kills % 3)));
    await consumer.stop("SIGKILL");
    kills++;
  }
  assert.equal(produced.code, 0, produced.stderr);
  assert.match(produced.stderr, new RegExp(`${all.length} rows accepted and sent`));
  const last = spawn("consumer.ts", [
    "0",
    "1",
    "2",
    "3",
    "--dir",
    dir,
    ...WINDOWS,
    "--idle-close",
    "2s",
  ]);
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  // The quiet stream's last windows close after two seconds without records.
  await waitFor("every window to close", async () => {
    for (const p of [0, 3]) {
      const { windows } = await readJson(dir, p) as { windows?: { open: object } };
      if (windows === undefined || Object.keys(windows.open).length > 0) return false;
    }
    return true;
  }, 30_000);
  const stopped = await last.stop();
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.deepEqual(await tempFiles(dir), []);

  // The late log: each of Behind's values once for its hour, and its 22:00 and 23:00 once
  // for their day, by exactly how much they missed it.
  const late = await lines(join(dir, "late-0.jsonl"));
  const ids = late.map((l) => `${l.offset} ${(l.window as { key: string }).key}`);
  assert.equal(new Set(ids).size, ids.length, "each late value once");
  const byLateness = new Map<string, number>();
  for (const l of late) {
    assert.equal(l.series, "Behind/temperature");
    const what = `${(l.window as { size: string }).size} ${l.lateBy} s`;
    byLateness.set(what, (byLateness.get(what) ?? 0) + 1);
  }
  // Behind's days from June 30 to August 8 each have their 22:00 and 23:00 late: 40 days.
  assert.deepEqual(
    Object.fromEntries(byLateness),
    { "1h 3600 s": HOURS, "1d 0 s": 40, "1d 3600 s": 40 },
  );
  assert.deepEqual(await lines(join(dir, "late-3.jsonl")), [], "North is on time");
  assert.equal(late.length, 1040);

  // The windows: each closed once, equal to the recount; the last ones closed by the idle.
  const want = expectedWindows(all);
  const closed = [
    ...await lines(join(dir, "windows-0.jsonl")),
    ...await lines(join(dir, "windows-3.jsonl")),
  ];
  const keys = closed.map((w) => w.key as string);
  assert.equal(new Set(keys).size, keys.length, "each window once");
  assert.deepEqual([...keys].sort(), [...want.keys()].sort());
  for (const window of closed) {
    const expected = want.get(window.key as string)!;
    const { count, min, max, sum, avg } = window as unknown as Window & { avg: number };
    assert.deepEqual({ count, min, max }, {
      count: expected.count,
      min: expected.min,
      max: expected.max,
    }, window.key as string);
    assert.ok(Math.abs(sum - expected.sum) < 1e-9 * expected.sum, window.key as string);
    assert.ok(Math.abs(avg - expected.sum / expected.count) < 1e-9 * avg);
    assert.equal(window.final, true);
  }
  const idle = closed.filter((w) => w.closedBy === "idle").map((w) => w.key).sort();
  assert.deepEqual(idle, [
    "Ahead/temperature/1d/2013-08-09T00:00:00Z",
    "Ahead/temperature/1h/2013-08-09T22:00:00Z",
    "Ahead/temperature/1h/2013-08-09T23:00:00Z",
    "Behind/temperature/1d/2013-08-09T00:00:00Z",
    "North/temperature/1d/2013-08-09T00:00:00Z",
    "North/temperature/1h/2013-08-09T22:00:00Z",
    "North/temperature/1h/2013-08-09T23:00:00Z",
  ]);
  // Behind's values are late only for the windows: its month counts every one of them.
  const stations = (await readJson(dir, 0)).stations as Record<
    string,
    { measures: { temperature: Record<string, Record<string, { count: number }>> } }
  >;
  const behind = stations.Behind!.measures.temperature;
  assert.equal(
    behind.June!["2013"]!.count + behind.July!["2013"]!.count + behind.August!["2013"]!.count,
    HOURS,
  );

  // The windows topic holds each window's final value under a key in plain text.
  const topic = await latestByKey("temperature-windows");
  assert.deepEqual([...topic.keys()].sort(), [...want.keys()].sort());
  for (const window of closed) {
    assert.deepEqual(JSON.parse(topic.get(window.key as string)!), window);
  }
  assert.ok(kills >= 3);
});
