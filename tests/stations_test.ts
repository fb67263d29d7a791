/**
 * Many stations, many measurements, on real data: the hourly 2013 observations of the three
 * New York airports (`data/nycflights13-weather.csv`) replayed by the producer, counted by
 * consumers killed with `kill -9` along the way, and checked against an independent recount
 * of the CSV, in the files and in the statistics topic.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fetchStats } from "../lib/kafka/stats_topic.ts";
import {
  BROKERS,
  endOffsets,
  readAll,
  readJson,
  ROOT,
  run,
  spawn,
  tally,
  tempDir,
  tempFiles,
  waitCaughtUp,
  waitFor,
  within,
} from "./harness.ts";

const CSV = join(ROOT, "data", "nycflights13-weather.csv");

/** The file's columns of each measurement, in the units the Report carries them. */
const COLUMNS: Record<string, string> = {
  temperature: "temp",
  dew_point: "dewp",
  humidity: "humid",
  wind_direction: "wind_dir",
  wind_speed: "wind_speed",
  wind_gust: "wind_gust",
  precipitation: "precip",
  pressure: "pressure",
  visibility: "visib",
};
const UNITS: Record<string, string> = {
  temperature: "F",
  dew_point: "F",
  humidity: "%",
  wind_direction: "deg",
  wind_speed: "mph",
  wind_gust: "mph",
  precipitation: "in",
  pressure: "mbar",
  visibility: "mi",
};

const REPLAY = [
  "--source",
  CSV,
  "--station-column",
  "origin",
  "--time-column",
  "time_hour",
  ...Object.entries(COLUMNS).flatMap(([name, column]) => [
    "--measure",
    `${name}=${column}:${UNITS[name]}`,
  ]),
  "--delay",
  "0",
];

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

interface Entry {
  count: number;
  sum: number;
  min: number;
  max: number;
  start: string;
  end: string;
}

/**
 * station → measure → "Month-Year" → entry, counted from the CSV here and now with rules
 * written out again: NA is not observed; a wind above 254 mph (above the strongest gust ever
 * measured) is impossible; values rounded to 4 decimals as they are sent.
 */
async function recountCsv(): Promise<Map<string, Map<string, Map<string, Entry>>>> {
  const [header, ...rows] = (await Deno.readTextFile(CSV)).trim().split("\n");
  const names = header!.split(",");
  const at = (name: string) => names.indexOf(name);
  const table = new Map<string, Map<string, Map<string, Entry>>>();
  for (const row of rows) {
    const fields = row.split(",");
    const station = fields[at("origin")]!;
    const time = fields[at("time_hour")]!;
    const month = `${MONTHS[Number(time.slice(5, 7)) - 1]}-${time.slice(0, 4)}`;
    for (const [measure, column] of Object.entries(COLUMNS)) {
      const text = fields[at(column)]!;
      if (text === "NA") continue;
      const value = Math.round(Number(text) * 1e4) / 1e4;
      if (measure.startsWith("wind_") && measure !== "wind_direction" && value > 254) continue;
      const measures = table.get(station) ?? table.set(station, new Map()).get(station)!;
      const months = measures.get(measure) ?? measures.set(measure, new Map()).get(measure)!;
      const entry = months.get(month);
      if (entry === undefined) {
        months.set(month, { count: 1, sum: value, min: value, max: value, start: time, end: time });
      } else {
        entry.count++;
        entry.sum += value;
        entry.min = Math.min(entry.min, value);
        entry.max = Math.max(entry.max, value);
        entry.end = time;
      }
    }
  }
  return table;
}

type Files = Record<string, unknown>[];

/** The stations' entries of the partition files, keyed as the recount keys them. */
function entriesOf(files: Files): Map<string, Entry & { avg: number }> {
  const entries = new Map<string, Entry & { avg: number }>();
  for (const file of files) {
    const stations = (file.stations ?? {}) as Record<
      string,
      { measures: Record<string, Record<string, Record<string, Entry & { avg: number }>>> }
    >;
    for (const [station, { measures }] of Object.entries(stations)) {
      for (const [measure, months] of Object.entries(measures)) {
        for (const [month, years] of Object.entries(months)) {
          for (const [year, entry] of Object.entries(years)) {
            assert.ok(!entries.has(`${station}/${measure}/${month}-${year}`), "one partition each");
            entries.set(`${station}/${measure}/${month}-${year}`, entry);
          }
        }
      }
    }
  }
  return entries;
}

