import assert from "node:assert/strict";
import { DEFAULT_RULE } from "../stats/anomaly.ts";
import { Buffer } from "node:buffer";
import {
  applyBatch,
  type KafkaRecord,
  mergeOutcomes,
  type PartitionState,
  partitionState,
} from "./consume.ts";
import { P7Error } from "../errors.ts";
import { RUN_HEADER } from "./kafka.ts";
import { encodeReport } from "./report.ts";
import { emptyStats } from "../stats/stats.ts";
import type { WindowConfig } from "../stats/windows.ts";

function record(
  offset: number,
  key: string | null,
  date: string,
  degrees: number,
  run = "r1",
): KafkaRecord {
  return {
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(encodeReport({ date, degrees })),
    headers: { [RUN_HEADER]: Buffer.from(run) },
  };
}

Deno.test("applyBatch counts, drops duplicates, rejects, and advances the offset", () => {
  const state: PartitionState = partitionState(emptyStats(2), DEFAULT_RULE);
  const outcome = applyBatch(state, [
    record(0, "January", "2000-01-01", 30),
    record(1, "January", "2000-01-02", 40),
    record(2, "January", "2000-01-02", 1_000_000),
    record(3, "March", "2000-01-03", 50),
    { offset: "4", key: Buffer.from("January"), value: null },
    record(5, "December", "2000-12-31", 20),
  ]);
  assert.equal(outcome.counted, 3);
  assert.equal(outcome.duplicates, 1);
  // What the stats topic gets: the entries counted into, not the duplicate's or rejects'.
  assert.deepEqual([...outcome.changed], ["January-2000", "December-2000"]);
  const next = applyBatch(partitionState(emptyStats(2), DEFAULT_RULE), [
    record(6, "January", "2001-01-01", 30),
    record(7, "January", "2001-01-02", 30),
    record(8, "December", "2001-12-01", 30),
    record(9, "January", "2002-01-01", 30),
  ]);
  assert.deepEqual([...next.changed], ["January-2001", "December-2001", "January-2002"]);
  assert.deepEqual(outcome.rejected.map((r) => [r.offset, r.reason]), [
    [3, 'key "March" does not match the month of 2000-01-03 (January)'],
    [4, "null value"],
  ]);
  assert.equal(
    outcome.rejected[0]!.value,
    Buffer.from(encodeReport({ date: "2000-01-03", degrees: 50 })).toString("base64"),
  );
  assert.equal(state.stats.offset, 6);
  assert.deepEqual(state.stats.months.January!["2000"], {
    count: 2,
    sum: 70,
    avg: 35,
    start: "2000-01-01",
    end: "2000-01-02",
    min: 30,
    max: 40,
    sumsq: 2500,
  });
  assert.deepEqual(outcome.anomalies, []);
});

Deno.test("applyBatch reports the counted days that are anomalies, never a duplicate", () => {
  const state = partitionState(emptyStats(1), DEFAULT_RULE);
  // Five earlier Julys of 70 and 80 (mean 75, standard deviation 5).
  const days = [1990, 1991, 1992, 1993, 1994].flatMap((year, i) => [
    record(2 * i, "July", `${year}-07-01`, 70),
    record(2 * i + 1, "July", `${year}-07-02`, 80),
  ]);
  assert.deepEqual(applyBatch(state, days).anomalies, []);
  const outcome = applyBatch(state, [
    record(10, "July", "1995-07-01", 90), // z = 3: not beyond
    record(11, "July", "1995-07-02", 91),
    record(12, "July", "1995-07-02", 1_000_000), // a duplicate
    record(13, "July", "1995-07-03", 59),
  ]);
  assert.deepEqual(outcome.anomalies, [
    { date: "1995-07-02", degrees: 91, mean: 75, std: 5, z: 3.2, partition: 1, offset: 11 },
    { date: "1995-07-03", degrees: 59, mean: 75, std: 5, z: -3.2, partition: 1, offset: 13 },
  ]);
});

Deno.test("records below the checkpoint offset are not counted again", () => {
  const state: PartitionState = partitionState(emptyStats(0), DEFAULT_RULE);
  applyBatch(state, [record(0, "March", "2000-03-01", 1), record(1, "March", "2000-03-02", 2)]);
  const again = applyBatch(state, [
    record(0, "March", "2000-03-01", 1),
    record(1, "March", "2000-03-02", 2),
    record(2, "March", "2000-03-03", 3),
  ]);
  assert.deepEqual([again.counted, again.duplicates, state.stats.offset], [1, 0, 3]);
  assert.equal(state.stats.months.March!["2000"]!.sum, 6);
});

