import assert from "node:assert/strict";
import { dashboardConfig, statusConfig } from "./args.ts";
import { P7Error } from "./errors.ts";

function usageError(run: () => unknown, message: string): void {
  assert.throws(run, (error) => {
    assert.ok(error instanceof P7Error);
    assert.equal(error.code, "USAGE");
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test("dashboardConfig: loopback, port 8000 and the consumer's folder by default", () => {
  assert.deepEqual(dashboardConfig([], {}), {
    kind: "dashboard",
    brokers: ["localhost:9092"],
    dir: "files",
    host: "127.0.0.1",
    port: 8000,
  });
  assert.deepEqual(
    dashboardConfig(["--host", "0.0.0.0", "--port", "0"], {
      P7_FILES: "out",
      KAFKA_BROKERS: "k1:9092,k2:9093",
    }),
    { kind: "dashboard", brokers: ["k1:9092", "k2:9093"], dir: "out", host: "0.0.0.0", port: 0 },
  );
  assert.equal(dashboardConfig(["--help"], {}).kind, "help");
  usageError(
    () => dashboardConfig(["--port", "65536"], {}),
    "--port 65536 is out of range (0 to 65535)",
  );
  usageError(() => dashboardConfig(["--port", "80.5"], {}), '--port "80.5" is not an integer');
  usageError(() => dashboardConfig(["--host", ""], {}), "--host is empty");
  usageError(() => dashboardConfig(["extra"], {}), "Unexpected argument 'extra'");
});

Deno.test("statusConfig: a lag of at most 1000 is healthy by default", () => {
  assert.deepEqual(statusConfig([], { P7_FILES: "out" }), {
    kind: "status",
    brokers: ["localhost:9092"],
    dir: "out",
    maxLag: 1000,
  });
  assert.equal((statusConfig(["--max-lag", "0"], {}) as { maxLag: number }).maxLag, 0);
  usageError(() => statusConfig(["--max-lag", "many"], {}), '--max-lag "many" is not an integer');
  usageError(() => statusConfig(["--dir", ""], {}), "--dir is empty");
});