function assertEqualsRecount(files: Files, recounted: Awaited<ReturnType<typeof recountCsv>>) {
  const entries = entriesOf(files);
  let expected = 0;
  for (const [station, measures] of recounted) {
    for (const [measure, months] of measures) {
      for (const [month, want] of months) {
        expected++;
        const key = `${station}/${measure}/${month}`;
        const got = entries.get(key);
        assert.ok(got !== undefined, `${key} is missing`);
        assert.deepEqual(
          { count: got.count, min: got.min, max: got.max, start: got.start, end: got.end },
          { count: want.count, min: want.min, max: want.max, start: want.start, end: want.end },
          key,
        );
        assert.ok(Math.abs(got.sum - want.sum) < 1e-6 * Math.max(1, Math.abs(want.sum)), key);
        assert.ok(Math.abs(got.avg - want.sum / want.count) < 1e-9 * Math.max(1, got.avg), key);
      }
    }
  }
  assert.equal(entries.size, expected, "no entry the recount does not have");
}

/**
 * The daily windows of every station and measurement (`windows-N.jsonl`) equal a recount of
 * the CSV by UTC day, each window once; each station is alone in its partition, so nothing
 * is late.
 */
async function assertDailyWindows(dir: string): Promise<void> {
  const [header, ...rows] = (await Deno.readTextFile(CSV)).trim().split("\n");
  const names = header!.split(",");
  const want = new Map<string, { count: number; sum: number; min: number; max: number }>();
  for (const row of rows) {
    const fields = row.split(",");
    const time = fields[names.indexOf("time_hour")]!;
    for (const [measure, column] of Object.entries(COLUMNS)) {
      const text = fields[names.indexOf(column)]!;
      if (text === "NA") continue;
      const value = Math.round(Number(text) * 1e4) / 1e4;
      if (measure.startsWith("wind_") && measure !== "wind_direction" && value > 254) continue;
      const key = `${fields[names.indexOf("origin")]}/${measure}/1d/${time.slice(0, 10)}T00:00:00Z`;
      tally(want, key, value);
    }
  }
  const got = new Map<string, Record<string, number>>();
  for (const p of [0, 1, 2, 3]) {
    const text = await Deno.readTextFile(join(dir, `windows-${p}.jsonl`)).catch(() => "");
    for (const line of text.split("\n").filter((l) => l !== "")) {
      const window = JSON.parse(line);
      assert.ok(!got.has(window.key), `${window.key} once`);
      got.set(window.key, window);
    }
    assert.equal(await Deno.readTextFile(join(dir, `late-${p}.jsonl`)).catch(() => ""), "");
  }
  assert.equal(got.size, want.size);
  for (const [key, expected] of want) {
    const window = got.get(key);
    assert.ok(window !== undefined, `${key} is missing`);
    assert.deepEqual(
      { count: window.count, min: window.min, max: window.max },
      { count: expected.count, min: expected.min, max: expected.max },
      key,
    );
    assert.ok(Math.abs(window.sum! - expected.sum) < 1e-6 * Math.max(1, Math.abs(expected.sum)));
  }
  // JFK's 4 July 2013 by the hour, as the README shows it.
  assert.equal(got.get("JFK/temperature/1d/2013-07-04T00:00:00Z")!.count, 24);
}

