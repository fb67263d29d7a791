import assert from "node:assert/strict";
import { parseConsumerOutput, parseProducerOutput, toolsVersion } from "./java.ts";

Deno.test("ProducerPerformance's final line gives messages and rate", () => {
  const text = "49981 records sent, 9996.2 records/sec (0.24 MB/sec), 12.3 ms avg latency\n" +
    "100000 records sent, 33057.8 records/sec (0.76 MB/sec), 8.1 ms avg latency, 120.0 ms max " +
    "latency, 5 ms 50th, 20 ms 95th, 40 ms 99th, 110 ms 99.9th.\n";
  assert.deepEqual(parseProducerOutput(text), { messages: 100000, rate: 33057.8 });
  assert.throws(() => parseProducerOutput("Exception in thread main"), /no "records sent"/);
});

Deno.test("ConsumerPerformance's CSV result gives messages and rate", () => {
  const text = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, " +
    "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n" +
    "2026-11-23 01:00:00:000, 2026-11-23 01:00:01:000, 2.0, 2.0, 100000, 27701.0, 300, 700, " +
    "2.8, 142857.1\n";
  assert.deepEqual(parseConsumerOutput(text), { messages: 100000, rate: 27701 });
  assert.throws(() => parseConsumerOutput("WARN nothing\n"), /no result line/);
});

Deno.test("toolsVersion reads the kafka-tools jar's version", () => {
  assert.equal(toolsVersion(["kafka-clients-4.3.1.jar", "kafka-tools-4.3.1.jar"]), "4.3.1");
  assert.equal(toolsVersion(["kafka-clients-4.3.1.jar"]), undefined);
});
