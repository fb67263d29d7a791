/**
 * p7 on a private three-node cluster: a topic of replication factor 3 (min.insync.replicas
 * 2), partition leaders killed and stopped under a running producer and two consumers, and
 * nothing lost or counted twice. `./p7 chaos --nodes 3 --leader-kills N` is the long run.
 */
import assert from "node:assert/strict";
import { leaderLossSummary, runLeaderLoss, startCluster } from "./cluster.ts";
import { run } from "./harness.ts";

const PORT = Number(Deno.env.get("P7_TEST_PORT") ?? 39092) + 500;

Deno.test("three nodes: leaders killed and stopped under load, every file exact, no client exits", async () => {
  const cluster = await startCluster(PORT);
  console.log(`cluster: 3 nodes serving in ${cluster.startSeconds.toFixed(1)} s`);
  try {
    const status = await cluster.sh("status");
    assert.deepEqual(status.trim().split("\n").map((line) => line.replace(/ \(pid \d+\)$/, "")), [
      `node 1: up on 127.0.0.1:${PORT}`,
      `node 2: up on 127.0.0.1:${PORT + 2}`,
      `node 3: up on 127.0.0.1:${PORT + 4}`,
    ]);
    // More replicas than live brokers: one line, exit 2, the topic left alone.
    const tooMany = await run("producer.ts", ["--replication-factor", "4"], {
      env: { KAFKA_BROKERS: cluster.brokers },
    });
    assert.equal(tooMany.code, 2);
    assert.equal(
      tooMany.stderr,
      "error: --replication-factor 4 needs 4 live brokers; the cluster has 3\n",
    );

    const report = await runLeaderLoss(cluster, {
      leaderKills: 3,
      cleanStops: 1,
      seed: 14,
      log: (line) => console.log(line),
    });
    console.log(leaderLossSummary(report));
    assert.deepEqual(report.problems, []);
    assert.equal(report.mismatches, 0);
    assert.ok(report.messages > 1000, `${report.messages} messages`);
  } finally {
    await cluster.destroy();
  }
});
