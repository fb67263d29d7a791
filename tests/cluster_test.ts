/**
 * p7 on a private three-node cluster: a topic of replication factor 3 (min.insync.replicas
 * 2), partition leaders killed and stopped under a running producer and two consumers, and
 * nothing lost or counted twice. `./p7 chaos --nodes 3 --leader-kills N` is the long run.
 */
import assert from "node:assert/strict";
import { createKafka } from "../lib/kafka/kafka.ts";
import { leaderLossSummary, runLeaderLoss, startCluster } from "./cluster.ts";
import {
  pipelineUntilCounted,
  readAll,
  recompute,
  run,
  spawn,
  tempDir,
  waitCaughtUp,
} from "./harness.ts";

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

    // KAFKA_NODES=3 ./p7 pipeline: the cluster (already running), a topic of RF 3.
    const dir = await tempDir();
    const piped = await pipelineUntilCounted(dir, cluster.env);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stderr, /recreated with 4 partitions \(replication factor 3, 2 in sync/);
    assert.match(piped.stdout, /Kafka 4\.\d+\.\d+ node 3 already running/);
    const rest = spawn("consumer.ts", ["0", "1", "2", "3", "--dir", dir], {
      env: { KAFKA_BROKERS: cluster.brokers },
    });
    await waitCaughtUp(dir, [0, 1, 2, 3], 60_000, cluster.brokers);
    assert.equal((await rest.stop()).code, 0);
    assert.deepEqual(await readAll(dir), await recompute("temperatures", cluster.brokers));
    const admin = createKafka(cluster.brokers.split(","), "p7-cluster-test").admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: ["temperatures"] });
      assert.deepEqual(topics[0]!.partitions.map((p) => p.replicas.length), [3, 3, 3, 3]);
    } finally {
      await admin.disconnect();
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await cluster.destroy();
  }
});
