import assert from "node:assert/strict";
import {
  countReport,
  emptyStats,
  type MonthTable,
  parseStats,
  type PartitionStats,
  statsEncoder,
  update,
} from "./stats.ts";
import { MONTHS } from "../kafka/report.ts";
import { mulberry32 } from "../sources/weather.ts";

Deno.test("update counts, sums, averages and keeps extremes, and drops dates not after the end", () => {
  const day1 = { start: "2000-01-01", end: "2000-01-01" };
  const first = update(undefined, { date: "2000-01-01", degrees: 30 });
  assert.deepEqual(first, { count: 1, sum: 30, avg: 30, ...day1, min: 30, max: 30, sumsq: 900 });
  const second = update(first, { date: "2000-01-03", degrees: 40 });
  assert.deepEqual(second, {
    count: 2,
    sum: 70,
    avg: 35,
    start: "2000-01-01",
    end: "2000-01-03",
    min: 30,
    max: 40,
    sumsq: 2500,
  });
  const third = update(second, { date: "2000-01-04", degrees: -5 });
  assert.deepEqual([third?.min, third?.max, third?.sumsq], [-5, 40, 2525]);
  assert.equal(update(second, { date: "2000-01-03", degrees: 1_000_000 }), undefined);
  assert.equal(update(second, { date: "2000-01-02", degrees: 1 }), undefined);
  assert.deepEqual(first, { count: 1, sum: 30, avg: 30, ...day1, min: 30, max: 30, sumsq: 900 });
});

Deno.test("countReport files a report under its month and year", () => {
  const months: MonthTable = {};
  assert.equal(countReport(months, "January", { date: "1990-01-01", degrees: 10 }), true);
  assert.equal(countReport(months, "January", { date: "1991-01-01", degrees: 20 }), true);
  assert.equal(countReport(months, "January", { date: "1990-01-01", degrees: 1e6 }), false);
  assert.deepEqual(Object.keys(months.January!), ["1990", "1991"]);
  assert.equal(months.January!["1991"]!.sum, 20);
});

function text(pieces: Uint8Array[]): string {
  return pieces.map((piece) => new TextDecoder().decode(piece)).join("");
}

function sample(): string {
  const stats = emptyStats(2);
  stats.offset = 5;
  countReport(stats.months, "December", { date: "2000-12-26", degrees: 31.5235 });
  countReport(stats.months, "January", { date: "2001-01-01", degrees: 20.25 });
  countReport(stats.months, "January", { date: "2001-01-02", degrees: 21 });
  return text(statsEncoder()(stats));
}

Deno.test("statsEncoder writes partition, offset, then months in calendar order", () => {
  const sampled = sample();
  const keys = Object.keys(JSON.parse(sampled));
  assert.deepEqual(keys, ["partition", "offset", "January", "December"]);
  assert.deepEqual(JSON.parse(sampled).January["2001"], {
    count: 2,
    sum: 41.25,
    avg: 20.625,
    start: "2001-01-01",
    end: "2001-01-02",
    min: 20.25,
    max: 21,
    sumsq: 851.0625,
  });
  const parsed = parseStats(sampled, 2);
  assert.equal(text(statsEncoder()(parsed)), sampled);
});

/** What the encoder must write: the plain JSON.stringify of the file, indent 1. */
function reference(stats: PartitionStats): string {
  const out: Record<string, unknown> = { partition: stats.partition, offset: stats.offset };
  for (const month of MONTHS) if (stats.months[month]) out[month] = stats.months[month];
  return JSON.stringify(out, null, 1) + "\n";
}

Deno.test("statsEncoder matches JSON.stringify as entries change between calls", () => {
  const encode = statsEncoder();
  const decode = (stats: PartitionStats) => text(encode(stats));
  const stats = emptyStats(3);
  assert.equal(decode(stats), '{\n "partition": 3,\n "offset": 0\n}\n');
  const random = mulberry32(7);
  for (let batch = 0; batch < 50; batch++) {
    for (let i = 0; i < 40; i++) {
      const month = 1 + Math.floor(random() * 12);
      const day = 1 + Math.floor(random() * 28);
      const year = 1990 + Math.floor(random() * 20);
      const date = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
      countReport(stats.months, MONTHS[month - 1]!, { date, degrees: random() * 100 - 20 });
      stats.offset++;
    }
    assert.equal(decode(stats), reference(stats));
  }
  // A month read from a file with no years yet, and keys JSON.stringify orders by insertion.
  stats.months.May = {};
  stats.months.June = {
    "0999": stats.months.June?.["1990"]!,
    "0998": stats.months.June?.["1991"]!,
  };
  assert.equal(decode(stats), reference(stats));
});

