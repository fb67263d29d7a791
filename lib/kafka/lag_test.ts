import assert from "node:assert/strict";
import type { StatsFile } from "../checkpoint.ts";
import {
  addSample,
  lagRows,
  type OffsetSample,
  problem,
  RATE_WINDOW_MS,
  rates,
  statusLine,
} from "./lag.ts";

const OFFSETS = [
  { partition: 0, low: 0, high: 100 },
  { partition: 1, low: 0, high: 50 },
  { partition: 2, low: 0, high: 70 },
  { partition: 3, low: 0, high: 10 },
];

function file(partition: number, offset: number): StatsFile {
  return {
    partition,
    path: `out/partition-${partition}.json`,
    stats: { partition, offset, months: {} },
  };
}

Deno.test("lagRows: one row per partition of the topic or the folder, each in its state", () => {
  const files: StatsFile[] = [
    file(0, 90),
    { partition: 1, path: "out/partition-1.json", error: "file is empty" },
    file(3, 12),
    file(7, 4),
  ];
  assert.deepEqual(lagRows(OFFSETS, files), [
    { partition: 0, file: "partition-0.json", state: "ok", end: 100, checkpoint: 90, lag: 10 },
    {
      partition: 1,
      file: "partition-1.json",
      state: "unreadable",
      end: 50,
      checkpoint: null,
      lag: null,
      error: "file is empty",
    },
    {
      partition: 2,
      file: "partition-2.json",
      state: "missing",
      end: 70,
      checkpoint: null,
      lag: null,
    },
    { partition: 3, file: "partition-3.json", state: "ahead", end: 10, checkpoint: 12, lag: -2 },
    {
      partition: 7,
      file: "partition-7.json",
      state: "unknown",
      end: null,
      checkpoint: 4,
      lag: null,
    },
  ]);
  assert.deepEqual(lagRows([], []), []);
});

Deno.test("problem: a sentence for each unhealthy state, and for a lag above the limit", () => {
  const rows = lagRows(OFFSETS, [
    file(0, 90),
    { partition: 1, path: "out/partition-1.json", error: "file is empty" },
    file(3, 12),
    file(7, 4),
  ]);
  assert.deepEqual(rows.map((row) => problem(row, 10)), [
    undefined,
    'cannot read "partition-1.json": file is empty',
    'partition 2 has no file "partition-2.json"',
    "checkpoint 12 of partition 3 is beyond the topic's end 10; was the topic recreated?",
    '"partition-7.json" is for partition 7, which the topic does not have',
  ]);
  assert.equal(problem(rows[0]!, 9), "partition 0 is 10 records behind (more than 9)");
  assert.equal(problem(rows[0]!, 0), "partition 0 is 10 records behind (more than 0)");
});

Deno.test("statusLine: end, checkpoint and lag, and the state when not ok", () => {
  const [ok, , missing] = lagRows(OFFSETS, [file(0, 90)]);
  assert.equal(statusLine(ok!), "partition 0: end 100, checkpoint 90, lag 10");
  assert.equal(statusLine(missing!), "partition 2: end 70, checkpoint -, lag - (missing)");
});

function sample(seconds: number, ends: number[], checkpoints: number[]): OffsetSample {
  return {
    time: seconds * 1000,
    ends: Object.fromEntries(ends.map((end, p) => [p, end])),
    checkpoints: Object.fromEntries(checkpoints.map((offset, p) => [p, offset])),
  };
}

Deno.test("rates: records per second between the oldest and newest sample", () => {
  let ring: OffsetSample[] = [];
  ring = addSample(ring, sample(0, [100, 10], [40, 10]));
  assert.deepEqual(rates(ring, 0), { producedPerSec: null, consumedPerSec: null });
  ring = addSample(ring, sample(10, [150, 10], [100, 10]));
  ring = addSample(ring, sample(20, [300, 10], [240, 10]));
  assert.deepEqual(rates(ring, 0), { producedPerSec: 10, consumedPerSec: 10 });
  assert.deepEqual(rates(ring, 1), { producedPerSec: 0, consumedPerSec: 0 });
  assert.deepEqual(rates(ring, 5), { producedPerSec: null, consumedPerSec: null });
});

Deno.test("addSample keeps one minute of samples", () => {
  let ring: OffsetSample[] = [];
  for (let second = 0; second <= 120; second += 5) {
    ring = addSample(ring, sample(second, [second * 3], [second]));
  }
  assert.equal(ring[0]!.time, 120_000 - RATE_WINDOW_MS);
  assert.equal(ring.length, 13);
  assert.deepEqual(rates(ring, 0), { producedPerSec: 3, consumedPerSec: 1 });
});

Deno.test("a falling end offset (topic recreated) starts the ring over", () => {
  let ring = addSample([], sample(0, [500], [500]));
  ring = addSample(ring, sample(5, [20], [0]));
  assert.equal(ring.length, 1);
  ring = addSample(ring, sample(10, [70], [30]));
  assert.deepEqual(rates(ring, 0), { producedPerSec: 10, consumedPerSec: 6 });
});

Deno.test("a checkpoint that went back has no consumed rate, one that appeared late has", () => {
  const back = [sample(0, [100], [80]), sample(10, [100], [0])];
  assert.equal(rates(back, 0).consumedPerSec, null);
  const late: OffsetSample[] = [
    { time: 0, ends: { 0: 100 }, checkpoints: {} },
    { time: 10_000, ends: { 0: 150 }, checkpoints: { 0: 20 } },
  ];
  assert.deepEqual(rates(late, 0), { producedPerSec: 5, consumedPerSec: null });
  late.push({ time: 20_000, ends: { 0: 200 }, checkpoints: { 0: 100 } });
  assert.deepEqual(rates(late, 0), { producedPerSec: 5, consumedPerSec: 8 });
  assert.deepEqual(rates([sample(0, [0], [0]), sample(0.5, [50], [50])], 0), {
    producedPerSec: null,
    consumedPerSec: null,
  });
});
