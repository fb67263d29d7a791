import assert from "node:assert/strict";
import { measureInfo } from "../stats/measures.ts";
import { type Layout, rowLayout } from "./replay.ts";
import { checkStationOrder, normalizeTime, type StationReplayOptions } from "./station_replay.ts";

const options: StationReplayOptions = {
  stationColumn: "origin",
  timeColumn: "time_hour",
  measures: [
    { measure: measureInfo("temperature")!, column: "temp", unit: "C" },
    { measure: measureInfo("humidity")!, column: "humid", unit: "%" },
    { measure: measureInfo("wind_speed")!, column: "wind", unit: "km/h" },
  ],
};

Deno.test("normalizeTime gives UTC seconds, and says why it cannot", () => {
  assert.equal(normalizeTime("2013-01-01T06:00:00Z"), "2013-01-01T06:00:00Z");
  assert.equal(normalizeTime("2013-01-01 01:00:00-05:00"), "2013-01-01T06:00:00Z");
  assert.equal(normalizeTime("2013-01-01T06:00"), "2013-01-01T06:00:00Z");
  assert.equal(normalizeTime("2013-12-31T23:30:00-0100"), "2014-01-01T00:30:00Z");
  assert.deepEqual(normalizeTime("2013-02-30T06:00:00Z"), {
    reason: '"2013-02-30T06:00:00Z" does not exist',
  });
  assert.deepEqual(normalizeTime("yesterday"), { reason: '"yesterday" is not an ISO 8601 time' });
});

Deno.test("a station's row: units converted, NA and empty not observed, impossible values noted", () => {
  const layout = rowLayout("origin,time_hour,temp,humid,wind", options) as Layout;
  assert.deepEqual(layout.parseRow("JFK,2013-07-04T13:00:00Z,30,NA,"), {
    date: "2013-07-04",
    degrees: 86,
    stationId: "JFK",
    time: "2013-07-04T13:00:00Z",
    temperature: 86,
  });
  assert.deepEqual(layout.parseRow("JFK,2013-07-04T14:00:00Z,NA,104,10"), {
    report: {
      date: "2013-07-04",
      degrees: 0,
      stationId: "JFK",
      time: "2013-07-04T14:00:00Z",
      windSpeed: 6.2137,
    },
    notes: ["humid 104 %: humidity 104 % is above 100; humidity not sent"],
  });
  assert.deepEqual(layout.parseRow("JFK,2013-07-04T15:00:00Z,NA,NA,NA"), {
    reason: "nothing observed",
  });
  assert.deepEqual(layout.parseRow("JFK,2013-07-04T15:00:00Z,warm,NA,NA"), {
    reason: 'nothing left to send (temp "warm" is not a number; temperature not sent)',
  });
  assert.deepEqual(layout.parseRow(",2013-07-04T15:00:00Z,1,NA,NA"), {
    reason: "origin is missing",
  });
  assert.deepEqual(rowLayout("origin,time_hour,temp", options), {
    reason: 'no column "humid" in its header (origin, time_hour, temp)',
  });
});

Deno.test("a station's rows are in order per station", () => {
  assert.equal(checkStationOrder("JFK", "2013-01-01T07:00:00Z", undefined), undefined);
  assert.deepEqual(
    checkStationOrder("JFK", "2013-01-01T07:00:00Z", { time: "2013-01-01T07:00:00Z", line: 4 }),
    { reason: "time 2013-01-01T07:00:00Z of JFK is not after its 2013-01-01T07:00:00Z (line 4)" },
  );
});
