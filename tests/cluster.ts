/**
 * A private three-node Kafka cluster (kafka/kafka.sh with KAFKA_NODES=3) and the leader-loss
 * run, after Kafka's own replication test: while the producer streams to a topic of
 * replication factor 3 and two consumer processes count, the broker that leads a partition
 * they read is killed with `kill -9` (or stopped cleanly) and started again, over and over;
 * at the end no client has exited and every partition file equals a recomputation from the
 * topic. The longest pause in checkpoint progress is measured.
 *
 * @module
 */
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { createKafka } from "../lib/kafka/kafka.ts";
import { mulberry32 } from "../lib/sources/weather.ts";
import {
  readAll,
  recompute,
  ROOT,
  type Running,
  spawn,
  tempDir,
  waitCaughtUp,
  waitFor,
} from "./harness.ts";

/** A cluster this process started, and the means to break it. */
export interface Cluster {
  /** Every node's client address, comma-separated, as `--brokers` takes them. */
  brokers: string;
  /** The environment under which kafka/kafka.sh (and `./p7 pipeline`) act on this cluster. */
  env: Record<string, string>;
  nodes: number;
  /** Seconds `kafka.sh start` took from nothing to every node serving. */
  startSeconds: number;
  /** `kafka.sh ACTION` on the whole cluster, or with `node` on that node only. */
  sh(action: "start" | "stop" | "status", node?: number): Promise<string>;
  /** The pid of a running node. */
  pid(node: number): Promise<number>;
  /** Stops every node and removes the cluster's folder. */
  destroy(): Promise<void>;
}

