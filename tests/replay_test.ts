/**
 * Replay end to end on the real broker: real NOAA observations no one here made (the
 * `vega-datasets` npm package) go through the producer, the consumer and the plot, and the
 * partition files equal a recomputation from the CSV itself; bad rows are reported and left
 * out; a file that cannot be replayed leaves the topic alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
// Importing the package puts it in the module graph, so Deno fetches it into its npm cache
// (there is no node_modules folder); its data files sit beside its build.
import "vega-datasets";
import { partitionFor } from "../lib/kafka/partitioner.ts";
import { MONTHS } from "../lib/kafka/report.ts";
import {
  backfill,
  endOffsets,
  type Output,
  readAll,
  readAnomalies,
  recompute,
  recount,
  run,
  spawn,
  tempDir,
  waitCaughtUp,
  waitFor,
} from "./harness.ts";

/** A data file of the vega-datasets package, from Deno's npm cache. */
function dataset(name: string): string {
  return fileURLToPath(new URL(`../data/${name}`, import.meta.resolve("vega-datasets")));
}

const SEATTLE = dataset("seattle-weather.csv");
const STATIONS = dataset("weather.csv");

/** One month of one year recomputed from a CSV, in °C as the file has it. */
interface Expected {
  count: number;
  celsius: number;
  start: string;
  end: string;
}

/**
 * Daily maxima per month name and year, straight from the CSV text (these files have no
 * quoted fields), for the rows `keep` accepts.
 */
async function fromCsv(
  path: string,
  keep: (row: Record<string, string>) => boolean = () => true,
): Promise<Map<string, Expected>> {
  const [header, ...lines] = (await Deno.readTextFile(path)).trimEnd().split("\n");
  const columns = header!.split(",");
  const months = new Map<string, Expected>();
  for (const line of lines) {
    const row = Object.fromEntries(line.split(",").map((field, i) => [columns[i], field]));
    if (!keep(row)) continue;
    const date = row.date!;
    const key = `${MONTHS[Number(date.slice(5, 7)) - 1]}/${date.slice(0, 4)}`;
    const month = months.get(key) ?? { count: 0, celsius: 0, start: date, end: date };
    month.count++;
    month.celsius += Number(row.temp_max);
    month.end = date;
    months.set(key, month);
  }
  return months;
}

/** Every partition file's months equal the recomputation, each in its month's partition. */
function assertMatches(files: Record<string, unknown>[], expected: Map<string, Expected>): void {
  const seen = new Set<string>();
  for (const file of files) {
    for (const [month, years] of Object.entries(file)) {
      if (month === "partition" || month === "offset") continue;
      assert.equal(file.partition, partitionFor(month, 4), month);
      for (
        const [year, stats] of Object.entries(years as Record<string, Record<string, unknown>>)
      ) {
        const key = `${month}/${year}`;
        const want = expected.get(key);
        assert.ok(want, `${key} is not in the CSV`);
        assert.equal(stats.count, want.count, key);
        assert.equal(stats.start, want.start, key);
        assert.equal(stats.end, want.end, key);
        const fahrenheit = want.celsius / want.count * 9 / 5 + 32;
        assert.ok(Math.abs((stats.avg as number) - fahrenheit) < 1e-4, `${key}: ${stats.avg}`);
        seen.add(key);
      }
    }
  }
  assert.deepEqual([...seen].sort(), [...expected.keys()].sort());
}

/** Runs the consumer on all four partitions until it has read the whole topic. */
async function consumeAll(
  args: string[] = [],
): Promise<{ dir: string; files: Record<string, unknown>[] }> {
  const dir = await tempDir();
  const consumer = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir, ...args]);
  await waitCaughtUp(dir, [0, 1, 2, 3]);
  const stopped = await consumer.stop();
  assert.equal(stopped.code, 0, stopped.stderr);
  return { dir, files: await readAll(dir) };
}

function total(offsets: number[]): number {
  return offsets.reduce((a, b) => a + b, 0);
}

/** The producer's lines about skipped rows. */
function skipped(result: Output): string[] {
  return result.stderr.split("\n").filter((line) => line.startsWith("producer: skipped"));
}

/** The producer's flags that replay Seattle's daily maximum (°C) with `delay`. */
function seattleArgs(delay: string): string[] {
  return ["--source", SEATTLE, "--value-column", "temp_max", "--units", "C", "--delay", delay];
}

