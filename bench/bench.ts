#!/usr/bin/env -S deno run --allow-all
/**
 * The benchmark: on one broker, Kafka's own Java perf tools (the ceiling), p7's producer in
 * a backfill, p7's consumer on all four partitions from offset 0 with its checkpoints, and
 * the consumer's logic alone; then a table and the summary line
 * `bench: producer P msg/s (A% of java), consumer C msg/s (B% of java), logic L msg/s`.
 *
 * `deno task bench [--count N]` runs it on a private broker of its own. It recreates the
 * topics it uses, so it refuses to run without one (`P7_TEST_BROKERS`).
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { consumerConfig, parseFlags, parseInteger } from "../lib/args.ts";
import { runMain } from "../lib/cli.ts";
import { P7Error } from "../lib/errors.ts";
import {
  createKafka,
  disconnectQuickly,
  PARTITIONS,
  recreateTopic,
  TOPIC,
  topicOffsets,
} from "../lib/kafka/kafka.ts";
import { encodeReport } from "../lib/kafka/report.ts";
import { ANOMALY_TOPIC, STATS_TOPIC } from "../lib/kafka/stats_topic.ts";
import {
  consumerCommand,
  parseConsumerOutput,
  parseProducerOutput,
  producerCommand,
  type ToolOptions,
  toolsVersion,
} from "./java.ts";
import { runLogic } from "./logic.ts";
import { POSTGRES_MISSING, startPostgres } from "../tests/postgres.ts";
import { postgresDb, sqliteDb, sunkOffsets, type TestDb } from "../tests/sink_check.ts";
import { type Finished, measure, type Usage } from "./measure.ts";
import { formatTable, megabytes, rate, type Row, summaryLine } from "./table.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const JAVA_TOPIC = "p7-bench-java";
const SEED = 1;
/** The generator's dates reach year 9999 after about 2.92 million days. */
const MAX_DAYS = 2_900_000;

export const BENCH_USAGE = `Usage: bench [options]
Kafka's Java perf tools, then p7's producer, consumer and logic, on the broker in
$P7_TEST_BROKERS (deno task bench starts a private one); prints a table and a summary line.
  --count N                days the producer backfills (default 1000000, at most ${MAX_DAYS})
  --help                   this text`;

/** Benchmark settings. */
export interface BenchConfig {
  kind: "bench";
  broker: string;
  count: number;
}

/**
 * Reads the flags and the broker.
 *
 * @throws {P7Error} `USAGE` for a bad flag, or when no private broker is named.
 */
export function benchConfig(
  args: string[],
  env: Record<string, string | undefined>,
): BenchConfig | { kind: "help"; usage: string } {
  const { values } = parseFlags(args, { count: { type: "string" } });
  if (values.help) return { kind: "help", usage: BENCH_USAGE };
  const broker = env.P7_TEST_BROKERS?.split(",")[0];
  if (!broker) {
    throw new P7Error(
      "USAGE",
      "no private broker: run `deno task bench`, which starts one (the bench recreates topics)",
    );
  }
  const count = typeof values.count !== "string"
    ? 1_000_000
    : parseInteger("--count", values.count, 1, MAX_DAYS);
  return { kind: "bench", broker, count };
}

function log(line: string): void {
  console.error(`bench: ${line}`);
}

/** A command that failed: its name, status and the last lines it printed. */
function failed(what: string, run: Finished): P7Error {
  const lines = (run.stderr + run.stdout).trim().split("\n").slice(-5).join(" / ");
  return new P7Error("INPUT", `${what} exited with status ${run.code}: ${lines}`);
}

/** `deno run` arguments of a deno.json task, so the bench runs a script as its task does. */
async function taskArgs(task: string): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks ?? {};
  const words = String(tasks[task] ?? "").split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run") {
    throw new P7Error("INPUT", `deno.json task "${task}" is not a "deno run" command`);
  }
  return words.slice(1);
}

