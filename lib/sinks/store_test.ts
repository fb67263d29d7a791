import assert from "node:assert/strict";
import { parseDbUrl, positionKey, splitPositionKey } from "./store.ts";

Deno.test("a position key goes back to its topic and partition", () => {
  assert.deepEqual(splitPositionKey(positionKey("temperature-stats", 3)), ["temperature-stats", 3]);
});

Deno.test("database URLs: sqlite:PATH and postgres://, anything else a usage error", () => {
  assert.deepEqual(parseDbUrl("sqlite:files/p7.db"), { kind: "sqlite", path: "files/p7.db" });
  assert.deepEqual(parseDbUrl("postgres://p7@127.0.0.1:5432/p7"), {
    kind: "postgres",
    url: "postgres://p7@127.0.0.1:5432/p7",
  });
  assert.throws(() => parseDbUrl("sqlite:"), /needs a file/);
  assert.throws(() => parseDbUrl("sqlite::memory:"), /needs a file/);
  assert.throws(() => parseDbUrl("files/p7.db"), /expected sqlite:PATH or postgres:/);
});
