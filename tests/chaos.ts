/**
 * The chaos run of the exactly-once promise, in the manner of Kafka's own system tests: while
 * the producer streams, consumer processes are killed at random moments (mostly `kill -9`,
 * some SIGTERM/SIGINT) and restarted, and the broker is restarted now and then; at the end
 * every partition file must equal an independent recomputation from the topic.
 *
 * `deno task chaos --kills 500 --broker-restarts 10` runs it on a private broker; the test
 * suite runs a short variant (tests/faults_test.ts).
 *
 * @module
 */
import { parseFlags, parseInteger } from "../lib/args.ts";
import { runMain } from "../lib/cli.ts";
import { mulberry32 } from "../lib/weather.ts";
import {
  broker,
  endOffsets,
  readAll,
  recompute,
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
  /** Partition files that differ from the recomputation (must be 0). */
  mismatches: number;
  /** Problems found on the way (a graceful stop that did not exit 0, …). */
  problems: string[];
}

const SLOTS = [["0", "2"], ["1", "3"]];

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
    mismatches: 0,
    problems: [],
  };
  const producer = spawn("producer.ts", ["--delay", "0.002", "--seed", String(options.seed)]);
  await waitFor("the producer to recreate the topic", () => /recreated/.test(producer.stderr()));
  let producerExited = false;
  producer.done.then(() => producerExited = true);
  const running: (Running | undefined)[] = SLOTS.map(() => undefined);
  const restartEvery = Math.floor(options.kills / (options.brokerRestarts + 1));
  while (report.kills < options.kills) {
    SLOTS.forEach((slot, i) => running[i] ??= spawn("consumer.ts", [...slot, "--dir", dir]));
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
  const finals = SLOTS.map((slot) => spawn("consumer.ts", [...slot, "--dir", dir]));
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
  const expected = await recompute();
  const actual = await readAll(dir);
  report.mismatches =
    actual.filter((file, p) =>
      JSON.stringify(sortKeys(file)) !== JSON.stringify(sortKeys(expected[p]))
    ).length;
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
    `${report.messages} messages, ${report.mismatches} mismatches, ` +
    `${report.problems.length} problems`;
}

export const CHAOS_USAGE = `Usage: chaos [options]
Kills consumers and restarts the broker at random moments while the producer streams, then
compares every partition file with a recomputation from the topic.
  --kills N                kill -9s of consumer processes (default 200)
  --broker-restarts N      broker stops and restarts (default 5)
  --seed N                 seed of the random moments (default: random, printed)
  --help                   this text`;

/** The chaos run's options from its command line, or `undefined` for `--help`. */
export function chaosOptions(args: string[], seed: number): ChaosOptions | undefined {
  const { values } = parseFlags(args, {
    kills: { type: "string", default: "200" },
    "broker-restarts": { type: "string", default: "5" },
    seed: { type: "string", default: String(seed) },
  });
  if (values.help) return undefined;
  return {
    kills: parseInteger("--kills", values.kills as string, 0, 1_000_000),
    brokerRestarts: parseInteger(
      "--broker-restarts",
      values["broker-restarts"] as string,
      0,
      10_000,
    ),
    seed: parseInteger("--seed", values.seed as string, 0, 2 ** 32 - 1),
  };
}

if (import.meta.main) {
  await runMain(async () => {
    const options = chaosOptions(Deno.args, crypto.getRandomValues(new Uint32Array(1))[0]!);
    if (!options) {
      console.log(CHAOS_USAGE);
      return 0;
    }
    console.error(`chaos: seed ${options.seed}`);
    const report = await runChaos({ ...options, log: (line) => console.error(line) });
    for (const problem of report.problems) console.error(`problem: ${problem}`);
    console.log(summary(report));
    return report.mismatches === 0 && report.problems.length === 0 ? 0 : 1;
  });
}
