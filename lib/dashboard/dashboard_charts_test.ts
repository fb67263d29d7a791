import assert from "node:assert/strict";
import type { StatsFile } from "../checkpoint.ts";
import {
  chartsBody,
  lagSpec,
  monthsSpec,
  rollingSpec,
  temperatureSpec,
  yearlyPoints,
} from "./dashboard_charts.ts";
import { lagRows } from "../kafka/lag.ts";
import { renderSvg } from "./plot.ts";
import type { MonthStats, MonthTable } from "../stats/stats.ts";

function stats(count: number, sum: number, start: string): MonthStats {
  const avg = sum / count;
  return { count, sum, avg, start, end: start, min: avg, max: avg, sumsq: sum * avg };
}

const A: MonthTable = {
  March: { "1991": stats(2, 90, "1991-03-01"), "1990": stats(1, 40, "1990-03-01") },
  January: { "1990": stats(2, 50, "1990-01-01") },
};
const B: MonthTable = {
  March: { "1991": stats(1, 30, "1991-03-05") },
  December: { "1989": stats(1, 33, "1989-12-01") },
};

function file(partition: number, months: MonthTable): StatsFile {
  return {
    partition,
    path: `out/partition-${partition}.json`,
    stats: { partition, offset: 10, months },
  };
}

Deno.test("yearlyPoints: calendar order, years ascending, months split over files merged", () => {
  assert.deepEqual(yearlyPoints([A, B]), [
    { month: "January", year: 1990, avg: 25, count: 2 },
    { month: "March", year: 1990, avg: 40, count: 1 },
    { month: "March", year: 1991, avg: 40, count: 3 },
    { month: "December", year: 1989, avg: 33, count: 1 },
  ]);
  assert.deepEqual(yearlyPoints([]), []);
});

Deno.test("the temperature chart draws a line per month and a point per year", async () => {
  const spec = temperatureSpec(yearlyPoints([A, B]));
  assert.equal(
    spec.description,
    "Line chart of the average daily max temperature by year for 3 months: " +
      "January, March, December.",
  );
  const svg = await renderSvg(spec);
  // The lines are labelled too: only the point marks, one per datum, count.
  const symbols = /<g class="mark-symbol role-mark[^>]*>(.*?)<\/g>/s.exec(svg)![1]!;
  const points = [
    ...symbols.matchAll(/aria-label="Year: (\d+); Avg\. Max Temperature: ([\d.]+); Month: (\w+)/g),
  ]
    .map((match) => `${match[3]} ${match[1]} ${match[2]}`);
  assert.deepEqual(points.sort(), [
    "December 1989 33",
    "January 1990 25",
    "March 1990 40",
    "March 1991 40",
  ]);
});

Deno.test("the lag chart has a bar for each partition whose lag is known", async () => {
  const rows = lagRows(
    [{ partition: 0, low: 0, high: 100 }, { partition: 1, low: 0, high: 50 }],
    [file(0, {})],
  );
  const spec = lagSpec(rows);
  assert.equal(
    spec.description,
    "Bar chart of the records each partition file is behind the topic's end: partition 0 90.",
  );
  const svg = await renderSvg(spec);
  const bars = [...svg.matchAll(/aria-label="Partition: (\d+); Lag \(records\): (\d+)/g)]
    .map((match) => [match[1], Number(match[2])]);
  assert.deepEqual(bars, [["0", 90]]);
});

Deno.test("the month bars are month.svg's without its title, described for screen readers", () => {
  const spec = monthsSpec([
    { label: "March-1991", month: "March", year: 1991, avg: 40, count: 3 },
  ]);
  assert.equal("title" in spec, false);
  assert.equal(
    spec.description,
    "Bar chart of the average daily max temperature in the latest year of March-1991 40.00.",
  );
});

Deno.test("chartsBody: null for a chart without data, an unreadable file left out", () => {
  assert.deepEqual(chartsBody([], undefined), {
    temperature: null,
    months: null,
    lag: null,
    rolling: null,
  });
  const files: StatsFile[] = [
    file(0, A),
    { partition: 1, path: "out/partition-1.json", error: "file is empty" },
  ];
  const rows = lagRows([{ partition: 1, low: 0, high: 5 }], files.slice(1));
  const body = chartsBody(files, rows);
  assert.deepEqual(
    (body.temperature!.data as { values: unknown[] }).values,
    [
      { month: "January", year: 1990, avg: 25, count: 2 },
      { month: "March", year: 1990, avg: 40, count: 1 },
      { month: "March", year: 1991, avg: 45, count: 2 },
    ],
  );
  assert.deepEqual(
    (body.months!.data as { values: { label: string }[] }).values.map((bar) => bar.label),
    ["January-1990", "March-1991"],
  );
  assert.equal(body.lag, null, "no partition with a known lag");
});

Deno.test("rollingSpec: the last 90 days, each day's mean and its 7-day rolling mean", () => {
  const points = Array.from({ length: 100 }, (_, i) => {
    const day = new Date(Date.UTC(2013, 0, 1 + i)).toISOString().slice(0, 10);
    return {
      day,
      count: 24,
      sum: 24 * i,
      mean: i,
      min: i - 1,
      max: i + 1,
      rolling: { mean: i - 3.333, min: i - 7, max: i + 1, days: 7 },
    };
  });
  const spec = rollingSpec(points);
  const values = (spec.data as { values: { day: string; line: string; value: number }[] }).values;
  assert.equal(values.length, 180);
  assert.deepEqual(values.slice(0, 2), [
    { day: "2013-01-11", line: "daily mean", value: 10, count: 24 },
    { day: "2013-01-11", line: "7-day rolling mean", value: 6.67, count: 24 },
  ]);
  assert.match(spec.description!, /for the 90 days from 2013-01-11 to 2013-04-10\.$/);
  assert.notEqual(chartsBody([], undefined, undefined, points).rolling, null);
});
