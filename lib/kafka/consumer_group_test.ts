import assert from "node:assert/strict";
import { dealPartitions, sumTotals } from "./consumer_group.ts";

Deno.test("dealPartitions: as even as they go, none empty, never more groups than partitions", () => {
  assert.deepEqual(dealPartitions([0, 1, 2, 3], 2), [[0, 2], [1, 3]]);
  assert.deepEqual(dealPartitions([0, 1, 2], 2), [[0, 2], [1]]);
  assert.deepEqual(dealPartitions([5], 8), [[5]]);
  assert.deepEqual(dealPartitions([0, 1, 2, 3], 1), [[0, 1, 2, 3]]);
  assert.deepEqual(dealPartitions([1, 3], 4), [[1], [3]]);
});

Deno.test("dealPartitions: by weight, the heaviest first into the lightest group", () => {
  // A million simulated days: partitions of 264,605, 170,429, 350,695 and 264,606 records.
  const sizes = [264_605, 170_429, 350_695, 264_606];
  assert.deepEqual(dealPartitions([0, 1, 2, 3], 2, (p) => sizes[p]!), [[1, 2], [0, 3]]);
  assert.deepEqual(dealPartitions([0, 1, 2, 3], 3, (p) => sizes[p]!), [[2], [3], [0, 1]]);
  assert.deepEqual(dealPartitions([3, 0], 2, (p) => sizes[p]!), [[3], [0]]);
  // One huge partition: the rest share the other thread.
  assert.deepEqual(dealPartitions([0, 1, 2], 2, (p) => [1, 1, 100][p]!), [[2], [0, 1]]);
});

Deno.test("sumTotals adds every group's totals", () => {
  const snapshot = (counted: number, anomalies: number) => ({
    totals: { counted, duplicates: 1, rejected: 0, anomalies, closed: 2, late: counted },
    offsets: {},
  });
  assert.deepEqual(sumTotals([snapshot(10, 1), snapshot(5, 2)]), {
    counted: 15,
    duplicates: 2,
    rejected: 0,
    anomalies: 3,
    closed: 4,
    late: 15,
  });
  assert.deepEqual(sumTotals([]), {
    counted: 0,
    duplicates: 0,
    rejected: 0,
    anomalies: 0,
    closed: 0,
    late: 0,
  });
});