Deno.test("Seattle replayed: the consumer's files equal the CSV's days and averages, and plot shows early 2015", async () => {
  const result = await run("producer.ts", seattleArgs("0"));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /replaying ".*seattle-weather\.csv" \(CSV, temp_max in °C\)/);
  assert.match(
    result.stderr,
    /replayed ".*": 1461 rows accepted and sent \(through 2015-12-31\), 0 rejected, 1461 messages/,
  );
  assert.deepEqual(skipped(result), []);
  const expected = await fromCsv(SEATTLE);
  assert.equal(expected.size, 48, "4 years of months");
  assert.equal(total([...expected.values()].map((m) => m.count)), 1461);
  assert.equal(total(await endOffsets()), 1461);
  const { dir, files } = await consumeAll();
  assertMatches(files, expected);
  assert.deepEqual(files, await recompute());
  const plot = await run("plot.ts", ["--dir", dir]);
  assert.equal(plot.code, 0, plot.stderr);
  const svg = await Deno.readTextFile(join(dir, "month.svg"));
  for (const label of ["January-2015", "February-2015", "March-2015", "Avg. Max Temperature"]) {
    assert.ok(svg.includes(label), label);
  }
});

Deno.test("one station of the multi-station file with --where location=New York", async () => {
  const result = await run("producer.ts", [
    "--source",
    STATIONS,
    "--value-column=temp_max",
    "--units=C",
    "--where",
    "location=New York",
    "--delay=0",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /1461 rows accepted and sent \(through 2015-12-31\), 0 rejected, 1461 left out by --where/,
  );
  const newYork = await fromCsv(STATIONS, (row) => row.location === "New York");
  const seattle = await fromCsv(STATIONS, (row) => row.location === "Seattle");
  assert.notDeepEqual(newYork.get("July/2014"), seattle.get("July/2014"));
  const { dir } = await consumeAll();
  assertMatches(await readAll(dir), newYork);
  // Four years: no day has the five earlier years of its month that an anomaly needs.
  assert.deepEqual((await readAnomalies(dir)).flat(), []);
  const short = await consumeAll(["--anomaly-years", "2"]);
  const expected = await recount("temperatures", undefined, { sigma: 3, years: 2 });
  const anomalies = (await readAnomalies(short.dir)).flat();
  assert.deepEqual(anomalies, expected.anomalies.flat());
  assert.ok(anomalies.length >= 3, `${anomalies.length} anomalies`);
  console.log("New York 2014-2015, 3 sigma after 2 years:");
  type Line = { date: string; degrees: number; mean: number; std: number; z: number };
  for (const { date, degrees, mean, std, z } of anomalies as Line[]) {
    const [f, m, s] = [degrees, mean, std].map((value) => value.toFixed(1));
    console.log(`  ${date} ${f} °F, mean ${m} ± ${s}, z ${z.toFixed(2)}`);
  }
});

/** A CSV with a bad row of every kind among good ones, with Windows line ends. */
const CRAFTED = [
  "date,temp_max,note", // 1
  "2015-01-01,40.5,ok", // 2
  '2015-01-02, 41 ,"stray spaces, and a quoted comma"', // 3
  "2015-01-02,42,repeated date", // 4
  "2015-01-01,43,earlier date", // 5
  "2015-02-30,44,impossible date", // 6
  "01/03/2015,45,US date", // 7
  "2015-01-04,,missing value", // 8
  "2015-01-05,NaN,not finite", // 9
  "2015-01-06,warm,not a number", // 10
  "2015-01-07,46", // 11
  '2015-01-08,47,"unterminated', // 12
  "", // 13
  "2015-01-09T07:00:00-08:00,48,timestamp", // 14
  "20150110,49,compact date", // 15
  "2015/01/11,1e999,too big", // 16
  "not a date,50,bad date", // 17
  "2015-02-01,-500,below absolute zero", // 18
  "2015-02-01,51.25,ok", // 19
].join("\r\n") + "\r\n";

const CRAFTED_SKIPPED = [
  "producer: skipped line 4: date 2015-01-02 is not after 2015-01-02 (line 3)",
  "producer: skipped line 5: date 2015-01-01 is not after 2015-01-02 (line 3)",
  'producer: skipped line 6: date "2015-02-30" does not exist',
  "producer: skipped line 8: temp_max is missing",
  'producer: skipped line 9: temp_max "NaN" is not a finite number',
  'producer: skipped line 10: temp_max "warm" is not a number',
  "producer: skipped line 11: 2 fields where the header has 3",
  "producer: skipped line 12: field 3 has no closing quote",
  'producer: skipped line 16: temp_max "1e999" is not a finite number',
  'producer: skipped line 17: date "not a date" is not a date in a known format',
  "producer: skipped line 18: temp_max -500 °F is below absolute zero",
];

async function craftedFile(): Promise<string> {
  const path = join(await tempDir(), "crafted.csv");
  await Deno.writeTextFile(path, CRAFTED);
  return path;
}

Deno.test("bad rows: each reported once with its line and reason, skipped, and not counted", async () => {
  const path = await craftedFile();
  const result = await run("producer.ts", [
    "--source",
    path,
    "--value-column",
    "temp_max",
    "--units",
    "F",
    "--delay",
    "0",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(skipped(result), CRAFTED_SKIPPED);
  assert.match(
    result.stderr,
    /\nproducer: replayed ".*crafted\.csv": 6 rows accepted and sent \(through 2015-02-01\), 11 rejected, 6 messages in [\d.]+ s \(\d+ msg\/s\)\n$/,
  );
  const { files } = await consumeAll();
  const january = {
    start: "2015-01-01",
    end: "2015-01-10",
    count: 5,
    sum: 223.5,
    avg: 44.7,
    min: 40.5,
    max: 49,
    sumsq: 10051.25,
  };
  const february = {
    start: "2015-02-01",
    end: "2015-02-01",
    count: 1,
    sum: 51.25,
    avg: 51.25,
    min: 51.25,
    max: 51.25,
    sumsq: 2626.5625,
  };
  const months = files.flatMap((file) =>
    Object.entries(file).filter(([key]) => key !== "partition" && key !== "offset")
  );
  assert.deepEqual(Object.fromEntries(months), {
    January: { 2015: january },
    February: { 2015: february },
  });
});

Deno.test("--count N stops after N rows sent, reporting only the rows read before", async () => {
  const result = await run("producer.ts", [
    "--source",
    await craftedFile(),
    "--value-column",
    "temp_max",
    "--units",
    "F",
    "--delay",
    "0",
    "--count",
    "3",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(skipped(result), CRAFTED_SKIPPED.slice(0, 3));
  assert.match(result.stderr, /3 rows accepted and sent \(through 2015-01-03\), 3 rejected/);
  assert.equal(total(await endOffsets()), 3);
});

Deno.test("Ctrl-C stops a replay cleanly: the summary counts exactly what the topic holds", async () => {
  const producer = spawn("producer.ts", seattleArgs("0.02"));
  await waitFor("some rows sent", async () => {
    if (!/recreated/.test(producer.stderr())) return false;
    return total(await endOffsets()) >= 20;
  });
  const result = await producer.stop("SIGINT");
  assert.equal(result.code, 0, result.stderr);
  const summary = /(\d+) rows accepted and sent .*, 0 rejected, .*; stopped by signal\n$/.exec(
    result.stderr,
  );
  assert.ok(summary, result.stderr);
  const sent = Number(summary[1]);
  assert.ok(sent >= 20 && sent < 1461, `${sent}`);
  assert.equal(total(await endOffsets()), sent);
});

Deno.test("a file that cannot be replayed is one error line, before the topic is touched", async () => {
  await backfill(50, 3);
  const before = await endOffsets();
  const dir = await tempDir();
  await Deno.writeTextFile(join(dir, "empty.csv"), "");
  await Deno.writeTextFile(join(dir, "headless.csv"), "2015-01-01,40\n");
  const cases: [string, string, RegExp][] = [
    [join(dir, "missing.csv"), "temp_max", /Cannot replay ".*missing\.csv": no such file$/],
    [dir, "temp_max", /Cannot replay ".*": it is a directory$/],
    [join(dir, "empty.csv"), "temp_max", /Cannot replay ".*empty\.csv": the file is empty$/],
    [join(dir, "headless.csv"), "temp_max", /it has no header row/],
    [
      SEATTLE,
      "tmax",
      /Cannot replay ".*seattle-weather\.csv": no column "tmax" in its header \(date, precipitation, temp_max, temp_min, wind, weather\)$/,
    ],
  ];
  for (const [path, column, message] of cases) {
    const result = await run("producer.ts", [
      "--source",
      path,
      "--value-column",
      column,
      "--units",
      "C",
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assert.match(result.stderr.trimEnd(), /^error: /);
    assert.match(result.stderr.trimEnd(), message);
  }
  assert.deepEqual(await endOffsets(), before, "the topic was not recreated");
});

Deno.test("source flags and simulation flags do not mix: usage errors", async () => {
  const cases: [string[], string][] = [
    [
      ["--source", SEATTLE, "--value-column", "temp_max", "--units", "C", "--seed", "1"],
      "--seed is for simulated days, not with --source",
    ],
    [
      ["--source", SEATTLE, "--value-column", "temp_max", "--units", "C", "--duplicate-rate", "0"],
      "--duplicate-rate is for simulated days, not with --source",
    ],
    [["--units", "C"], "--units needs --source FILE"],
    [["--where", "location=Seattle"], "--where needs --source FILE"],
    [["--source", SEATTLE, "--units", "C"], "--source needs --value-column"],
    [
      ["--source", SEATTLE, "--value-column", "temp_max", "--units", "K"],
      '--units "K" is not C or F',
    ],
  ];
  for (const [args, message] of cases) {
    const result = await run("producer.ts", args);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr.trimEnd(), `error: ${message}`);
  }
});

Deno.test("bench:replay runs end to end on a small generated file", async () => {
  const result = await run("bench/replay.ts", ["--rows", "20000"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^replay: wrote 20,000 rows \(1 station, 0 MiB\)/);
  assert.match(result.stdout, /^replay: 20000 rows read \(20000 sent\) in .* peak RSS \d+ MiB$/m);
  assert.equal(total(await endOffsets()), 20000);
});
