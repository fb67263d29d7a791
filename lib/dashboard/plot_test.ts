import assert from "node:assert/strict";
import { latestBars, monthSpec, renderSvg } from "./plot.ts";
import type { MonthStats, MonthTable } from "../stats/stats.ts";

function stats(count: number, sum: number, year: string, month: string): MonthStats {
  return {
    count,
    sum,
    avg: sum / count,
    start: `${year}-${month}-01`,
    end: `${year}-${month}-0${count}`,
    min: sum / count,
    max: sum / count,
    sumsq: (sum * sum) / count,
  };
}

const PARTITION_0: MonthTable = {
  March: { "2009": stats(3, 120, "2009", "03"), "2010": stats(2, 90, "2010", "03") },
};
const PARTITION_2: MonthTable = {
  January: { "2010": stats(2, 40, "2010", "01"), "2011": stats(1, 25, "2011", "01") },
  December: { "2012": stats(1, 30, "2012", "12") },
};

Deno.test("latestBars takes each month's latest year across files", () => {
  assert.deepEqual(latestBars([PARTITION_0, PARTITION_2]), [
    { label: "January-2011", month: "January", year: 2011, avg: 25, count: 1 },
    { label: "March-2010", month: "March", year: 2010, avg: 45, count: 2 },
  ]);
  assert.deepEqual(latestBars([]), []);
});

Deno.test("a month split over two files is merged by count and sum", () => {
  const other: MonthTable = { March: { "2010": stats(1, 30, "2010", "03") } };
  assert.deepEqual(latestBars([PARTITION_0, other]), [
    { label: "March-2010", month: "March", year: 2010, avg: 40, count: 3 },
  ]);
});

Deno.test("the SVG has the bar labels and the y axis title", async () => {
  const svg = await renderSvg(monthSpec(latestBars([PARTITION_0, PARTITION_2])));
  assert.match(svg, /^<svg/);
  for (const text of ["January-2011", "March-2010", "Avg. Max Temperature"]) {
    assert.ok(svg.includes(text), text);
  }
  const bars = [...svg.matchAll(/aria-label="label: ([^;]*); Avg. Max Temperature: ([^"]*)"/g)];
  assert.deepEqual(bars.map((bar) => [bar[1], bar[2]]), [["January-2011", "25"], [
    "March-2010",
    "45",
  ]]);
});
