/**
 * Command lines and environment of the entry scripts, each turned into one typed config by
 * a pure function, before any connection is made.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { type AnomalyRule, DEFAULT_RULE } from "./stats/anomaly.ts";
import { P7Error } from "./errors.ts";
import { DEFAULT_BROKERS, parseBrokers } from "./kafka/kafka.ts";
import type { ReplayOptions, Units, Where } from "./sources/replay.ts";
import type { MeasureColumn, StationReplayOptions } from "./sources/station_replay.ts";
import { type Measure, measureInfo, MEASURES } from "./stats/measures.ts";
import type { SeriesPick } from "./stats/series.ts";
import { parseDuration, type WindowConfig } from "./stats/windows.ts";
import { type DbUrl, parseDbUrl } from "./sinks/store.ts";

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
  /** Days to send, `Infinity` for forever (or the whole file). */
  count: number;
  /** Replicas of each partition of the topic (3 or more: two must acknowledge a write). */
  replicationFactor: number;
  /** Where the days come from. */
  source: SimulationSource | FileSource;
}

/** Days made up by the seeded weather model, with simulated duplicates. */
export interface SimulationSource {
  kind: "simulation";
  seed: number;
  duplicateRate: number;
  /** With `--stations N`, that many stations instead of the course's single series. */
  stations?: number;
}

/**
 * Rows read from a file of observations (`--source`): one series of daily maxima, or with
 * `--station-column` the observations of many stations.
 */
export type FileSource =
  & { kind: "file"; path: string; where: Where[] }
  & (ReplayOptions | StationReplayOptions);

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
  /** Which counted days are anomalies. */
  anomaly: AnomalyRule;
  /** Threads to count the partitions on, each with a share of them: 1 to their number. */
  threads: number;
  /** With `--window`: the windows, their hop and grace. */
  windows?: WindowConfig;
  /** With `--idle-close`: milliseconds without records after which open windows close. */
  idleClose?: number;
}

/** Where plot, dashboard and status read the statistics: the folder, or the stats topic. */
export type StatsFrom = "files" | "kafka";

/** Plotter settings. */
export interface PlotConfig {
  kind: "plot";
  /** Where month.svg goes, and with `from: "files"` where the statistics are read. */
  dir: string;
  from: StatsFrom;
  brokers: string[];
  /** With `--station S --measure M`, that series (into `DIR/S-M.svg`) instead of month.svg. */
  series?: SeriesPick;
}

/** Dashboard server settings. */
export interface DashboardConfig {
  kind: "dashboard";
  brokers: string[];
  dir: string;
  from: StatsFrom;
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
  from: StatsFrom;
  /** The largest lag of a healthy partition. */
  maxLag: number;
}

const BROKERS_HELP =
  `  --brokers HOST:PORT[,…]  Kafka brokers (default: $KAFKA_BROKERS, else ${DEFAULT_BROKERS})`;
const DIR_HELP = "  --dir DIR                output folder (default: $P7_FILES, else files)";
const FROM_HELP =
  `  --from files|kafka       read the statistics from DIR/partition-N.json (default), or
                           from topic "temperature-stats", which the consumers fill`;