Deno.test("a record from another producer run stops the batch with TOPIC_RECREATED", () => {
  const state: PartitionState = partitionState(emptyStats(0), DEFAULT_RULE);
  applyBatch(state, [record(0, "March", "2000-03-01", 1, "old")]);
  assert.throws(
    () => applyBatch(state, [record(1, "March", "1990-03-01", 1, "new")]),
    (error: P7Error) => error.code === "TOPIC_RECREATED" && /was recreated/.test(error.message),
  );
  assert.equal(state.stats.offset, 1);
  assert.throws(
    () => applyBatch(state, [record(0, "March", "1990-03-01", 1, "new")]),
    /was recreated/,
    "offsets of a recreated topic restart below the checkpoint",
  );
  // Records without the header (written by other clients) are counted as usual.
  const plain = { ...record(1, "March", "2000-03-02", 2), headers: {} };
  assert.equal(applyBatch(state, [plain]).counted, 1);
});

Deno.test("keys and run headers close to the expected text are read as they are", () => {
  const state: PartitionState = partitionState(emptyStats(0), DEFAULT_RULE);
  applyBatch(state, [record(0, "May", "2000-05-01", 1, "run-1")]);
  const outcome = applyBatch(state, [
    record(1, "Ma", "2000-05-02", 1, "run-1"),
    record(2, "Mayo", "2000-05-03", 1, "run-1"),
    record(3, "Mäy", "2000-05-04", 1, "run-1"),
    record(4, "May", "2000-05-05", 1, "run-1"),
  ]);
  assert.deepEqual(outcome.rejected.map((r) => r.reason.split(" does")[0]), [
    'key "Ma"',
    'key "Mayo"',
    'key "Mäy"',
  ]);
  assert.equal(outcome.counted, 1);
  for (const run of ["run-12", "run-", "run-2", "rün-1"]) {
    assert.throws(
      () => applyBatch(state, [record(5, "May", "2000-05-06", 1, run)]),
      /was recreated/,
      run,
    );
  }
});

Deno.test("mergeOutcomes: sums, both batches' lines in order, the union of the changed entries", () => {
  const rejected = (offset: number) => ({
    partition: 0,
    offset,
    reason: "null value",
    value: null,
  });
  const merged = mergeOutcomes(
    {
      counted: 2,
      duplicates: 1,
      rejected: [rejected(1)],
      anomalies: [],
      changed: new Set(["May-2000"]),
      closed: [],
      late: [],
      updated: new Set(),
    },
    {
      counted: 3,
      duplicates: 0,
      rejected: [rejected(7)],
      anomalies: [],
      changed: new Set(["May-2000", "June-2000"]),
      closed: [],
      late: [],
      updated: new Set(),
    },
  );
  assert.deepEqual(merged, {
    counted: 5,
    duplicates: 1,
    rejected: [rejected(1), rejected(7)],
    anomalies: [],
    changed: new Set(["May-2000", "June-2000"]),
    closed: [],
    late: [],
    updated: new Set(),
  });
});

function station(
  offset: number,
  stationId: string,
  time: string,
  values: Record<string, number>,
): KafkaRecord {
  return {
    offset: String(offset),
    key: Buffer.from(stationId),
    value: Buffer.from(
      encodeReport({ date: time.slice(0, 10), degrees: 0, stationId, time, ...values }),
    ),
  };
}

