import assert from "node:assert/strict";
// The errors are spread into kafkajs's CommonJS exports, which Deno sees on the default only.
import kafkajs from "kafkajs";
import { fetchGuard } from "./kafka.ts";

const {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
} = kafkajs as unknown as typeof import("kafkajs");

/** kafkajs's typings give this error no message, which its constructor needs. */
type ErrorClass = new (message: string) => Error;

Deno.test("a consumer restarts on errors a broker restart causes, and on no other", async () => {
  const guard = fetchGuard(["127.0.0.1:9"]);
  // kafkajs asks `retry.restartOnFailure`; the consumer, which restarts itself, `restartable`.
  const restart = async (error: Error) => {
    const restarts = await guard.retry.restartOnFailure(error);
    assert.equal(guard.restartable(error), restarts);
    return restarts;
  };
  const lost = new KafkaJSConnectionError("Connection error: ECONNREFUSED");
  assert.equal(await restart(lost), true);
  assert.equal(
    await restart(
      new (KafkaJSGroupCoordinatorNotFound as unknown as ErrorClass)(
        "Failed to find group coordinator",
      ),
    ),
    true,
  );
  assert.equal(await restart(new KafkaJSError("NOT_COORDINATOR", { retriable: true })), true);
  assert.equal(
    await restart(new KafkaJSNumberOfRetriesExceeded(lost, { retryCount: 5, retryTime: 1000 })),
    true,
    "the cause counts",
  );
  assert.equal(await restart(new KafkaJSNonRetriableError("Invalid partition")), false);
  assert.equal(await restart(new Error("a bug")), false);
});