async function hasTask(task: string): Promise<boolean> {
  const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks ?? {};
  return task in tasks;
}

/** The classpath of Kafka's perf tools and their release, fetched by kafka.sh when missing. */
async function javaTools(): Promise<{ classpath: string; version: string }> {
  const run = await (await measure("bash", [join(ROOT, "kafka/kafka.sh"), "tools"])).done;
  if (run.code !== 0) throw failed("kafka.sh tools", run);
  const classpath = run.stdout.trim();
  const names: string[] = [];
  for await (const entry of Deno.readDir(dirname(classpath))) names.push(entry.name);
  const version = toolsVersion(names);
  if (version === undefined) throw new P7Error("INPUT", `no kafka-tools jar in ${classpath}`);
  return { classpath, version };
}

async function withAdmin<T>(broker: string, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka([broker], "p7-bench").admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await disconnectQuickly(admin);
  }
}

/** Runs a Java perf tool to its end and reads its result. */
async function javaRun(
  name: string,
  args: string[],
  parse: (text: string) => { messages: number; rate: number },
): Promise<Row> {
  const run = await (await measure("java", args)).done;
  if (run.code !== 0) throw failed(name, run);
  const { messages, rate } = parse(run.stdout);
  return {
    name,
    messages,
    seconds: messages / rate,
    peakRss: run.peakRss,
    cpuSeconds: run.cpuSeconds,
  };
}

/**
 * p7's producer backfilling `count` days (`--stations N`: reports of N stations; `replay`:
 * the rows of a file instead); the rate is the one it reports.
 */
async function producerRun(
  config: BenchConfig,
  name = "p7 producer (--delay 0)",
  extra: string[] = ["--count", String(config.count), "--seed", String(SEED)],
): Promise<Row & { days: number; duplicates: number }> {
  const args = [...await taskArgs("producer"), "--delay", "0", ...extra];
  const run = await (await measure(Deno.execPath(), args, {
    cwd: ROOT,
    env: { KAFKA_BROKERS: config.broker, NO_COLOR: "1" },
  })).done;
  if (run.code !== 0) throw failed("producer", run);
  const sent =
    /sent (\d+) (?:days|reports) .* and (\d+) duplicates, (\d+) messages in [\d.]+ s \((\d+) msg\/s\)/
      .exec(run.stderr);
  const replayed = /: (\d+) rows accepted and sent .*, (\d+) messages in [\d.]+ s \((\d+) msg\/s\)/
    .exec(run.stderr);
  if (!sent && !replayed) throw failed("producer printed no summary; it", run);
  const [days, duplicates, messages, perSecond] = sent
    ? sent.slice(1, 5).map(Number)
    : [Number(replayed![1]), 0, Number(replayed![2]), Number(replayed![3])];
  return {
    name,
    messages: messages!,
    seconds: messages! / perSecond!,
    peakRss: run.peakRss,
    cpuSeconds: run.cpuSeconds,
    days: days!,
    duplicates: duplicates!,
  };
}

/** What windows cost the consumer: an hourly and a daily window of every series. */
const WINDOWS = ["--window", "1h", "--window", "1d"];

/** The New York airports' hourly 2013 (nycflights13), every measurement of the file. */
const NYC_REPLAY = [
  "--source",
  join(ROOT, "data", "nycflights13-weather.csv"),
  "--station-column",
  "origin",
  "--time-column",
  "time_hour",
  ...[
    "temperature=temp:F",
    "dew_point=dewp:F",
    "humidity=humid:%",
    "wind_direction=wind_dir:deg",
    "wind_speed=wind_speed:mph",
    "wind_gust=wind_gust:mph",
    "precipitation=precip:in",
    "pressure=pressure:mbar",
    "visibility=visib:mi",
  ].flatMap((measure) => ["--measure", measure]),
];

/**
 * Many stations: the producer and the consumer on `--stations 10` (four measurements a
 * report) for `count` reports, and on the nycflights13 replay (26,115 rows, nine).
 */