Deno.test("a station's values: counted per measurement, anomalies against its own climate", () => {
  const state = partitionState(emptyStats(1), { sigma: 3, years: 5 });
  const records: KafkaRecord[] = [];
  // Six Julys of humidity 50-59 at JFK; LGA a station of its own, far drier.
  for (let year = 2000; year < 2006; year++) {
    for (let day = 10; day < 20; day++) {
      const time = `${year}-07-${day}T12:00:00Z`;
      records.push(station(records.length, "JFK", time, { humidity: 40 + day }));
      records.push(station(records.length, "LGA", time, { humidity: day, pressure: 1000 + day }));
    }
  }
  records.push(station(records.length, "JFK", "2006-07-01T12:00:00Z", { humidity: 99 }));
  records.push(station(records.length, "JFK", "2006-07-01T12:00:00Z", { humidity: 1 })); // duplicate
  records.push(station(records.length, "LGA", "2006-07-01T12:00:00Z", { humidity: 15 }));
  const outcome = applyBatch(state, records);
  assert.equal(outcome.counted, 122);
  assert.equal(outcome.duplicates, 1);
  assert.deepEqual(
    outcome.anomalies.map(({ station, measure, time, degrees }) => ({
      station,
      measure,
      time,
      degrees,
    })),
    [{ station: "JFK", measure: "humidity", time: "2006-07-01T12:00:00Z", degrees: 99 }],
  );
  assert.ok(outcome.changed.has("LGA/pressure/July-2005"));
  assert.equal(state.stats.stations!.JFK!.measures.humidity!.July!["2006"]!.count, 1);
  assert.equal(state.stats.offset, records.length);
});

Deno.test("windows: each station's measurements, late values of a station behind the stream", () => {
  const hourly: WindowConfig = {
    windows: [{ label: "1h", size: 3_600_000, hop: 3_600_000 }],
    grace: 0,
    text: "1h grace 0",
    emit: "final",
  };
  const state = partitionState(emptyStats(3), DEFAULT_RULE, undefined, hourly);
  const outcome = applyBatch(state, [
    station(0, "JFK", "2013-07-04T13:00:00Z", { temperature: 80, humidity: 50 }),
    station(1, "JFK", "2013-07-04T13:30:00Z", { temperature: 82 }),
    station(2, "JFK", "2013-07-04T15:00:00Z", { temperature: 84 }), // closes 13:00
    station(3, "LGA", "2013-07-04T13:45:00Z", { temperature: 79 }), // late for 13:00
  ]);
  assert.deepEqual(
    outcome.closed.map(({ key, count, avg, min, max, offset }) => ({
      key,
      count,
      avg,
      min,
      max,
      offset,
    })),
    [
      {
        key: "JFK/humidity/1h/2013-07-04T13:00:00Z",
        count: 1,
        avg: 50,
        min: 50,
        max: 50,
        offset: 2,
      },
      {
        key: "JFK/temperature/1h/2013-07-04T13:00:00Z",
        count: 2,
        avg: 81,
        min: 80,
        max: 82,
        offset: 2,
      },
    ],
  );
  assert.deepEqual(
    outcome.late.map(({ series, window, lateBy, offset }) => ({
      series,
      key: window.key,
      lateBy,
      offset,
    })),
    [{
      series: "LGA/temperature",
      key: "LGA/temperature/1h/2013-07-04T13:00:00Z",
      lateBy: 3600,
      offset: 3,
    }],
  );
  assert.deepEqual(Object.keys(state.stats.windows!.open), [
    "JFK/temperature/1h/2013-07-04T15:00:00Z",
  ]);
  // The late value is still counted into its month: only the closed window misses it.
  assert.equal(state.stats.stations!.LGA!.measures.temperature!.July!["2013"]!.count, 1);
});

Deno.test("windows: the course's series is windowed per partition, by day", () => {
  const weekly: WindowConfig = {
    windows: [{ label: "7d", size: 7 * 86_400_000, hop: 7 * 86_400_000 }],
    grace: 0,
    text: "7d grace 0",
    emit: "final",
  };
  const state = partitionState(emptyStats(2), DEFAULT_RULE, undefined, weekly);
  const days = Array.from({ length: 15 }, (_, i) => `2000-01-${String(i + 1).padStart(2, "0")}`);
  const outcome = applyBatch(state, days.map((date, i) => record(i, "January", date, i)));
  // The epoch began on a Thursday: weeks run Thursday to Wednesday, 2000-01-06 to 01-12.
  assert.deepEqual(
    outcome.closed.map(({ key, count, sum }) => ({ key, count, sum })),
    [
      { key: "partition-2/degrees/7d/1999-12-30T00:00:00Z", count: 5, sum: 0 + 1 + 2 + 3 + 4 },
      {
        key: "partition-2/degrees/7d/2000-01-06T00:00:00Z",
        count: 7,
        sum: 5 + 6 + 7 + 8 + 9 + 10 + 11,
      },
    ],
  );
  assert.deepEqual(outcome.late, []);
});