export const PRODUCER_USAGE = `Usage: producer [options]
       producer --source FILE --value-column NAME --units C|F [options]
Recreates topic "temperatures" and streams one daily max-temperature Report per --delay:
simulated days, or with --source the rows of a file of real observations.
  --delay SECONDS          pause between days (default: $AUTOGRADER_DELAY_OVERRIDE_VAL,
                           else 0.1; 0 = as fast as possible)
  --count N                stop once N days are sent (default: forever, or the whole file)
  --replication-factor R   replicas of each partition (default 1); with 3 or more, two
                           must have a write (min.insync.replicas=2); at most the live brokers
${BROKERS_HELP}
  --help                   this text
Simulation (without --source):
  --seed N                 random seed, 0-4294967295 (default: random, printed)
  --duplicate-rate R       chance of re-sending the previous day, 0-1 (default 0.05)
  --stations N             N stations (StationA, StationB, …, 1-1000), each with a climate of
                           its own, reporting daily at noon UTC temperature, humidity,
                           pressure and wind speed, keyed by station; --count counts reports
Replay (--source; no duplicates are simulated):
  --source FILE            CSV with a header row (comma-separated, fields may be "quoted",
                           one record per line), or JSON Lines (one object per line, the
                           first one's keys are the columns) when its first line starts
                           with "{"
  --date-column NAME       column of the day (default: date): YYYY-MM-DD, YYYY/MM/DD,
                           YYYY.MM.DD, YYYYMMDD, M/D/YYYY, or an ISO timestamp such as
                           2012-01-05T08:00:00-08:00 (its date is used as written)
  --value-column NAME      column of the day's max temperature (required)
  --units C|F              units of that column (required); sent in °F, 4 decimals
  --where COLUMN=VALUE     keep only the rows whose COLUMN is VALUE (e.g. a station);
                           repeat it to require several; other rows are left out
Replay of many stations (--source with --station-column; instead of the three above):
  --station-column NAME    column of the station id: the Kafka key, so that each station's
                           rows stay in order in one partition
  --time-column NAME       column of the observation time, ISO 8601 (UTC unless zoned)
  --measure NAME=COLUMN:UNIT  a measurement and its column, repeated for each: temperature
                           and dew_point (F, C, K), humidity (%), pressure (hPa, mbar, kPa,
                           inHg), wind_speed and wind_gust (mph, km/h, m/s, kn),
                           wind_direction (deg), precipitation (in, mm), visibility (mi, km);
                           sent in the first unit named. Empty or NA is "not observed"; a
                           value that is not a number or impossible is reported with its
                           line and not sent, the rest of the row is; a row not after its
                           station's previous one is skipped
  A file that cannot be read or lacks a column is an error before the topic is touched.
  The file is read as a stream; blank lines are passed over. Each day must come after the
  last one sent: a row that is malformed, lacks a value, holds an impossible date or a
  number that is not finite, or is out of date order (repeated or earlier) is reported on
  stderr with its line number and skipped, never reordered. The run ends with a count of
  the rows sent, rejected and left out.`;

export const DEBUG_USAGE = `Usage: debug [options]
Prints every new message of "temperatures" (consumer group "debug") as a Python dict.
${BROKERS_HELP}
  --help                   this text`;

export const CONSUMER_USAGE = `Usage: consumer [options] PARTITION...
Counts the named partitions of "temperatures" into DIR/partition-N.json, exactly once, and
logs the days far from their climate into DIR/anomalies-N.jsonl.
  --anomaly-sigma Z        a day more than Z standard deviations from the mean of its
                           calendar month in earlier years is an anomaly (default 3)
  --anomaly-years N        once N earlier years of that month are known (default 5)
  --threads N              count the partitions on N threads, each with its own Kafka
                           consumer (default: one per core, at most one per partition)
  --window SIZE            also count windows of SIZE (30m, 1h, 1d, 7d; repeatable), aligned
                           to the epoch in UTC, per station and measurement (the course's
                           series: per partition), into DIR/windows-N.jsonl once closed
  --hop SIZE               hopping windows: a window every SIZE (dividing each --window)
  --grace DURATION         a window closes once the partition's latest observation time is
                           past its end by this (default 1h, or 0); a value for a closed
                           window is late: logged in DIR/late-N.jsonl, never counted into it
  --idle-close DURATION    close the open windows of a partition with no record for this
                           long (wall clock), so a quiet stream's last window is published
  --emit final|updates     publish only closed windows (default), or also open windows as
                           they change ("final": false)
${DIR_HELP}
${BROKERS_HELP}
  --help                   this text`;

export const PLOT_USAGE = `Usage: plot [options]
Draws the latest January, February and March averages into DIR/month.svg.
  --station S --measure M  instead, station S's measurement M month by month (average,
                           lowest, highest) into DIR/S-M.svg
${DIR_HELP}
${FROM_HELP}
${BROKERS_HELP}
  --help                   this text`;

export const DASHBOARD_USAGE = `Usage: dashboard [options]
Serves a live web page of DIR/partition-N.json and the consumer's lag.
  --host ADDRESS           address to listen on (default 127.0.0.1)
  --port PORT              port to listen on (default 8000; 0 = any free port)
${DIR_HELP}
${FROM_HELP}
${BROKERS_HELP}
  --help                   this text`;

export const STATUS_USAGE = `Usage: status [options]
Prints each partition's end offset, checkpoint offset and lag; exits 1 when a partition
file is missing or unreadable, or a lag is above --max-lag.
  --max-lag N              largest healthy lag (default 1000)
${DIR_HELP}
${FROM_HELP}
${BROKERS_HELP}
  --help                   this text`;

