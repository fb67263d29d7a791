import assert from "node:assert/strict";
import { monthOf } from "./report.ts";
import { DUPLICATE_DEGREES, type GeneratedReport, generateReports } from "./weather.ts";

function take(n: number, seed: number, duplicateRate?: number): GeneratedReport[] {
  const out: GeneratedReport[] = [];
  for (const item of generateReports({ seed, duplicateRate })) {
    out.push(item);
    if (out.length === n) break;
  }
  return out;
}

Deno.test("the same seed gives the same reports, another seed others", () => {
  assert.deepEqual(take(2000, 42), take(2000, 42));
  assert.notDeepEqual(take(50, 42), take(50, 43));
});

Deno.test("days run from 1990-01-01 one by one through leap days", () => {
  const days = take(40_000, 1, 0).map((item) => item.report.date);
  assert.equal(days[0], "1990-01-01");
  assert.ok(days.includes("1992-02-29") && days.includes("2000-02-29"));
  assert.ok(!days.includes("1900-02-29") && !days.includes("2001-02-29"));
  for (let i = 1; i < days.length; i++) {
    const step = Date.parse(days[i]!) - Date.parse(days[i - 1]!);
    assert.equal(step, 86_400_000, `${days[i - 1]} -> ${days[i]}`);
    assert.ok(monthOf(days[i]!));
  }
});

Deno.test("temperatures are seasonal, warming, rounded to 4 decimals", () => {
  const reports = take(365 * 60, 9, 0).map((item) => item.report);
  const mean = (month: string, from: number, to: number) => {
    const chosen = reports.filter((r) =>
      r.date.slice(5, 7) === month && Number(r.date.slice(0, 4)) >= from &&
      Number(r.date.slice(0, 4)) < to
    );
    return chosen.reduce((s, r) => s + r.degrees, 0) / chosen.length;
  };
  assert.ok(mean("01", 1990, 2040) < 35 && mean("01", 1990, 2040) > 20, "January is cold");
  assert.ok(mean("07", 1990, 2040) > 75 && mean("07", 1990, 2040) < 90, "July is warm");
  assert.ok(mean("07", 2020, 2040) > mean("07", 1990, 2010), "it warms over decades");
  for (const { degrees } of reports) assert.equal(Math.round(degrees * 1e4) / 1e4, degrees);
});

Deno.test("duplicates re-send the previous day with 1000000 degrees at the given rate", () => {
  const items = take(100_000, 5);
  const duplicates = items.filter((item) => item.duplicate);
  const rate = duplicates.length / (items.length - duplicates.length);
  assert.ok(rate > 0.045 && rate < 0.055, `rate ${rate}`);
  assert.equal(items[0]!.duplicate, false);
  for (let i = 0; i < items.length; i++) {
    if (!items[i]!.duplicate) continue;
    assert.equal(items[i]!.report.degrees, DUPLICATE_DEGREES);
    const previous = items.slice(0, i).findLast((item) => !item.duplicate)!;
    assert.equal(items[i]!.report.date, previous.report.date);
  }
  assert.equal(take(10_000, 5, 0).filter((item) => item.duplicate).length, 0);
});
