import assert from "node:assert/strict";
import { monthOf } from "../kafka/report.ts";
import { DUPLICATE_DEGREES, type GeneratedReport, generateReports } from "./weather.ts";

function take(
  n: number,
  seed: number,
  duplicateRate?: number,
  spellRate?: number,
): GeneratedReport[] {
  const out: GeneratedReport[] = [];
  for (const item of generateReports({ seed, duplicateRate, spellRate })) {
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

Deno.test("rare spells of 4 to 10 days take a day 18 to 30 °F off its weather, up or down", () => {
  const days = 365 * 40;
  const plain = take(days, 3, 0, 0).map((item) => item.report.degrees);
  const spelled = take(days, 3, 0).map((item) => item.report.degrees);
  assert.deepEqual(take(days, 3, 0).map((item) => item.report.degrees), spelled, "seeded");
  const offsets = spelled.map((degrees, i) => degrees - plain[i]!);
  const spells: number[][] = [];
  offsets.forEach((offset, i) => {
    if (Math.abs(offset) < 1e-6) return;
    if (i === 0 || Math.abs(offsets[i - 1]!) < 1e-6) spells.push([]);
    spells.at(-1)!.push(offset);
  });
  assert.ok(spells.length >= 5 && spells.length <= 20, `${spells.length} spells in 40 years`);
  const peaks = spells.map((spell) => spell.reduce((a, b) => Math.abs(b) > Math.abs(a) ? b : a));
  assert.ok(peaks.some((peak) => peak > 0) && peaks.some((peak) => peak < 0), "heat and cold");
  for (const [i, spell] of spells.entries()) {
    assert.ok(spell.length >= 4 && spell.length <= 10, `spell of ${spell.length} days`);
    assert.ok(Math.abs(peaks[i]!) >= 14 && Math.abs(peaks[i]!) <= 30, `peak ${peaks[i]}`);
    assert.ok(spell.every((offset) => Math.sign(offset) === Math.sign(peaks[i]!)));
  }
});
