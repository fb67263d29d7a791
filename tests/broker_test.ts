/**
 * The project's own broker: kafka/kafka.sh starts a real KRaft broker from the Maven jars,
 * kafkajs under Deno talks to it, and a restart keeps the data.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createKafka } from "../lib/kafka/kafka.ts";
import { ROOT } from "./harness.ts";

const PORT = Number(Deno.env.get("P7_TEST_PORT") ?? 39092) + 100;

async function kafkaSh(command: string, state: string): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: [join(ROOT, "kafka/kafka.sh"), command],
    env: { KAFKA_PORT: String(PORT), P7_KAFKA_STATE: state },
  }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  return text;
}

Deno.test("kafka.sh starts a broker, kafkajs round-trips a message, a restart keeps it", async () => {
  const state = await Deno.makeTempDir({ prefix: "p7-broker-" });
  const kafka = createKafka([`127.0.0.1:${PORT}`], "p7-broker-test");
  try {
    const started = await kafkaSh("start", state);
    assert.match(started, /ready on 127\.0\.0\.1:\d+ in \d+ s/);
    assert.match(started, /log: .*server\.log/);
    assert.match(started, /Formatting/, "a new data folder is formatted");
    assert.match(await kafkaSh("start", state), /already running/);

    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "broker-test", numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: "broker-test",
      acks: -1,
      messages: [{ key: "k", value: "hello" }],
    });
    await producer.disconnect();
    assert.equal(await readOne(kafka), "hello");

    assert.match(await kafkaSh("stop", state), /stopped/);
    assert.match(await kafkaSh("stop", state), /not running/);
    const restarted = await kafkaSh("start", state);
    assert.doesNotMatch(restarted, /Formatting/, "the data folder is reused, not formatted again");
    assert.equal(await readOne(kafka), "hello");
  } finally {
    await kafkaSh("stop", state);
    await Deno.remove(state, { recursive: true });
  }
});

async function readOne(kafka: ReturnType<typeof createKafka>): Promise<string> {
  const consumer = kafka.consumer({ groupId: `broker-test-${crypto.randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: ["broker-test"], fromBeginning: true });
  const value = Promise.withResolvers<string>();
  await consumer.run({
    eachMessage: ({ message }) => Promise.resolve(value.resolve(message.value!.toString())),
  });
  try {
    return await value.promise;
  } finally {
    await consumer.disconnect();
  }
}
