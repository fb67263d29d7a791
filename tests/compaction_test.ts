/**
 * Compacted topics as the statistics and windows topics become: when compaction removes every
 * record of a producer's last batch, the broker keeps the batch's header, empty, for the
 * producer's state. kafkajs alone stops there for good; p7's readers go on past it.
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import fetchV11 from "kafkajs/src/protocol/requests/fetch/v11/response.js";
import { kafkajsDecode } from "../lib/kafka/kafkajs_fetch.ts";
import { testKafka, waitFor, within } from "./harness.ts";

const TOPIC = "p7-test-compacted";
/**
 * Two of a value are more than a segment's 1 MiB, so the cleaner cleans each segment alone
 * and leaves segments that hold an empty batch and nothing else: a fetch there gets no record.
 */
const PADDING = "x".repeat(600_000);

/** Values of key "k", then "end", each by a producer of its own, as restarted consumers write. */
async function writeGenerations(generations: number): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(TOPIC)) await admin.deleteTopics({ topics: [TOPIC] });
    await waitFor("the old topic to go", async () => !(await admin.listTopics()).includes(TOPIC));
    await admin.createTopics({
      topics: [{
        topic: TOPIC,
        numPartitions: 1,
        // Every batch a segment of its own, every segment cleanable at once.
        configEntries: [
          { name: "cleanup.policy", value: "compact" },
          { name: "segment.ms", value: "100" },
          { name: "segment.bytes", value: String(1024 * 1024) },
          { name: "min.cleanable.dirty.ratio", value: "0.01" },
          { name: "min.compaction.lag.ms", value: "0" },
        ],
      }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  for (let g = 0; g <= generations; g++) {
    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const key = g === generations ? "end" : "k";
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ key, value: `v${g}${PADDING}` }] });
    await producer.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the segment's time is up
  }
}

/** The records a new group reads from the beginning until "end", or `undefined` after `ms`. */
async function readToEnd(kafka: Kafka, ms: number): Promise<string[] | undefined> {
  const consumer = kafka.consumer({ groupId: `p7-test-${crypto.randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  const seen: string[] = [];
  const end = Promise.withResolvers<void>();
  await consumer.run({
    eachMessage: ({ message }) => {
      seen.push(`${message.key}=${String(message.value).slice(0, 2)}@${message.offset}`);
      if (String(message.key) === "end") end.resolve();
      return Promise.resolve();
    },
  });
  try {
    await within(ms, `"end" in ${TOPIC}`, end.promise);
    return seen;
  } catch {
    return undefined;
  } finally {
    await consumer.disconnect();
  }
}

Deno.test("a reader gets past batches compaction emptied, where kafkajs alone stops", async () => {
  await writeGenerations(3);
  // Compaction runs every 15 s: "k" of generations 0 to 2 go, their batches stay, emptied.
  const compacted = await waitFor("compaction", async () => {
    const records = await readToEnd(testKafka(), 20_000);
    assert.ok(records !== undefined, "p7's reader stopped before the end");
    return records.length === 2 && records;
  }, 90_000);
  assert.deepEqual(compacted, ["k=v2@2", "end=v3@3"]);
  // kafkajs's own decoder gives nothing for the empty batch at offset 0, and fetches it again.
  const kafka = testKafka(); // which puts p7's decoder in place: kafkajs's own goes in after
  const fast = fetchV11.decode;
  fetchV11.decode = kafkajsDecode;
  try {
    const records = await readToEnd(kafka, 5_000);
    assert.equal(records, undefined, "kafkajs alone read past the empty batch");
  } finally {
    fetchV11.decode = fast;
  }
});
