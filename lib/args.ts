/**
 * Command lines and environment of the entry scripts, each turned into one typed config by
 * a pure function, before any connection is made.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { P7Error } from "./errors.ts";
import { DEFAULT_BROKERS, parseBrokers } from "./kafka.ts";

/** The environment variables p7 reads. */
export type Env = Record<string, string | undefined>;

/** `--help` was asked for: print the usage and exit 0. */
export interface Help {
  kind: "help";
  usage: string;
}

/** Producer settings. */
export interface ProducerConfig {
  kind: "producer";
  brokers: string[];
  /** Seconds between days; 0 sends as fast as the broker takes them. */
  delay: number;
  /** Days to send, `Infinity` for forever. */
  count: number;
  seed: number;
  duplicateRate: number;
}

/** Debug consumer settings. */
export interface DebugConfig {
  kind: "debug";
  brokers: string[];
}

/** Stats consumer settings. */
export interface ConsumerConfig {
  kind: "consumer";
  brokers: string[];
  dir: string;
  /** The partitions to read, ascending, no repeats. */
  partitions: number[];
}

/** Plotter settings. */
export interface PlotConfig {
  kind: "plot";
  dir: string;
}

/** Dashboard server settings. */
export interface DashboardConfig {
  kind: "dashboard";
  brokers: string[];
  dir: string;
  /** Address to listen on. */
  host: string;
  /** TCP port; 0 lets the system pick one. */
  port: number;
}

/** Health check settings. */
export interface StatusConfig {
  kind: "status";
  brokers: string[];
  dir: string;
  /** The largest lag of a healthy partition. */
  maxLag: number;
}

const BROKERS_HELP =
  `  --brokers HOST:PORT[,…]  Kafka brokers (default: $KAFKA_BROKERS, else ${DEFAULT_BROKERS})`;
const DIR_HELP = "  --dir DIR                output folder (default: $P7_FILES, else files)";

export const PRODUCER_USAGE = `Usage: producer [options]
Recreates topic "temperatures" and streams one daily max-temperature Report per --delay.
  --delay SECONDS          pause between days (default 0.1; 0 = as fast as possible)
  --count N                stop after N days (default: forever)
  --seed N                 random seed, 0-4294967295 (default: random, printed)
  --duplicate-rate R       chance of re-sending the previous day, 0-1 (default 0.05)
${BROKERS_HELP}
  --help                   this text`;

export const DEBUG_USAGE = `Usage: debug [options]
Prints every new message of "temperatures" (consumer group "debug") as a Python dict.
${BROKERS_HELP}
  --help                   this text`;

export const CONSUMER_USAGE = `Usage: consumer [options] PARTITION...
Counts the named partitions of "temperatures" into DIR/partition-N.json, exactly once.
${DIR_HELP}
${BROKERS_HELP}
  --help                   this text`;

export const PLOT_USAGE = `Usage: plot [options]
Draws the latest January, February and March averages into DIR/month.svg.
${DIR_HELP}
  --help                   this text`;

export const DASHBOARD_USAGE = `Usage: dashboard [options]
Serves a live web page of DIR/partition-N.json and the consumer's lag.
  --host ADDRESS           address to listen on (default 127.0.0.1)
  --port PORT              port to listen on (default 8000; 0 = any free port)
${DIR_HELP}
${BROKERS_HELP}
  --help                   this text`;

export const STATUS_USAGE = `Usage: status [options]
Prints each partition's end offset, checkpoint offset and lag; exits 1 when a partition
file is missing or unreadable, or a lag is above --max-lag.
  --max-lag N              largest healthy lag (default 1000)
${DIR_HELP}
${BROKERS_HELP}
  --help                   this text`;

type Values = Record<string, string | boolean | undefined>;

function parse(
  args: string[],
  options: ParseArgsConfig["options"],
  allowPositionals: boolean,
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: "boolean" } },
      allowPositionals,
      strict: true,
    });
    return { values: values as Values, positionals };
  } catch (error) {
    // node:util's messages carry a hint about "--"; the first sentence is the useful part.
    const message = (error as Error).message.split(/\. |\n/)[0]!.replace(/\.$/, "");
    const ambiguous = /^Option '(--[^']+)' argument is ambiguous/.exec(message);
    throw new P7Error(
      "USAGE",
      ambiguous
        ? `${ambiguous[1]} needs a value; write ${ambiguous[1]}=VALUE for one starting with "-"`
        : message,
    );
  }
}

/**
 * A decimal number from a flag, within [min, max].
 *
 * @throws {P7Error} `USAGE` for anything else: `--delay "abc" is not a number`.
 */
export function parseNumber(flag: string, text: string, min: number, max = Infinity): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim())) {
    throw new P7Error("USAGE", `--${flag} ${JSON.stringify(text)} is not a number`);
  }
  const value = Number(text);
  if (!(value >= min && value <= max)) {
    const range = max === Infinity ? `at least ${min}` : `from ${min} to ${max}`;
    throw new P7Error("USAGE", `--${flag} ${text} is out of range (${range})`);
  }
  return value;
}

