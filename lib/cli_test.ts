import assert from "node:assert/strict";
import { isRepeatedInterrupt, SAME_INTERRUPT_MS, whenAborted } from "./cli.ts";

Deno.test("whenAborted resolves for a signal that aborted before anyone waited", async () => {
  const controller = new AbortController();
  controller.abort();
  const result = await Promise.race([
    whenAborted(controller.signal).then(() => "resolved"),
    new Promise((resolve) => setTimeout(() => resolve("pending"), 100)),
  ]);
  assert.equal(result, "resolved");
});

Deno.test("whenAborted waits for the abort", async () => {
  const controller = new AbortController();
  let resolved = false;
  const waiting = whenAborted(controller.signal).then(() => resolved = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(resolved, false);
  controller.abort();
  await waiting;
  assert.equal(resolved, true);
});

Deno.test("isRepeatedInterrupt: the task runner's forwarded copy is the same Ctrl-C", () => {
  // Not yet stopping: every SIGINT stops.
  assert.equal(isRepeatedInterrupt(undefined, 5, false), false);
  // Stopped by a SIGINT at 100: a copy 6 ms later is the same Ctrl-C, one a second later is not.
  assert.equal(isRepeatedInterrupt(100, 106, true), false);
  assert.equal(isRepeatedInterrupt(100, 100 + SAME_INTERRUPT_MS - 1, true), false);
  assert.equal(isRepeatedInterrupt(100, 100 + SAME_INTERRUPT_MS, true), true);
  // Stopped by SIGTERM or SIGHUP: the first SIGINT already means "now".
  assert.equal(isRepeatedInterrupt(undefined, 106, true), true);
});
