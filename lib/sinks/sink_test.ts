import assert from "node:assert/strict";
import { batchRows } from "./sink.ts";

const record = (month: string, run?: string) => ({
  key: `offset-0`,
  value: JSON.stringify({ partition: 0, offset: month.length }),
  run,
});

Deno.test("a batch's rows carry its run on; another producer run is refused", () => {
  const batch = {
    topic: "temperature-stats",
    partition: 0,
    next: 2,
    records: [record("a", "r1"), record("bb", "r1")],
  };
  const { rows, run } = batchRows(batch, undefined, "database sqlite:x");
  assert.equal(rows.length, 2);
  assert.equal(run, "r1");
  assert.throws(
    () => batchRows(batch, "r0", "database sqlite:x"),
    /^P7Error: database sqlite:x holds the statistics of producer run r0; topic "temperature-stats" now holds run r1 \(the producer recreated the topics\): feed a new database$/,
  );
  assert.equal(batchRows({ ...batch, records: [record("a")] }, "r0", "d").run, "r0");
});