/** The sink's settings. */
export interface SinkConfig {
  kind: "sink";
  brokers: string[];
  db: DbUrl;
}

/** The query's settings. */
export interface SqlConfig {
  kind: "sql";
  db: DbUrl;
  query: string;
}

const DB_HELP = "  --db URL                 sqlite:PATH (default sqlite:DIR/p7.db, DIR as --dir)";

export const SINK_USAGE = `Usage: sink [options]
Keeps a database current with topics "temperature-stats", "temperature-anomalies" and
"temperature-windows", exactly once: each batch's rows and the topic offsets after it are one
transaction, and a start resumes at the offsets in the database. Stop it with Ctrl-C.
${DB_HELP}
${DIR_HELP}
${BROKERS_HELP}
  --help                   this text`;

export const SQL_USAGE = `Usage: sql [options] "SELECT …"
Prints the rows of one query on the sink's database, one JSON object per line; the database
is opened read-only, so it may run while the sink writes.
${DB_HELP}
${DIR_HELP}
  --help                   this text`;

/** Parsed flag values, by flag name. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * Flags parsed strictly by `node:util` parseArgs, with `--help` added to `options`.
 *
 * @throws {P7Error} `USAGE` with the first sentence of parseArgs's message.
 */
export function parseFlags(
  args: string[],
  options: ParseArgsConfig["options"],
  allowPositionals = false,
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
 * A decimal number from a flag or variable (`what` names it), within [min, max].
 *
 * @throws {P7Error} `USAGE` for anything else: `--delay "abc" is not a number`.
 */
export function parseNumber(what: string, text: string, min: number, max = Infinity): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim())) {
    throw new P7Error("USAGE", `${what} ${JSON.stringify(text)} is not a number`);
  }
  const value = Number(text);
  if (!(value >= min && value <= max)) {
    const range = max === Infinity ? `at least ${min}` : `from ${min} to ${max}`;
    throw new P7Error("USAGE", `${what} ${text} is out of range (${range})`);
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
 * The producer's config from its arguments and environment: simulated days, or with
 * `--source` a file to replay. Whether the file can be read is checked later.
 *
 * @param randomSeed the seed used when `--seed` is absent.
 * @throws {P7Error} `USAGE` for an unknown flag, a bad value, or a flag of the other source.
 * @example
 * ```ts
 * producerConfig(["--source", "w.csv", "--value-column", "temp_max", "--units", "C"], {}, 1);
 * ```
 */
export function producerConfig(
  args: string[],
  env: Env,
  randomSeed: number,
): ProducerConfig | Help {
  const { values } = parseFlags(args, {
    delay: { type: "string" },
    count: { type: "string" },
    seed: { type: "string" },
    "duplicate-rate": { type: "string" },
    stations: { type: "string" },
    source: { type: "string" },
    "date-column": { type: "string" },
    "value-column": { type: "string" },
    units: { type: "string" },
    where: { type: "string", multiple: true },
    "station-column": { type: "string" },
    "time-column": { type: "string" },
    measure: { type: "string", multiple: true },
    brokers: { type: "string" },
    "replication-factor": { type: "string" },
  }, false);
  if (values.help) return { kind: "help", usage: PRODUCER_USAGE };
  const text = (name: string) => values[name] as string | undefined;
  return {
    kind: "producer",
    brokers: brokers(values, env),
    delay: delay(text("delay"), env),
    count: text("count") === undefined
      ? Infinity
      : parseInteger("--count", text("count")!, 1, Number.MAX_SAFE_INTEGER),
    replicationFactor: text("replication-factor") === undefined
      ? 1
      : parseInteger("--replication-factor", text("replication-factor")!, 1, 99),
    source: text("source") === undefined
      ? simulationSource(values, randomSeed)
      : fileSource(values, text("source")!),
  };
}

/** The course's grader sets this (seconds per day) where its generator would read it. */
export const DELAY_VARIABLE = "AUTOGRADER_DELAY_OVERRIDE_VAL";

/** Seconds between days: `--delay`, else $AUTOGRADER_DELAY_OVERRIDE_VAL, else 0.1. */
function delay(flag: string | undefined, env: Env): number {
  if (flag !== undefined) return parseNumber("--delay", flag, 0, 86400);
  const variable = env[DELAY_VARIABLE];
  return variable === undefined ? 0.1 : parseNumber(DELAY_VARIABLE, variable, 0, 86400);
}

const SIMULATION_FLAGS = ["seed", "duplicate-rate", "stations"];
const SERIES_FLAGS = ["date-column", "value-column", "units"];
const STATION_FLAGS = ["station-column", "time-column", "measure"];
const REPLAY_FLAGS = [...SERIES_FLAGS, ...STATION_FLAGS, "where"];

function simulationSource(values: Values, randomSeed: number): SimulationSource {
  const replayFlag = REPLAY_FLAGS.find((flag) => values[flag] !== undefined);
  if (replayFlag) throw new P7Error("USAGE", `--${replayFlag} needs --source FILE`);
  const seed = values.seed as string | undefined;
  const rate = values["duplicate-rate"] as string | undefined;
  const stations = values.stations as string | undefined;
  return {
    kind: "simulation",
    seed: seed === undefined ? randomSeed : parseInteger("--seed", seed, 0, 2 ** 32 - 1),
    duplicateRate: rate === undefined ? 0.05 : parseNumber("--duplicate-rate", rate, 0, 1),
    ...(stations === undefined ? {} : { stations: parseInteger("--stations", stations, 1, 1000) }),
  };
}

function fileSource(values: Values, path: string): FileSource {
  const simulationFlag = SIMULATION_FLAGS.find((flag) => values[flag] !== undefined);
  if (simulationFlag) {
    throw new P7Error("USAGE", `--${simulationFlag} is for simulated days, not with --source`);
  }
  if (path === "") throw new P7Error("USAGE", "--source is empty");
  const column = (flag: string, fallback?: string): string => {
    const name = (values[flag] as string | undefined)?.trim() ?? fallback;
    if (name === undefined) throw new P7Error("USAGE", `--source needs --${flag}`);
    if (name === "") throw new P7Error("USAGE", `--${flag} is empty`);
    return name;
  };
  const where = parseWhere((values.where ?? []) as string[]);
  if (values["station-column"] !== undefined) {
    const seriesFlag = SERIES_FLAGS.find((flag) => values[flag] !== undefined);
    if (seriesFlag) {
      throw new P7Error(
        "USAGE",
        `--${seriesFlag} is for one series of daily maxima, not with --station-column ` +
          `(give --measure temperature=COLUMN:UNIT)`,
      );
    }
    return {
      kind: "file",
      path,
      where,
      stationColumn: column("station-column"),
      timeColumn: column("time-column"),
      measures: parseMeasures((values.measure ?? []) as string[]),
    };
  }
  const stationFlag = STATION_FLAGS.find((flag) => values[flag] !== undefined);
  if (stationFlag) throw new P7Error("USAGE", `--${stationFlag} needs --station-column`);
  const units = (values.units as string | undefined)?.trim().toUpperCase();
  if (units === undefined) throw new P7Error("USAGE", "--source needs --units C or F");
  if (units !== "C" && units !== "F") {
    throw new P7Error("USAGE", `--units ${JSON.stringify(values.units)} is not C or F`);
  }
  return {
    kind: "file",
    path,
    dateColumn: column("date-column", "date"),
    valueColumn: column("value-column"),
    units: units as Units,
    where,
  };
}

/** `--measure NAME=COLUMN:UNIT` flags; at least one, and a measurement at most once. */
function parseMeasures(flags: string[]): MeasureColumn[] {
  if (flags.length === 0) {
    throw new P7Error("USAGE", "--station-column needs one --measure NAME=COLUMN:UNIT or more");
  }
  const measures = flags.map((flag) => {
    const match = /^([^=]+)=(.+):([^:]+)$/.exec(flag);
    if (match === null) {
      throw new P7Error("USAGE", `--measure ${JSON.stringify(flag)} is not NAME=COLUMN:UNIT`);
    }
    const [name, column, unit] = [match[1]!.trim(), match[2]!.trim(), match[3]!.trim()];
    const measure = measureInfo(name);
    if (measure === undefined) {
      throw new P7Error(
        "USAGE",
        `--measure ${JSON.stringify(flag)}: no measurement ${JSON.stringify(name)} (one of ` +
          `${MEASURES.map((info) => info.name).join(", ")})`,
      );
    }
    if (!Object.hasOwn(measure.units, unit)) {
      throw new P7Error(
        "USAGE",
        `--measure ${JSON.stringify(flag)}: ${name} is not given in ${JSON.stringify(unit)} ` +
          `(one of ${Object.keys(measure.units).join(", ")})`,
      );
    }
    return { measure, column, unit };
  });
  const repeated = measures.find((m, i) =>
    measures.findIndex((o) => o.measure === m.measure) !== i
  );
  if (repeated) {
    throw new P7Error("USAGE", `--measure names ${repeated.measure.name} twice`);
  }
  return measures;
}

/** `--where COLUMN=VALUE` flags, split at the first `=`; a column may be named once. */
function parseWhere(flags: string[]): Where[] {
  const where = flags.map((flag) => {
    const equals = flag.indexOf("=");
    const column = flag.slice(0, equals).trim();
    if (equals === -1 || column === "") {
      throw new P7Error("USAGE", `--where ${JSON.stringify(flag)} is not COLUMN=VALUE`);
    }
    return { column, value: flag.slice(equals + 1).trim() };
  });
  const repeated = where.find((w, i) => where.findIndex((o) => o.column === w.column) !== i);
  if (repeated) {
    throw new P7Error("USAGE", `--where names column ${JSON.stringify(repeated.column)} twice`);
  }
  return where;
}

/** The debug consumer's config. */
export function debugConfig(args: string[], env: Env): DebugConfig | Help {
  const { values } = parseFlags(args, { brokers: { type: "string" } }, false);
  if (values.help) return { kind: "help", usage: DEBUG_USAGE };
  return { kind: "debug", brokers: brokers(values, env) };
}

/**
 * The stats consumer's config. Partitions must be distinct non-negative integers; whether
 * they exist is checked against the broker later.
 */
export function consumerConfig(
  args: string[],
  env: Env,
  cores: number = navigator.hardwareConcurrency,
): ConsumerConfig | Help {
  const { values, positionals } = parseFlags(args, {
    dir: { type: "string" },
    brokers: { type: "string" },
    "anomaly-sigma": { type: "string" },
    "anomaly-years": { type: "string" },
    threads: { type: "string" },
    window: { type: "string", multiple: true },
    hop: { type: "string" },
    grace: { type: "string" },
    "idle-close": { type: "string" },
    emit: { type: "string" },
  }, true);
  if (values.help) return { kind: "help", usage: CONSUMER_USAGE };
  const sigma = values["anomaly-sigma"] as string | undefined;
  const years = values["anomaly-years"] as string | undefined;
  const threads = values.threads as string | undefined;
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
    anomaly: {
      sigma: sigma === undefined ? DEFAULT_RULE.sigma : parseNumber("--anomaly-sigma", sigma, 0.5),
      years: years === undefined
        ? DEFAULT_RULE.years
        : parseInteger("--anomaly-years", years, 1, 10_000),
    },
    threads: Math.min(
      partitions.length,
      threads === undefined ? Math.max(1, cores) : parseInteger("--threads", threads, 1, 1024),
    ),
    ...windowFlags(values),
  };
}