/** Starts a fresh cluster of `nodes` nodes whose node 1 serves clients on `port`. */
export async function startCluster(port: number, nodes = 3): Promise<Cluster> {
  const state = await Deno.makeTempDir({ prefix: "p7-cluster-" });
  const env = { KAFKA_NODES: String(nodes), KAFKA_PORT: String(port), P7_KAFKA_STATE: state };
  const sh = async (action: string, node?: number) => {
    const { code, stdout, stderr } = await new Deno.Command("bash", {
      args: [join(ROOT, "kafka/kafka.sh"), action],
      env: node === undefined ? env : { ...env, KAFKA_NODE: String(node) },
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    if (code !== 0 && action !== "status") throw new Error(`kafka.sh ${action} failed:\n${text}`);
    return text;
  };
  const started = performance.now();
  try {
    await sh("start");
  } catch (error) {
    await sh("stop").catch(() => {});
    await Deno.remove(state, { recursive: true });
    throw error;
  }
  return {
    brokers: Array.from({ length: nodes }, (_, i) => `127.0.0.1:${port + 2 * i}`).join(","),
    env,
    nodes,
    startSeconds: (performance.now() - started) / 1000,
    sh,
    pid: async (node) => Number(await Deno.readTextFile(join(state, `node-${node}`, "server.pid"))),
    destroy: async () => {
      await sh("stop");
      await Deno.remove(state, { recursive: true });
    },
  };
}

/** Options of a leader-loss run. */
export interface LeaderLossOptions {
  /** `kill -9`s of a partition leader, each followed by its restart. */
  leaderKills: number;
  /** Clean stops (SIGTERM) of a partition leader, each followed by its restart. */
  cleanStops: number;
  seed: number;
  log?: (line: string) => void;
}

/** What a leader-loss run did and found. */
export interface LeaderLossReport {
  leaderKills: number;
  cleanStops: number;
  messages: number;
  /** Partition files that differ from the recomputation (must be 0). */
  mismatches: number;
  /** The longest time no checkpoint advanced while the producer streamed, in ms. */
  longestStallMs: number;
  problems: string[];
}

const SLOTS = [["0", "2"], ["1", "3"]];

/** Runs the leader-loss run on `cluster`, whose topic it recreates. */
export async function runLeaderLoss(
  cluster: Cluster,
  options: LeaderLossOptions,
): Promise<LeaderLossReport> {
  const log = options.log ?? (() => {});
  const random = mulberry32(options.seed);
  const env = { KAFKA_BROKERS: cluster.brokers };
  const dir = await tempDir();
  const admin = createKafka(cluster.brokers.split(","), "p7-leader-loss").admin();
  const problems: string[] = [];
  const running: Running[] = [];
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    await admin.connect();
    const producer = spawn(
      "producer.ts",
      ["--replication-factor", "3", "--delay", "0.004", "--seed", String(options.seed)],
      { env },
    );
    running.push(producer);
    let ended: { code: number; stderr: string } | undefined;
    producer.done.then((output) => ended = output);
    await waitFor("the producer to recreate the topic", () => {
      if (ended) throw new Error(`the producer exited ${ended.code}: ${ended.stderr}`);
      return /recreated/.test(producer.stderr());
    });
    const consumers = SLOTS.map((slot) => spawn("consumer.ts", [...slot, "--dir", dir], { env }));
    running.push(...consumers);
    const exited = new Set<Running>();
    for (const process of running) process.done.then(() => exited.add(process));

    // Checkpoint progress, sampled every 100 ms: the longest time the offsets stood still.
    let offsets: number[] = [];
    let lastChange = performance.now();
    let longestStallMs = 0;
    let sampling = true;
    sampler = setInterval(async () => {
      const now = performance.now();
      const files = await readAll(dir).catch(() => undefined);
      const current = files?.map((file) => file.offset as number);
      if (current && current.join() !== offsets.join()) {
        offsets = current;
        lastChange = now;
      } else if (sampling) {
        longestStallMs = Math.max(longestStallMs, now - lastChange);
      }
    }, 100);
    await waitFor("four checkpoints", () => offsets.length === 4 && offsets.every((o) => o > 0));

    const events = [
      ...Array<"kill">(options.leaderKills).fill("kill"),
      ...Array<"stop">(options.cleanStops).fill("stop"),
    ].sort(() => random() - 0.5);
    for (const [index, event] of events.entries()) {
      await new Promise((resolve) => setTimeout(resolve, 1000 + random() * 3000));
      const partition = Math.floor(random() * 4);
      const metadata = await admin.fetchTopicMetadata({ topics: ["temperatures"] });
      const leader = metadata.topics[0]!.partitions.find((p) => p.partitionId === partition)!
        .leader;
      const before = [...offsets];
      const lost = performance.now();
      if (event === "kill") Deno.kill(await cluster.pid(leader), "SIGKILL");
      else await cluster.sh("stop", leader);
      // Every partition's checkpoint moves on while the node is down.
      await waitFor(
        `progress with node ${leader} down`,
        () => offsets.every((offset, p) => offset > before[p]!),
        60_000,
      ).catch((error) => problems.push(error.message));
      const resumed = (performance.now() - lost) / 1000;
      await cluster.sh("start", leader);
      // Back in every in-sync set before the next loss, as min.insync.replicas=2 needs.
      await waitFor(`node ${leader} back in sync`, async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: ["temperatures"] });
        return topics[0]!.partitions.every((p) => p.isr.length === cluster.nodes);
      }, 90_000).catch((error) => problems.push(error.message));
      log(
        `cluster: ${index + 1}/${events.length}: ${
          event === "kill" ? "kill -9" : "clean stop"
        } of node ${leader} (leader of partition ${partition}); all partitions moving again ` +
          `after ${resumed.toFixed(1)} s; offsets ${offsets.join(" ")}`,
      );
      if (exited.size > 0) break;
    }
    for (const process of exited) {
      const { code, stderr } = await process.done;
      problems.push(`a client exited ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    }
    if (exited.size > 0) {
      const { leaderKills, cleanStops } = options;
      return { leaderKills, cleanStops, messages: 0, mismatches: 0, longestStallMs, problems };
    }
    sampling = false;
    const stopped = await producer.stop("SIGINT");
    if (stopped.code !== 0) problems.push(`producer exited ${stopped.code}: ${stopped.stderr}`);
    await waitCaughtUp(dir, [0, 1, 2, 3], 60_000, cluster.brokers);
    for (const consumer of consumers) {
      const { code, stderr } = await consumer.stop("SIGINT");
      if (code !== 0) problems.push(`consumer exited ${code}: ${stderr.slice(-500)}`);
    }
    const [files, expected] = [
      await readAll(dir),
      await recompute("temperatures", cluster.brokers),
    ];
    const mismatches = files.filter((file, p) => !isDeepStrictEqual(file, expected[p])).length;
    return {
      leaderKills: options.leaderKills,
      cleanStops: options.cleanStops,
      messages: expected.reduce((sum, file) => sum + (file.offset as number), 0),
      mismatches,
      longestStallMs,
      problems,
    };
  } finally {
    clearInterval(sampler);
    for (const process of running) await process.stop("SIGKILL");
    await admin.disconnect();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The one-line summary of a leader-loss run. */
export function leaderLossSummary(report: LeaderLossReport): string {
  return `cluster chaos: ${report.leaderKills} leader kills, ${report.cleanStops} clean stops, ` +
    `${report.messages} messages, ${report.mismatches} mismatches, longest checkpoint stall ` +
    `${(report.longestStallMs / 1000).toFixed(1)} s, ${report.problems.length} problems`;
}
