/**
 * The chaos run of the exactly-once promise, in the manner of Kafka's own system tests: while
 * the producer streams, consumer processes are killed at random moments (mostly `kill -9`,
 * some SIGTERM/SIGINT) and restarted, and the broker is restarted now and then; at the end
 * every partition file must equal an independent recomputation from the topic.
 *
 * `deno task chaos --kills 500 --broker-restarts 10` runs it on a private broker; the test
 * suite runs a short variant (tests/faults_test.ts). `deno task chaos --nodes 3
 * --leader-kills 50` runs the cluster's leader-loss run instead (tests/cluster.ts).
 *
 * @module
 */
import { parseFlags, parseInteger } from "../lib/args.ts";
import { runMain } from "../lib/cli.ts";
import { P7Error } from "../lib/errors.ts";
import { mulberry32 } from "../lib/sources/weather.ts";
import {
  type LeaderLossOptions,
  leaderLossSummary,
  runLeaderLoss,
  startCluster,
} from "./cluster.ts";
import {
  broker,
  endOffsets,
  readAll,
  readAnomalies,
  recount,
  type Running,
  spawn,
  tempDir,
  tempFiles,
  waitCaughtUp,
  waitFor,
} from "./harness.ts";

/** Options of a chaos run. */
export interface ChaosOptions {
  /** `kill -9`s of consumer processes. */
  kills: number;
  /** Broker stops and restarts, spread over the run. */
  brokerRestarts: number;
  /** Seed of the random moments. */
  seed: number;
  /** Progress lines go here. */
  log?: (line: string) => void;
  /** Simulate this many stations (`producer --stations N`) instead of the single series. */
  stations?: number;
  /** Earlier years a value's climate needs (`consumer --anomaly-years`); default 5. */
  anomalyYears?: number;
}

/** What a chaos run did and found. */
export interface ChaosReport {
  kills: number;
  /** SIGTERM/SIGINT stops, each of which had to exit 0. */
  gracefulStops: number;
  brokerRestarts: number;
  /** Kills after which a checkpoint's temporary file was left: killed mid-write. */
  midWriteKills: number;
  messages: number;
  /** Anomalies in the recomputation. */
  anomalies: number;
  /** Partition files and anomaly logs that differ from the recomputation (must be 0). */
  mismatches: number;
  /** Problems found on the way (a graceful stop that did not exit 0, …). */
  problems: string[];
}

/** Two consumer processes of two threads each, whatever the machine. */
const SLOTS = [["0", "2", "--threads", "2"], ["1", "3", "--threads", "2"]];

/** Runs the chaos; the test broker must be private to it (scripts/with_broker.sh). */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const random = mulberry32(options.seed);
  const dir = await tempDir();
  const report: ChaosReport = {
    kills: 0,
    gracefulStops: 0,
    brokerRestarts: 0,
    midWriteKills: 0,
    messages: 0,
    anomalies: 0,
    mismatches: 0,
    problems: [],
  };
  const stations = options.stations === undefined ? [] : ["--stations", String(options.stations)];
  const anomalyYears = options.anomalyYears ?? 5;
  const consumerArgs = ["--dir", dir, "--anomaly-years", String(anomalyYears)];
  const producer = spawn("producer.ts", [
    "--delay",
    "0.002",
    "--seed",
    String(options.seed),
    ...stations,
  ]);
  await waitFor("the producer to recreate the topic", () => /recreated/.test(producer.stderr()));
  let producerExited = false;
  producer.done.then(() => producerExited = true);
  const running: (Running | undefined)[] = SLOTS.map(() => undefined);
  const restartEvery = Math.floor(options.kills / (options.brokerRestarts + 1));
  while (report.kills < options.kills) {
    SLOTS.forEach((slot, i) => running[i] ??= spawn("consumer.ts", [...slot, ...consumerArgs]));
    await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1500));
    const i = Math.floor(random() * SLOTS.length);
    const victim = running[i]!;
    running[i] = undefined;
    const roll = random();
    if (roll < 0.85) {
      const result = await victim.stop("SIGKILL");
      if (result.code !== 137) {
        report.problems.push(
          `consumer exited ${result.code} before its kill: ${result.stderr.trim()}`,
        );
      }
      report.kills++;
      if ((await tempFiles(dir)).length > 0) report.midWriteKills++;
    } else {
      const signal = roll < 0.925 ? "SIGTERM" : "SIGINT";
      await waitFor("the consumer to start", () => /consumer: partitions/.test(victim.stderr()));
      const result = await victim.stop(signal);
      if (result.code !== 0) {
        report.problems.push(`${signal} exit ${result.code}: ${result.stderr.trim()}`);
      }
      report.gracefulStops++;
    }
    if (
      restartEvery > 0 && report.kills > 0 && report.kills % restartEvery === 0 &&
      report.brokerRestarts < options.brokerRestarts
    ) {
      await broker("stop");
      await new Promise((resolve) => setTimeout(resolve, 500 + random() * 2500));
      await broker("start");
      report.brokerRestarts++;
      log(`chaos: broker restart ${report.brokerRestarts}`);
    }
    if (report.kills % 10 === 0 && roll < 0.85) {
      log(`chaos: ${report.kills}/${options.kills} kills, ${report.midWriteKills} mid-write`);
    }
    if (producerExited) {
      report.problems.push(`producer exited early: ${producer.stderr().trim().split("\n").at(-1)}`);
      break;
    }
  }
  const produced = await producer.stop("SIGINT");
  if (produced.code !== 0) {
    report.problems.push(`producer exit ${produced.code}: ${produced.stderr}`);
  }
  // Let any survivor go, then one clean consumer per slot catches up to the end.
  for (const survivor of running) await survivor?.stop("SIGKILL");
  const finals = SLOTS.map((slot) => spawn("consumer.ts", [...slot, ...consumerArgs]));
  for (const final of finals) {
    await waitFor("the consumer to start", () => /consumer: partitions/.test(final.stderr()));
  }
  await waitCaughtUp(dir, [0, 1, 2, 3], 120_000);
  for (const final of finals) {
    const result = await final.stop("SIGINT");
    if (result.code !== 0) report.problems.push(`final consumer exit ${result.code}`);
  }
  const ends = await endOffsets();
  report.messages = ends.reduce((a, b) => a + b, 0);
  const expected = await recount(undefined, undefined, { sigma: 3, years: anomalyYears });
  const actual = await readAll(dir);
  const logged = await readAnomalies(dir);
  report.anomalies = expected.anomalies.flat().length;
  report.mismatches =
    actual.filter((file, p) =>
      JSON.stringify(sortKeys(file)) !== JSON.stringify(sortKeys(expected.files[p]))
    ).length +
    logged.filter((lines, p) => JSON.stringify(lines) !== JSON.stringify(expected.anomalies[p]))
      .length;
  const left = await tempFiles(dir);
  if (left.length > 0) report.problems.push(`temporary files left: ${left.join(" ")}`);
  return report;
}

function sortKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]),
  );
}

/** The one-line summary of a run. */
export function summary(report: ChaosReport): string {
  return `chaos: ${report.kills} kills (${report.midWriteKills} mid-write), ` +
    `${report.gracefulStops} graceful stops, ${report.brokerRestarts} broker restarts, ` +
    `${report.messages} messages, ${report.anomalies} anomalies, ` +
    `${report.mismatches} mismatches, ` +
    `${report.problems.length} problems`;
}

export const CHAOS_USAGE = `Usage: chaos [options]
Kills consumers and restarts the broker at random moments while the producer streams, then
compares every partition file with a recomputation from the topic. With --nodes, runs a
cluster of its own instead and kills (or stops) partition leaders under the producer and two
consumers, on a topic of replication factor 3.
  --kills N                kill -9s of consumer processes (default 200)
  --broker-restarts N      broker stops and restarts (default 5)
  --nodes N                a cluster of N nodes, at least 3 (default: the single broker)
  --leader-kills N         with --nodes: kill -9s of a partition leader (default 20)
  --clean-stops N          with --nodes: clean stops of a partition leader (default 5)
  --seed N                 seed of the random moments (default: random, printed)
  --help                   this text`;

/** What the command line asks for: a chaos run on the broker, or a leader-loss run. */
export type ChaosRun =
  | { kind: "broker"; options: ChaosOptions }
  | { kind: "cluster"; nodes: number; options: LeaderLossOptions };

/** The chaos run's options from its command line, or `undefined` for `--help`. */
export function chaosOptions(args: string[], seed: number): ChaosRun | undefined {
  const { values } = parseFlags(args, {
    kills: { type: "string" },
    "broker-restarts": { type: "string" },
    nodes: { type: "string" },
    "leader-kills": { type: "string" },
    "clean-stops": { type: "string" },
    seed: { type: "string", default: String(seed) },
  });
  if (values.help) return undefined;
  const number = (flag: string, fallback: number, max: number) =>
    values[flag] === undefined
      ? fallback
      : parseInteger(`--${flag}`, values[flag] as string, 0, max);
  const seedValue = parseInteger("--seed", values.seed as string, 0, 2 ** 32 - 1);
  if (values.nodes === undefined) {
    for (const flag of ["leader-kills", "clean-stops"]) {
      if (values[flag] !== undefined) throw new P7Error("USAGE", `--${flag} needs --nodes`);
    }
    return {
      kind: "broker",
      options: {
        kills: number("kills", 200, 1_000_000),
        brokerRestarts: number("broker-restarts", 5, 10_000),
        seed: seedValue,
      },
    };
  }
  for (const flag of ["kills", "broker-restarts"]) {
    if (values[flag] !== undefined) throw new P7Error("USAGE", `--${flag} is not for --nodes`);
  }
  return {
    kind: "cluster",
    nodes: parseInteger("--nodes", values.nodes as string, 3, 9),
    options: {
      leaderKills: number("leader-kills", 20, 10_000),
      cleanStops: number("clean-stops", 5, 10_000),
      seed: seedValue,
    },
  };
}

/** Starts a cluster of its own beside the run's broker, runs the leader loss, stops it. */
async function clusterChaos(nodes: number, options: LeaderLossOptions): Promise<boolean> {
  const port = Number(Deno.env.get("P7_TEST_PORT") ?? 39892) + 10;
  const cluster = await startCluster(port, nodes);
  console.error(`chaos: ${nodes} nodes serving in ${cluster.startSeconds.toFixed(1)} s`);
  try {
    const report = await runLeaderLoss(cluster, options);
    for (const problem of report.problems) console.error(`problem: ${problem}`);
    console.log(leaderLossSummary(report));
    return report.mismatches === 0 && report.problems.length === 0;
  } finally {
    await cluster.destroy();
  }
}

if (import.meta.main) {
  await runMain(async () => {
    const run = chaosOptions(Deno.args, crypto.getRandomValues(new Uint32Array(1))[0]!);
    if (!run) {
      console.log(CHAOS_USAGE);
      return 0;
    }
    const log = (line: string) => console.error(line);
    console.error(`chaos: seed ${run.options.seed}`);
    if (run.kind === "cluster") {
      return await clusterChaos(run.nodes, { ...run.options, log }) ? 0 : 1;
    }
    const report = await runChaos({ ...run.options, log });
    for (const problem of report.problems) console.error(`problem: ${problem}`);
    console.log(summary(report));
    return report.mismatches === 0 && report.problems.length === 0 ? 0 : 1;
  });
}