/** The default `--grace`: an hour, so that an hourly station a little behind still counts. */
export const DEFAULT_GRACE = "1h";

function duration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new P7Error(
      "USAGE",
      `${flag} ${JSON.stringify(text)} is not a duration such as 30m, 1h or 7d`,
    );
  }
  return ms;
}

/** `--window SIZE…`, `--hop`, `--grace` and `--idle-close`; none without `--window`. */
function windowFlags(values: Values): Pick<ConsumerConfig, "windows" | "idleClose"> {
  const sizes = (values.window ?? []) as string[];
  const hop = values.hop as string | undefined;
  const grace = values.grace as string | undefined;
  const idle = values["idle-close"] as string | undefined;
  const emit = values.emit as string | undefined;
  if (sizes.length === 0) {
    const flag = hop !== undefined
      ? "--hop"
      : grace !== undefined
      ? "--grace"
      : idle !== undefined
      ? "--idle-close"
      : emit !== undefined
      ? "--emit"
      : undefined;
    if (flag !== undefined) throw new P7Error("USAGE", `${flag} needs --window SIZE`);
    return {};
  }
  const labels = sizes.map((size) => size.trim());
  const repeated = labels.find((label, i) => labels.indexOf(label) !== i);
  if (repeated !== undefined) throw new P7Error("USAGE", `--window ${repeated} is named twice`);
  const hopMs = hop === undefined ? undefined : duration("--hop", hop);
  const windows = labels.map((label) => {
    const size = duration("--window", label);
    if (hopMs !== undefined && (hopMs > size || size % hopMs !== 0)) {
      throw new P7Error("USAGE", `--hop ${hop} does not divide --window ${label}`);
    }
    return { label, size, hop: hopMs ?? size };
  });
  if (emit !== undefined && emit !== "final" && emit !== "updates") {
    throw new P7Error("USAGE", `--emit ${JSON.stringify(emit)} is not final or updates`);
  }
  const graceText = (grace ?? DEFAULT_GRACE).trim();
  const text = `${labels.join(",")}${
    hop === undefined ? "" : ` hop ${hop.trim()}`
  } grace ${graceText}`;
  return {
    windows: {
      windows,
      grace: graceText === "0" ? 0 : duration("--grace", graceText),
      text,
      emit: emit ?? "final",
    },
    ...(idle === undefined ? {} : { idleClose: duration("--idle-close", idle) }),
  };
}

