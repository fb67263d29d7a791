import assert from "node:assert/strict";
import { anomalyCheck, DEFAULT_RULE } from "./anomaly.ts";
import { MONTHS, type Report } from "../kafka/report.ts";
import { countReport, type MonthTable } from "./stats.ts";
import { mulberry32 } from "../sources/weather.ts";

/** The anomaly of a day against every earlier year of its month, summed from scratch. */
function reference(months: MonthTable, month: string, report: Report, sigma: number) {
  const year = report.date.slice(0, 4);
  const earlier = Object.entries(months[month] ?? {}).filter(([y]) => y < year)
    .sort(([a], [b]) => a < b ? -1 : 1).map(([, entry]) => entry);
  if (earlier.length < DEFAULT_RULE.years) return undefined;
  let [count, sum, sumsq] = [0, 0, 0];
  for (const entry of earlier) {
    count += entry.count;
    sum += entry.sum;
    sumsq += entry.sumsq;
  }
  const mean = sum / count;
  const std = Math.sqrt(Math.max(0, sumsq / count - mean * mean));
  const z = (report.degrees - mean) / std;
  return std > 0 && Math.abs(z) > sigma ? { mean, std, z } : undefined;
}

function day(year: number, month: number, day: number): string {
  return `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

Deno.test("anomalyCheck finds what summing every earlier year from scratch finds, in and out of order", () => {
  const random = mulberry32(11);
  const months: MonthTable = {};
  const check = anomalyCheck(months, { sigma: 2, years: 5 });
  let found = 0;
  let offset = 0;
  for (let year = 1950; year < 2000; year++) {
    for (let month = 1; month <= 12; month++) {
      // Now and then a year is skipped, or a day of an earlier year comes late.
      if (random() < 0.05) continue;
      for (let d = 1; d <= 28; d++) {
        const late = random() < 0.01 && year > 1951;
        const date = late
          ? day(year - 1 - Math.floor(random() * 3), month, 28)
          : day(year, month, d);
        const report = { date, degrees: 50 + 15 * Math.sin(month) + 12 * (random() - 0.5) ** 3 };
        const name = MONTHS[month - 1]!;
        offset++;
        if (!countReport(months, name, report)) continue;
        const expected = reference(months, name, report, 2);
        const anomaly = check(name, report, 0, offset);
        assert.deepEqual(
          anomaly,
          expected && { date, degrees: report.degrees, ...expected, partition: 0, offset },
        );
        if (anomaly) found++;
      }
    }
  }
  assert.ok(found > 20, `only ${found} anomalies: the test checks too little`);
});

Deno.test("anomalyCheck needs five earlier years and a spread", () => {
  const counter = (month: string) => {
    const months: MonthTable = {};
    const check = anomalyCheck(months, DEFAULT_RULE);
    return (date: string, degrees: number) => {
      assert.ok(countReport(months, month, { date, degrees }));
      return check(month, { date, degrees }, 3, 0);
    };
  };
  const may = counter("May");
  for (let year = 2000; year < 2004; year++) may(day(year, 5, 1), 60), may(day(year, 5, 2), 62);
  assert.equal(may("2004-05-01", 1000), undefined, "four earlier years");
  const june = counter("June");
  for (let year = 2000; year < 2005; year++) june(day(year, 6, 1), 60), june(day(year, 6, 2), 62);
  assert.equal(june("2005-06-01", 63.5)?.z, undefined, "z = 2.5");
  assert.deepEqual(june("2005-06-02", 70), {
    date: "2005-06-02",
    degrees: 70,
    mean: 61,
    std: 1,
    z: 9,
    partition: 3,
    offset: 0,
  });
  const july = counter("July");
  for (let year = 2000; year < 2005; year++) july(day(year, 7, 1), 60);
  assert.equal(july("2005-07-01", 90), undefined, "no spread");
});