Deno.test("parseStats accepts a new checkpoint", () => {
  assert.deepEqual(parseStats('{"partition": 0, "offset": 0}', 0), {
    partition: 0,
    offset: 0,
    months: {},
  });
});

Deno.test("parseStats refuses every kind of broken checkpoint with a clear reason", () => {
  const good = JSON.parse(sample());
  // deno-lint-ignore no-explicit-any -- the cases edit arbitrary JSON
  const broken = (change: (data: Record<string, any>) => void) => {
    const data = structuredClone(good);
    change(data);
    return JSON.stringify(data);
  };
  const cases: [string, string][] = [
    ["", "file is empty"],
    ["  \n", "file is empty"],
    [sample().slice(0, 60), "not valid JSON"],
    ["[1, 2]", "not a JSON object"],
    ["null", "not a JSON object"],
    [broken((d) => d.partition = 3), "partition is 3, expected 2"],
    [broken((d) => d.offset = -1), "offset is negative"],
    [broken((d) => d.offset = "5"), 'offset "5" is not an integer'],
    [broken((d) => d.offset = 1.5), "offset 1.5 is not an integer"],
    [broken((d) => delete d.offset), "offset undefined is not an integer"],
    [broken((d) => d.offset = 2), "it counts 3 reports but its offset is only 2"],
    [broken((d) => d.Smarch = {}), 'unknown key "Smarch"'],
    [broken((d) => d.January = [1]), "January is not an object"],
    [broken((d) => d.January["01"] = d.January["2001"]), 'January: "01" is not a year'],
    [broken((d) => d.January["2001"].count = 0), "January 2001: count 0 is not a positive integer"],
    [broken((d) => d.January["2001"].count = "2"), 'count "2" is not a positive integer'],
    [broken((d) => d.January["2001"].sum = null), "January 2001: sum null is not a finite number"],
    [broken((d) => d.January["2001"].avg = 99), "January 2001: avg 99 is not sum/count (20.625)"],
    [broken((d) => d.January["2001"].min = "cold"), 'January 2001: min "cold" is not a finite'],
    [
      broken((d) => d.January["2001"].max = 20.5),
      "avg 20.625 is not between min 20.25 and max 20.5",
    ],
    [broken((d) => d.January["2001"].min = 21), "avg 20.625 is not between min 21 and max 21"],
    [broken((d) => d.January["2001"].sumsq = 800), "January 2001: sumsq 800 is below sum²/count"],
    [
      broken((d) => delete d.January["2001"].sumsq),
      "January 2001 has no min, max or sumsq: it was counted by an older p7",
    ],
    [
      broken((d) => d.January["2001"].start = "2001-02-01"),
      'start "2001-02-01" is not a date in January 2001',
    ],
    [
      broken((d) => d.January["2001"].end = "2001-01-32"),
      'end "2001-01-32" is not a date in January 2001',
    ],
    [broken((d) => d.January["2001"].end = "2000-01-02"), "is not a date in January 2001"],
    [
      broken((d) => {
        d.January["2001"].start = "2001-01-05";
        d.January["2001"].end = "2001-01-04";
      }),
      "January 2001: start 2001-01-05 is after end 2001-01-04",
    ],
    [
      broken((d) => {
        d.December["2000"].count = 2;
        d.December["2000"].sum = 63.047;
        d.December["2000"].sumsq *= 2;
      }),
      "December 2000: count 2 is more than the 1 days from start to end",
    ],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => parseStats(text, 2), (error: Error) => {
      assert.ok(
        error.message.includes(reason),
        `${JSON.stringify(error.message)} lacks ${JSON.stringify(reason)}`,
      );
      return true;
    }, text);
  }
});