async function stationRuns(config: BenchConfig): Promise<Row[]> {
  const rows: Row[] = [];
  log(`p7 producer, --stations 10: ${config.count} reports`);
  const simulated = await producerRun(config, "p7 producer (--stations 10)", [
    "--stations",
    "10",
    "--count",
    String(config.count),
    "--seed",
    String(SEED),
  ]);
  log("p7 consumer, --stations 10");
  const simulatedConsumer = await consumerRun(
    config,
    simulated,
    "p7 consumer (--stations 10, 4 measures a report)",
  );
  log("p7 producer, nycflights13 replay");
  const replay = await producerRun(config, "p7 producer (nycflights13 replay)", NYC_REPLAY);
  log("p7 consumer, nycflights13 replay");
  const replayConsumer = await consumerRun(
    config,
    replay,
    "p7 consumer (nycflights13, 9 measures a row)",
  );
  log("p7 consumer, nycflights13 replay, --window 1h --window 1d");
  const windowed = await consumerRun(
    config,
    replay,
    "p7 consumer (nycflights13, --window 1h --window 1d)",
    { args: WINDOWS },
  );
  rows.push(simulated, simulatedConsumer.row, replay, replayConsumer.row, windowed.row);
  return rows;
}

/** The `offset` of a partition file, read from its first bytes only; 0 while it is missing. */
async function fileOffset(path: string): Promise<number> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
  try {
    const head = new Uint8Array(256);
    const read = await file.read(head) ?? 0;
    const match = /"offset":\s*(\d+)/.exec(new TextDecoder().decode(head.subarray(0, read)));
    return match ? Number(match[1]) : 0;
  } finally {
    file.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which partitions a consumer run reads, and its extra flags. */
interface ConsumerShare {
  /** Default: all. */
  partitions?: number[];
  args?: string[];
}

/**
 * p7's consumer on all partitions (or `share`), from its start line (connected to Kafka,
 * files ready) until every checkpoint file holds the end offset; memory and CPU are read at
 * that moment, and the peak memory also when half the messages are counted. Then it is
 * stopped, must exit 0 and must have counted exactly what the producer sent (on a share: as
 * many reports and duplicates as its partitions hold).
 */
async function consumerRun(
  config: BenchConfig,
  sent: { days: number; duplicates: number },
  name: string,
  share: ConsumerShare = {},
): Promise<{ row: Row; halfwayRss?: number }> {
  const all = await withAdmin(config.broker, (admin) => topicOffsets(admin, TOPIC));
  const ends = all.filter(({ partition }) => share.partitions?.includes(partition) ?? true);
  const messages = ends.reduce((sum, { high }) => sum + high, 0);
  const dir = await Deno.makeTempDir({ prefix: "p7-bench-" });
  const partitions = ends.map(({ partition }) => String(partition));
  const args = [
    ...await taskArgs("consumer"),
    ...partitions,
    "--dir",
    dir,
    ...share.args ?? [],
  ];
  const consumer = await measure(Deno.execPath(), args, {
    cwd: ROOT,
    env: { KAFKA_BROKERS: config.broker, NO_COLOR: "1" },
  });
  try {
    const deadline = Date.now() + Math.max(120_000, messages / 5);
    const check = () => {
      if (Date.now() > deadline) {
        throw new P7Error("INPUT", "the consumer did not catch up in time");
      }
    };
    while (!consumer.stderr().includes("consumer: partitions")) {
      check();
      await sleep(5);
    }
    const started = performance.now();
    // Memory at half the messages too, to show how it grows with the state (months and years).
    let halfway: Usage | undefined;
    for (;;) {
      let read = 0;
      for (const { partition } of ends) {
        read += await fileOffset(join(dir, `partition-${partition}.json`));
      }
      if (halfway === undefined && read >= messages / 2) halfway = await consumer.usage();
      if (read >= messages) break;
      check();
      await sleep(10);
    }
    const seconds = (performance.now() - started) / 1000;
    const usage = await consumer.usage();
    const run = await consumer.stop("SIGINT");
    if (run.code !== 0) throw failed("consumer", run);
    const said = [...run.stderr.matchAll(/(\d+) counted, (\d+) duplicates, (\d+) rejected/g)]
      .at(-1);
    const expected = share.partitions === undefined
      ? `${sent.days} counted, ${sent.duplicates} duplicates, 0 rejected`
      : `${messages} counted or duplicates, 0 rejected`;
    const found = share.partitions === undefined
      ? said?.[0]
      : `${Number(said?.[1]) + Number(said?.[2])} counted or duplicates, ${said?.[3]} rejected`;
    if (found !== expected) {
      throw new P7Error(
        "INPUT",
        `the consumer said "${said?.[0]}" at the end, expected "${expected}"`,
      );
    }
    const row = { name, messages, seconds, ...usage };
    return { row, halfwayRss: halfway?.peakRss };
  } finally {
    await consumer.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
}

/** Bytes of a partition folder's log segments (index files are preallocated, so left out). */
async function segmentBytes(path: string): Promise<number> {
  let bytes = 0;
  for await (const entry of Deno.readDir(path)) {
    if (entry.name.endsWith(".log")) bytes += (await Deno.stat(join(path, entry.name))).size;
  }
  return bytes;
}

/**
 * The stats topic after the consumer's run: records published, bytes of its log segments on
 * the broker's disk then, and once the log cleaner has compacted it (up to 60 s later).
 */
async function statsTopicSize(config: BenchConfig): Promise<string> {
  const offsets = await withAdmin(config.broker, (admin) => topicOffsets(admin, STATS_TOPIC));
  const records = offsets.reduce((sum, { high }) => sum + high, 0);
  const state = Deno.env.get("P7_KAFKA_STATE");
  if (state === undefined) return `stats topic: ${records} records published`;
  const folders: string[] = [];
  for await (const entry of Deno.readDir(join(state, "data"))) {
    if (entry.name.startsWith(`${STATS_TOPIC}-`)) folders.push(join(state, "data", entry.name));
  }
  const size = async () => {
    let bytes = 0;
    for (const folder of folders) bytes += await segmentBytes(folder);
    return bytes;
  };
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  const before = await size();
  let segments = 0;
  for (const folder of folders) {
    for await (const entry of Deno.readDir(folder)) if (entry.name.endsWith(".log")) segments++;
  }
  // The cleaner leaves each partition's active segment alone.
  if (segments <= folders.length) {
    return `stats topic: ${records} records published, ${mb(before)} on disk, ` +
      `one segment per partition (nothing to compact)`;
  }
  const started = performance.now();
  let after = before;
  while (performance.now() - started < 60_000) {
    await sleep(2_000);
    after = await size();
    if (after < before / 2) break;
  }
  const waited = ((performance.now() - started) / 1000).toFixed(0);
  return `stats topic: ${records} records published, ${mb(before)} on disk after the ` +
    `run, ${mb(after)} ${waited} s later (compaction)`;
}

/**
 * The sink on what the consumer's run published (the statistics and anomalies topics, as
 * compacted by then), into a new database: from its start line to the topics' ends.
 */
async function sinkRun(config: BenchConfig, target: TestDb): Promise<Row> {
  let messages = 0;
  for (const topic of [STATS_TOPIC, ANOMALY_TOPIC]) {
    const offsets = await withAdmin(config.broker, (admin) => topicOffsets(admin, topic));
    messages += offsets.reduce((sum, { high }) => sum + high, 0);
  }
  const sink = await measure(Deno.execPath(), [
    ...await taskArgs("sink"),
    ...target.args,
  ], { cwd: ROOT, env: { KAFKA_BROKERS: config.broker, NO_COLOR: "1" } });
  try {
    const deadline = Date.now() + Math.max(120_000, messages / 5);
    const check = () => {
      if (Date.now() > deadline) throw new P7Error("INPUT", "the sink did not catch up in time");
    };
    while (!sink.stderr().includes("sink: ")) {
      check();
      await sleep(5);
    }
    // Timed as the consumer is, from its first line: the connection and the group join too.
    const started = performance.now();
    while (await sunkOffsets(target) < messages) {
      check();
      await sleep(20);
    }
    const seconds = (performance.now() - started) / 1000;
    const usage = await sink.usage();
    const run = await sink.stop("SIGINT");
    if (run.code !== 0) throw failed("sink", run);
    const name = `p7 sink (${target.label}, stats and anomalies topics)`;
    return { name, messages, seconds, ...usage };
  } finally {
    await sink.stop("SIGKILL");
  }
}

/** The sink into SQLite, and into PostgreSQL where its server is installed. */
async function sinkRuns(config: BenchConfig): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "p7-bench-" });
  try {
    log("p7 sink into SQLite, from what the consumer published");
    const rows = [await sinkRun(config, sqliteDb(join(dir, "p7.db")))];
    if (POSTGRES_MISSING) {
      log(`p7 sink into PostgreSQL skipped: ${POSTGRES_MISSING}`);
      return rows;
    }
    log("p7 sink into PostgreSQL, from what the consumer published");
    const server = await startPostgres();
    const db = postgresDb(server.url);
    try {
      rows.push(await sinkRun(config, db));
    } finally {
      await db.close();
      await server.stop();
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The consumer's peak RSS at half the messages and at the end, as the bench prints it. */
function consumerMemory(halfway?: number, end?: number): string {
  const mb = (bytes?: number) => bytes === undefined ? "?" : megabytes(bytes);
  return `p7 consumer: peak RSS ${mb(halfway)} at half the messages, ${mb(end)} at the end`;
}

/**
 * The consumer's logic alone, after a short warm-up as a running consumer has had, with and
 * without the anomaly check; and how many anomalies the days hold.
 */
function logicRuns(count: number): { rows: Row[]; anomalies: string } {
  runLogic(Math.min(count, 50_000), SEED + 1);
  const { messages, seconds, anomalies } = runLogic(count, SEED);
  const without = runLogic(count, SEED, false);
  const config = consumerConfig(["0", ...WINDOWS], {});
  const windowed = runLogic(
    count,
    SEED,
    true,
    config.kind === "consumer" ? config.windows : undefined,
  );
  return {
    rows: [
      { name: "p7 logic (decode + stats + anomalies, no Kafka)", messages, seconds },
      { name: "p7 logic (the same, no anomaly check)", ...without },
      { name: "p7 logic (with --window 1h --window 1d)", ...windowed },
    ],
    anomalies: `anomalies: ${anomalies} in ${count} days (3 standard deviations, 5 earlier ` +
      `years); the check took ${((seconds - without.seconds) / messages * 1e9).toFixed(0)} ns ` +
      `a message in the logic`,
  };
}

/**
 * The replay memory benchmark, when the project has one, as it prints itself: a file of ten
 * rows per backfilled day (10 million at the default count).
 */
async function replaySection(count: number): Promise<string> {
  if (!(await hasTask("bench:replay"))) {
    return "replay: skipped (no `bench:replay` task in deno.json)";
  }
  log("replay (deno task bench:replay)");
  const run =
    await (await measure(Deno.execPath(), ["task", "bench:replay", "--rows", String(count * 10)], {
      cwd: ROOT,
      env: { NO_COLOR: "1" },
    })).done;
  const lines = (run.stdout.trim() || run.stderr.trim()).split("\n").slice(-12);
  const peak = run.peakRss === undefined ? "" : ` (deno task: peak RSS ${run.peakRss >> 20} MB)`;
  return [`replay (deno task bench:replay, exit ${run.code})${peak}:`, ...lines].join("\n");
}

function brokerVersion(): string {
  const fromEnv = Deno.env.get("KAFKA_VERSION");
  if (fromEnv) return fromEnv;
  const pom = Deno.readTextFileSync(join(ROOT, "kafka/pom.xml"));
  return /<kafka\.version>(.*)<\/kafka\.version>/.exec(pom)?.[1] ?? "?";
}

/** Runs the benchmark; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config = benchConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const recordSize = encodeReport({ date: "2000-01-01", degrees: 12.3456 }).length;
  log("fetching Kafka's perf tools (kafka.sh tools)");
  const tools = await javaTools();
  const options: ToolOptions = {
    classpath: tools.classpath,
    broker: config.broker,
    topic: JAVA_TOPIC,
    messages: config.count,
    version: tools.version,
  };
  await withAdmin(
    config.broker,
    (admin) => recreateTopic(admin, JAVA_TOPIC, { partitions: PARTITIONS }),
  );
  log(`java producer: ${config.count} records of ${recordSize} bytes`);
  const javaProducer = await javaRun(
    "java ProducerPerformance (acks=all)",
    producerCommand(options, recordSize).args,
    parseProducerOutput,
  );
  log("java consumer");
  const javaConsumer = await javaRun(
    "java ConsumerPerformance",
    consumerCommand(options).args,
    parseConsumerOutput,
  );
  await withAdmin(config.broker, (admin) => admin.deleteTopics({ topics: [JAVA_TOPIC] }));
  log(`p7 producer: ${config.count} days`);
  const producer = await producerRun(config);
  log("p7 consumer, publishing to temperature-stats");
  const { row: consumer, halfwayRss } = await consumerRun(
    config,
    producer,
    `p7 consumer (4 partitions, ${
      Math.min(4, navigator.hardwareConcurrency)
    } threads, stats topic)`,
  );
  const published = await statsTopicSize(config);
  const sinks = await sinkRuns(config);
  // Each share on a private group and folder of its own, from offset 0.
  const shares: Row[] = [];
  for (
    const [label, share] of [
      ["4 partitions, 1 thread", { args: ["--threads", "1"] }],
      ["4 partitions, --window 1h --window 1d", { args: WINDOWS }],
      ["2 partitions (0 1)", { partitions: [0, 1] }],
      ["1 partition (0)", { partitions: [0] }],
    ] as [string, ConsumerShare][]
  ) {
    log(`p7 consumer, ${label}`);
    shares.push((await consumerRun(config, producer, `p7 consumer (${label})`, share)).row);
  }
  log("p7 consumer without the stats topic");
  await withAdmin(config.broker, (admin) => admin.deleteTopics({ topics: [STATS_TOPIC] }));
  const { row: unpublished } = await consumerRun(
    config,
    producer,
    "p7 consumer (the same, no stats topic)",
  );
  const stations = await stationRuns(config);
  log("p7 logic");
  const logic = logicRuns(config.count);
  const replay = await replaySection(config.count);
  producer.javaRate = rate(javaProducer);
  consumer.javaRate = rate(javaConsumer);
  unpublished.javaRate = rate(javaConsumer);
  for (const row of shares) row.javaRate = rate(javaConsumer);
  console.log(
    `Kafka ${brokerVersion()} broker, perf tools ${tools.version} (${
      basename(dirname(tools.classpath))
    }), ` +
      `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs; ${config.count} days, ` +
      `records of ${recordSize} bytes, ${PARTITIONS} partitions`,
  );
  console.log(
    formatTable([
      javaProducer,
      producer,
      javaConsumer,
      consumer,
      ...sinks,
      ...shares,
      unpublished,
      ...stations,
      ...logic.rows,
    ]),
  );
  console.log(consumerMemory(halfwayRss, consumer.peakRss));
  console.log(published);
  console.log(logic.anomalies);
  console.log(replay);
  console.log(summaryLine({
    producer: rate(producer),
    javaProducer: rate(javaProducer),
    consumer: rate(consumer),
    javaConsumer: rate(javaConsumer),
    logic: rate(logic.rows[0]!),
  }));
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