/** A whole number from a flag or argument, within [min, max]. */
export function parseInteger(what: string, text: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(text.trim())) {
    throw new P7Error("USAGE", `${what} ${JSON.stringify(text)} is not an integer`);
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new P7Error("USAGE", `${what} ${text} is out of range (${min} to ${max})`);
  }
  return value;
}

function brokers(values: Values, env: Env): string[] {
  return parseBrokers(
    (values.brokers as string | undefined) ?? env.KAFKA_BROKERS ?? DEFAULT_BROKERS,
  );
}

function dir(values: Values, env: Env): string {
  const value = (values.dir as string | undefined) ?? env.P7_FILES ?? "files";
  if (value === "") throw new P7Error("USAGE", "--dir is empty");
  return value;
}

/**
 * The producer's config from its arguments and environment.
 *
 * @param randomSeed the seed used when `--seed` is absent.
 * @throws {P7Error} `USAGE` for an unknown flag or a bad value.
 */
export function producerConfig(
  args: string[],
  env: Env,
  randomSeed: number,
): ProducerConfig | Help {
  const { values } = parse(args, {
    delay: { type: "string" },
    count: { type: "string" },
    seed: { type: "string" },
    "duplicate-rate": { type: "string" },
    brokers: { type: "string" },
  }, false);
  if (values.help) return { kind: "help", usage: PRODUCER_USAGE };
  const text = (name: string) => values[name] as string | undefined;
  return {
    kind: "producer",
    brokers: brokers(values, env),
    delay: text("delay") === undefined ? 0.1 : parseNumber("delay", text("delay")!, 0, 86400),
    count: text("count") === undefined
      ? Infinity
      : parseInteger("--count", text("count")!, 1, Number.MAX_SAFE_INTEGER),
    seed: text("seed") === undefined
      ? randomSeed
      : parseInteger("--seed", text("seed")!, 0, 2 ** 32 - 1),
    duplicateRate: text("duplicate-rate") === undefined
      ? 0.05
      : parseNumber("duplicate-rate", text("duplicate-rate")!, 0, 1),
  };
}

/** The debug consumer's config. */
export function debugConfig(args: string[], env: Env): DebugConfig | Help {
  const { values } = parse(args, { brokers: { type: "string" } }, false);
  if (values.help) return { kind: "help", usage: DEBUG_USAGE };
  return { kind: "debug", brokers: brokers(values, env) };
}

/**
 * The stats consumer's config. Partitions must be distinct non-negative integers; whether
 * they exist is checked against the broker later.
 */
export function consumerConfig(args: string[], env: Env): ConsumerConfig | Help {
  const { values, positionals } = parse(args, {
    dir: { type: "string" },
    brokers: { type: "string" },
  }, true);
  if (values.help) return { kind: "help", usage: CONSUMER_USAGE };
  if (positionals.length === 0) {
    throw new P7Error("USAGE", "name the partitions to consume, e.g. `consumer 0 2`");
  }
  const partitions = positionals.map((arg) => parseInteger("partition", arg, 0, 1_000_000));
  const repeated = partitions.find((p, i) => partitions.indexOf(p) !== i);
  if (repeated !== undefined) throw new P7Error("USAGE", `partition ${repeated} is named twice`);
  return {
    kind: "consumer",
    brokers: brokers(values, env),
    dir: dir(values, env),
    partitions: partitions.sort((a, b) => a - b),
  };
}

/** The plotter's config. */
export function plotConfig(args: string[], env: Env): PlotConfig | Help {
  const { values } = parse(args, { dir: { type: "string" } }, false);
  if (values.help) return { kind: "help", usage: PLOT_USAGE };
  return { kind: "plot", dir: dir(values, env) };
}

/** The dashboard's config. */
export function dashboardConfig(args: string[], env: Env): DashboardConfig | Help {
  const { values } = parse(args, {
    host: { type: "string" },
    port: { type: "string" },
    dir: { type: "string" },
    brokers: { type: "string" },
  }, false);
  if (values.help) return { kind: "help", usage: DASHBOARD_USAGE };
  const host = (values.host as string | undefined) ?? "127.0.0.1";
  if (host.trim() === "") throw new P7Error("USAGE", "--host is empty");
  const port = values.port as string | undefined;
  return {
    kind: "dashboard",
    brokers: brokers(values, env),
    dir: dir(values, env),
    host,
    port: port === undefined ? 8000 : parseInteger("--port", port, 0, 65535),
  };
}

/** The health check's config. */
export function statusConfig(args: string[], env: Env): StatusConfig | Help {
  const { values } = parse(args, {
    "max-lag": { type: "string" },
    dir: { type: "string" },
    brokers: { type: "string" },
  }, false);
  if (values.help) return { kind: "help", usage: STATUS_USAGE };
  const maxLag = values["max-lag"] as string | undefined;
  return {
    kind: "status",
    brokers: brokers(values, env),
    dir: dir(values, env),
    maxLag: maxLag === undefined
      ? 1000
      : parseInteger("--max-lag", maxLag, 0, Number.MAX_SAFE_INTEGER),
  };
}
