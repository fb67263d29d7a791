import assert from "node:assert/strict";
import { encodeReport, validateRecord } from "../kafka/report.ts";
import { generateStationReports, stationNames } from "./station_weather.ts";

Deno.test("simulated stations: each its own climate, every report valid, repeatable", () => {
  assert.deepEqual(stationNames(3), ["StationA", "StationB", "StationC"]);
  assert.equal(stationNames(28)[27], "Station28");
  const take = (seed: number) => {
    const reports = generateStationReports({ seed, stations: 10 });
    return Array.from({ length: 10 * 3650 }, () => reports.next().value!);
  };
  const run = take(7);
  assert.deepEqual(take(7).slice(0, 50), run.slice(0, 50));
  const duplicates = run.filter((item) => item.duplicate).length;
  assert.ok(duplicates > 0.04 * run.length && duplicates < 0.06 * run.length, `${duplicates}`);
  const means = new Map<string, number[]>();
  for (const { report, duplicate } of run) {
    const verdict = validateRecord(report.stationId!, encodeReport(report));
    assert.ok("report" in verdict, JSON.stringify(verdict));
    if (duplicate) continue;
    (means.get(report.stationId!) ?? means.set(report.stationId!, []).get(report.stationId!)!)
      .push(report.temperature!);
  }
  assert.equal(means.size, 10);
  const averages = [...means.values()].map((values) =>
    values.reduce((a, b) => a + b) / values.length
  );
  assert.ok(Math.max(...averages) - Math.min(...averages) > 5, `${averages}`);
});
