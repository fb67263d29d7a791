import assert from "node:assert/strict";
import { whenAborted } from "./cli.ts";

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