/** The plotter's config. */
export function plotConfig(args: string[], env: Env): PlotConfig | Help {
  const { values } = parseFlags(args, {
    dir: { type: "string" },
    from: { type: "string" },
    brokers: { type: "string" },
    station: { type: "string" },
    measure: { type: "string" },
  }, false);
  if (values.help) return { kind: "help", usage: PLOT_USAGE };
  const config: PlotConfig = {
    kind: "plot",
    dir: dir(values, env),
    from: from(values),
    brokers: brokers(values, env),
  };
  const [station, measure] = [values.station, values.measure] as (string | undefined)[];
  if (station === undefined && measure === undefined) return config;
  if (!station || !measure) throw new P7Error("USAGE", "--station and --measure go together");
  if (measureInfo(measure) === undefined) {
    throw new P7Error(
      "USAGE",
      `--measure ${JSON.stringify(measure)} is not one of ` +
        MEASURES.map((info) => info.name).join(", "),
    );
  }
  return { ...config, series: { station, measure: measure as Measure } };
}

function from(values: Values): StatsFrom {
  const value = (values.from as string | undefined) ?? "files";
  if (value !== "files" && value !== "kafka") {
    throw new P7Error("USAGE", `--from ${JSON.stringify(value)} is not files or kafka`);
  }
  return value;
}