Deno.test("the New York airports' 2013 replayed: every station/measure/month and daily window equals a recount of the CSV, through kill -9s", async () => {
  const recounted = await recountCsv();
  assert.deepEqual([...recounted.keys()].sort(), ["EWR", "JFK", "LGA"]);
  const dir = await tempDir();
  const producer = spawn("producer.ts", REPLAY);
  // The topics of this run first: a consumer started before would count an earlier test's.
  await waitFor("the producer's topics", () => /producer: topic/.test(producer.stderr()));
  // Consumers killed -9 while the replay is being sent and counted, then one to the end.
  let kills = 0;
  for (const wait of [300, 600, 900, 1200]) {
    const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir, "--window", "1d"]);
    await waitFor(
      "the consumer to start",
      () => /consumer: partitions/.test(consumer.stderr()) || consumer.stderr().includes("error:"),
    );
    assert.doesNotMatch(consumer.stderr(), /error:/);
    await new Promise((resolve) => setTimeout(resolve, wait));
    await consumer.stop("SIGKILL");
    kills++;
  }
  const produced = await within(120_000, "the replay to end", producer.done);
  assert.equal(produced.code, 0, produced.stderr);
  // The one impossible value of the file: a wind speed of 1048 mph.
  assert.match(
    produced.stderr,
    /^producer: line 1011: wind_speed 1048\.36058 mph: wind_speed 1048\.3606 mph is above 254; wind_speed not sent$/m,
  );
  assert.match(
    produced.stderr,
    /26115 rows accepted and sent \(through 2013-12-30\), 0 rejected, 1 measurements not sent/,
  );
  const last = spawn("consumer.ts", [
    ..."0 1 2 3 --window 1d --idle-close 2s --dir".split(" "),
    dir,
  ]);
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  // The last day of each station and measurement closes once the stream is idle.
  await waitFor("the last windows to close", async () => {
    for (const p of [0, 1, 3]) {
      const { windows } = await readJson(dir, p) as { windows: { open: object } };
      if (Object.keys(windows.open).length > 0) return false;
    }
    return true;
  }, 30_000);
  assert.equal((await within(30_000, "the last consumer to stop", last.stop())).code, 0);
  await assertDailyWindows(dir);
  assert.equal(kills, 4);
  assert.deepEqual(await tempFiles(dir), []);
  const files = await readAll(dir);
  assertEqualsRecount(files, recounted);
  // NA is not observed, not zero: most hours have no gust, and no pressure some hours.
  const entries = entriesOf(files);
  const gusts = entries.get("JFK/wind_gust/July-2013")!;
  const temps = entries.get("JFK/temperature/July-2013")!;
  assert.ok(gusts.count < temps.count / 2, `${gusts.count} gusts of ${temps.count} hours`);
  assert.ok(gusts.min > 0, "no gust of 0 mph stands in for NA");
  // Each station stays in one partition: the offsets sum to the rows sent.
  const ends = await endOffsets();
  assert.equal(ends.reduce((a, b) => a + b, 0), 26115);
  // The statistics topic holds the same entries, under keys that say what they are.
  // By now compaction may have left emptied batches in the windows topic (the restarted
  // consumers published windows again): the reader must get past them.
  const read = fetchStats(BROKERS.split(","), "p7-test");
  const fromTopic = (await within(60_000, "the statistics topics", read)).map((file) => {
    assert.ok("stats" in file);
    return { ...file.stats.months, stations: file.stats.stations };
  });
  assertEqualsRecount(fromTopic, recounted);
  // plot draws a station's measurement from the files and from the topic alike.
  for (const from of ["files", "kafka"]) {
    const out = join(await tempDir(), "out");
    const args = from === "files" ? ["--dir", dir] : ["--dir", out, "--from", "kafka"];
    const plot = await run("plot.ts", [...args, "--station", "JFK", "--measure", "humidity"]);
    assert.equal(plot.code, 0, plot.stderr);
    assert.match(plot.stderr, /12 months of JFK humidity \(%\), January-2013 to December-2013/);
    const svg = await Deno.readTextFile(join(from === "files" ? dir : out, "JFK-humidity.svg"));
    assert.match(svg, /^<svg/);
    assert.match(svg, /JFK: humidity \(%\) by month/);
  }
  const none = await run("plot.ts", ["--dir", dir, "--station", "ORD", "--measure", "humidity"]);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, `error: no humidity of station "ORD" in ${dir}/partition-*.json\n`);
  const status = await run("status.ts", ["--dir", dir]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout + status.stderr, /total lag 0/);
});
