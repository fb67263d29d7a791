import assert from "node:assert/strict";
import { lateBody, rollingBody, rollingDays } from "./rolling.ts";
import type { ClosedWindow, LateValue } from "./windows.ts";

function day(series: string, start: string, values: number[], size = "1d"): ClosedWindow {
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    partition: 0,
    offset: 0,
    key: `${series}/${size}/${start}T00:00:00Z`,
    series,
    size,
    start: `${start}T00:00:00Z`,
    end: "",
    count: values.length,
    sum,
    avg: sum / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    final: true,
    closedBy: "stream time",
  };
}

const JFK = { station: "JFK", measure: "temperature" as const };

Deno.test("rolling means weigh each value, span the days that have a window, and skip others", () => {
  const windows = [
    day("JFK/temperature", "2013-07-03", [70, 72]),
    day("JFK/temperature", "2013-07-01", [60]),
    day("JFK/temperature", "2013-07-02", [64, 66, 68]),
    day("JFK/temperature", "2013-07-05", [80]), // 07-04 has no window
    day("JFK/humidity", "2013-07-02", [99]),
    day("JFK/temperature", "2013-07-02", [1], "1h"),
  ];
  const points = rollingDays(windows, JFK, 3);
  assert.deepEqual(points.map((p) => [p.day, p.mean, p.rolling]), [
    ["2013-07-01", 60, { mean: 60, min: 60, max: 60, days: 1 }],
    ["2013-07-02", 66, { mean: 64.5, min: 60, max: 68, days: 2 }],
    ["2013-07-03", 71, { mean: 400 / 6, min: 60, max: 72, days: 3 }],
    // 07-03 to 07-05: two days with a window.
    ["2013-07-05", 80, { mean: 74, min: 70, max: 80, days: 2 }],
  ]);
  assert.equal(rollingBody(windows, JFK, 3)!.series, "JFK/temperature");
  assert.equal(rollingBody(windows, { station: "LGA", measure: "temperature" }, 3), undefined);
});

Deno.test("the course's series: every partition's daily windows, as one", () => {
  const windows = [
    day("partition-1/degrees", "2000-01-31", [10]),
    day("partition-2/degrees", "2000-02-01", [20]),
    day("JFK/temperature", "2000-02-01", [99]),
  ];
  const body = rollingBody(windows, undefined, 7)!;
  assert.equal(body.series, "degrees");
  assert.deepEqual(body.points.map((p) => [p.day, p.rolling.mean]), [
    ["2000-01-31", 10],
    ["2000-02-01", 15],
  ]);
});

Deno.test("lateBody: the series' late values, how many, the latest first", () => {
  const late = (series: string, streamTime: string): LateValue => ({
    partition: 0,
    offset: 0,
    series,
    time: "",
    value: 1,
    window: { key: "", size: "1h", start: "", end: "" },
    streamTime,
    lateBy: 0,
  });
  const body = lateBody(
    [
      late("JFK/temperature", "2013-07-01T03:00:00Z"),
      late("JFK/temperature", "2013-07-01T05:00:00Z"),
      late("LGA/temperature", "2013-07-01T06:00:00Z"),
      late("JFK/temperature", "2013-07-01T04:00:00Z"),
    ],
    JFK,
    2,
  );
  assert.equal(body.total, 3);
  assert.deepEqual(body.latest.map((l) => l.streamTime), [
    "2013-07-01T05:00:00Z",
    "2013-07-01T04:00:00Z",
  ]);
});
