import assert from "node:assert/strict";
import {
  closeIdle,
  emptyWindows,
  isoSeconds,
  parseDuration,
  parseWindows,
  type WindowConfig,
  type WindowOutcome,
  windowUpdates,
  windowValue,
} from "./windows.ts";

const HOUR = 3_600_000;
const config = (
  grace: number,
  hop?: number,
  size = HOUR,
  emit: WindowConfig["emit"] = "final",
): WindowConfig => ({
  windows: [{ label: `${size / HOUR}h`, size, hop: hop ?? size }],
  grace,
  text: "test",
  emit,
});
const at = (time: string) => Date.parse(time);

function feed(cfg: WindowConfig, values: [string, number][]) {
  const state = emptyWindows(cfg);
  const outcome: WindowOutcome = { closed: [], late: [], updated: new Set() };
  values.forEach(([time, value], offset) =>
    windowValue(state, cfg, {
      series: "JFK/temperature",
      time: at(time),
      value,
      partition: 1,
      offset,
    }, outcome)
  );
  return { state, outcome };
}

Deno.test("parseDuration reads 90s, 30m, 1h, 7d and nothing else", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("30m"), 1_800_000);
  assert.equal(parseDuration("1h"), HOUR);
  assert.equal(parseDuration("7d"), 7 * 24 * HOUR);
  for (const bad of ["0h", "1w", "h", "1.5h", "-1h", ""]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

Deno.test("tumbling windows close once the stream time passes their end plus the grace", () => {
  const { state, outcome } = feed(config(0), [
    ["2013-07-04T13:05:00Z", 80],
    ["2013-07-04T13:30:00Z", 84],
    ["2013-07-04T14:00:00Z", 90],
  ]);
  assert.deepEqual(outcome.late, []);
  assert.deepEqual(outcome.closed, [{
    partition: 1,
    offset: 2,
    key: "JFK/temperature/1h/2013-07-04T13:00:00Z",
    series: "JFK/temperature",
    size: "1h",
    start: "2013-07-04T13:00:00Z",
    end: "2013-07-04T14:00:00Z",
    count: 2,
    sum: 164,
    avg: 82,
    min: 80,
    max: 84,
    final: true,
    closedBy: "stream time",
  }]);
  assert.deepEqual(Object.keys(state.open), ["JFK/temperature/1h/2013-07-04T14:00:00Z"]);
  assert.equal(state.streamTime, "2013-07-04T14:00:00Z");
});

Deno.test("a value within the grace is counted; after it, it is late and the window stays final", () => {
  const { state, outcome } = feed(config(HOUR), [
    ["2013-07-04T13:10:00Z", 1],
    ["2013-07-04T14:50:00Z", 2], // stream 14:50: 13:00 window open until 15:00
    ["2013-07-04T13:20:00Z", 3], // in its grace: counted
    ["2013-07-04T16:10:00Z", 4], // closes 13:00 (and 14:00)
    ["2013-07-04T13:59:59Z", 5], // late by 16:10 - 15:00
  ]);
  assert.deepEqual(outcome.closed.map((w) => [w.start, w.count, w.sum]), [
    ["2013-07-04T13:00:00Z", 2, 4],
    ["2013-07-04T14:00:00Z", 1, 2],
  ]);
  assert.deepEqual(outcome.late, [{
    partition: 1,
    offset: 4,
    series: "JFK/temperature",
    time: "2013-07-04T13:59:59Z",
    value: 5,
    window: {
      key: "JFK/temperature/1h/2013-07-04T13:00:00Z",
      size: "1h",
      start: "2013-07-04T13:00:00Z",
      end: "2013-07-04T14:00:00Z",
    },
    streamTime: "2013-07-04T16:10:00Z",
    lateBy: 70 * 60,
  }]);
  assert.equal(state.open["JFK/temperature/1h/2013-07-04T13:00:00Z"], undefined);
});

Deno.test("hopping windows: a value is in every window that holds it", () => {
  const { state } = feed(config(0, HOUR, 2 * HOUR), [["2013-07-04T13:30:00Z", 7]]);
  assert.deepEqual(Object.keys(state.open).sort(), [
    "JFK/temperature/2h/2013-07-04T12:00:00Z",
    "JFK/temperature/2h/2013-07-04T13:00:00Z",
  ]);
});

Deno.test("an idle close makes every open window final, and later values for them late", () => {
  const cfg = config(HOUR);
  const { state, outcome } = feed(cfg, [["2013-07-04T13:30:00Z", 1]]);
  closeIdle(state, 1, 0, outcome);
  assert.deepEqual(outcome.closed.map((w) => [w.start, w.closedBy, w.offset]), [
    ["2013-07-04T13:00:00Z", "idle", 0],
  ]);
  assert.equal(state.idleClosed, "2013-07-04T14:00:00Z");
  windowValue(state, cfg, {
    series: "JFK/temperature",
    time: at("2013-07-04T13:45:00Z"),
    value: 2,
    partition: 1,
    offset: 1,
  }, outcome);
  assert.equal(outcome.late.length, 1);
  assert.equal(outcome.late[0]!.lateBy, 0);
  // A later window opens as usual.
  windowValue(state, cfg, {
    series: "JFK/temperature",
    time: at("2013-07-04T14:05:00Z"),
    value: 3,
    partition: 1,
    offset: 2,
  }, outcome);
  assert.deepEqual(Object.keys(state.open), ["JFK/temperature/1h/2013-07-04T14:00:00Z"]);
});

Deno.test("parseWindows reads back what the checkpoint holds, and says what is wrong", () => {
  const { state } = feed(config(HOUR), [["2013-07-04T13:30:00Z", 1], ["2013-07-04T14:30:00Z", 2]]);
  assert.deepEqual(parseWindows(JSON.parse(JSON.stringify(state))), state);
  const broken = JSON.parse(JSON.stringify(state));
  broken.open["JFK/temperature/1h/2013-07-04T13:00:00Z"].count = 0;
  assert.throws(() => parseWindows(broken), /count 0 is not a positive integer/);
  assert.throws(
    () => parseWindows({ ...state, streamTime: "soon" }),
    /streamTime "soon" is not a time/,
  );
});

Deno.test("--emit updates: the open windows a value went into, as they are now, not final", () => {
  const { state, outcome } = feed(config(0, undefined, HOUR, "updates"), [
    ["2013-07-04T13:10:00Z", 1],
    ["2013-07-04T13:20:00Z", 3],
    ["2013-07-04T14:00:00Z", 5], // closes 13:00
  ]);
  assert.deepEqual([...outcome.updated], [
    "JFK/temperature/1h/2013-07-04T13:00:00Z",
    "JFK/temperature/1h/2013-07-04T14:00:00Z",
  ]);
  // The closed one is published as final instead.
  assert.deepEqual(windowUpdates(state, outcome.updated, 1, 2), [{
    partition: 1,
    offset: 2,
    key: "JFK/temperature/1h/2013-07-04T14:00:00Z",
    series: "JFK/temperature",
    size: "1h",
    start: "2013-07-04T14:00:00Z",
    end: "2013-07-04T15:00:00Z",
    count: 1,
    sum: 5,
    avg: 5,
    min: 5,
    max: 5,
    final: false,
  }]);
  assert.equal(outcome.closed[0]!.sum, 4);
  // Without it, nothing is tracked.
  assert.equal(feed(config(0), [["2013-07-04T13:10:00Z", 1]]).outcome.updated.size, 0);
});

Deno.test("isoSeconds formats as Date does, across centuries, leap days and the epoch", () => {
  const times = [
    0,
    -1000,
    Date.UTC(2000, 1, 29, 23, 59, 59),
    Date.UTC(1900, 2, 1),
    Date.UTC(2013, 6, 4, 13),
  ];
  for (let ms = Date.UTC(1600, 0, 1); ms < Date.UTC(2400, 0, 1); ms += 7_777_777_777) {
    times.push(ms);
  }
  for (const ms of times) {
    assert.equal(isoSeconds(ms), new Date(ms).toISOString().slice(0, 19) + "Z", String(ms));
  }
});
