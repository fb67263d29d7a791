import assert from "node:assert/strict";
import { formatTable, rate, summaryLine } from "./table.ts";

Deno.test("summaryLine is exactly the issue's format", () => {
  assert.equal(
    summaryLine({ producer: 71652.4, javaProducer: 33058, consumer: 1, javaConsumer: 2, logic: 9 }),
    "bench: producer 71652 msg/s (217% of java), consumer 1 msg/s (50% of java), logic 9 msg/s",
  );
});

Deno.test("the table has one row per run with its rate", () => {
  const row = { name: "p7 logic", messages: 2_000, seconds: 0.5 };
  assert.equal(rate(row), 4_000);
  const lines = formatTable([row]).split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[2]!, /^\| p7 logic .*\| +2,000 \|.*\| +4,000 \|/);
});