/** The dashboard's config. */
export function dashboardConfig(args: string[], env: Env): DashboardConfig | Help {
  const { values } = parseFlags(args, {
    host: { type: "string" },
    port: { type: "string" },
    dir: { type: "string" },
    from: { type: "string" },
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
    from: from(values),
    host,
    port: port === undefined ? 8000 : parseInteger("--port", port, 0, 65535),
  };
}

/** The health check's config. */
export function statusConfig(args: string[], env: Env): StatusConfig | Help {
  const { values } = parseFlags(args, {
    "max-lag": { type: "string" },
    dir: { type: "string" },
    from: { type: "string" },
    brokers: { type: "string" },
  }, false);
  if (values.help) return { kind: "help", usage: STATUS_USAGE };
  const maxLag = values["max-lag"] as string | undefined;
  return {
    kind: "status",
    brokers: brokers(values, env),
    dir: dir(values, env),
    from: from(values),
    maxLag: maxLag === undefined
      ? 1000
      : parseInteger("--max-lag", maxLag, 0, Number.MAX_SAFE_INTEGER),
  };
}

function db(values: Values, env: Env): DbUrl {
  const text = values.db as string | undefined;
  return parseDbUrl(text ?? `sqlite:${join(dir(values, env), "p7.db")}`);
}

/** The sink's config. */
export function sinkConfig(args: string[], env: Env): SinkConfig | Help {
  const { values } = parseFlags(args, {
    db: { type: "string" },
    dir: { type: "string" },
    brokers: { type: "string" },
  }, false);
  if (values.help) return { kind: "help", usage: SINK_USAGE };
  return { kind: "sink", brokers: brokers(values, env), db: db(values, env) };
}

/** The query's config: one SQL statement as the only argument. */
export function sqlConfig(args: string[], env: Env): SqlConfig | Help {
  const { values, positionals } = parseFlags(args, {
    db: { type: "string" },
    dir: { type: "string" },
  }, true);
  if (values.help) return { kind: "help", usage: SQL_USAGE };
  if (positionals.length !== 1 || positionals[0]!.trim() === "") {
    throw new P7Error("USAGE", 'give one query, quoted: sql "SELECT * FROM month_stats"');
  }
  return { kind: "sql", db: db(values, env), query: positionals[0]! };
}
