/**
 * What the black-box tests share: the test broker, running the real entry scripts as child
 * processes, and an independent recomputation of the statistics from the topic.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import protobuf from "protobufjs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createKafka } from "../lib/kafka/kafka.ts";
import type { MonthStats } from "../lib/stats/stats.ts";

/** The repository's root folder. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The broker `scripts/test.sh` started for the tests. */
export const BROKERS: string = Deno.env.get("P7_TEST_BROKERS") ?? "127.0.0.1:39092";

/** A finished command. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of `run` and `spawn`. */
export interface RunOptions {
  /** Extra environment; `KAFKA_BROKERS` is the test broker unless given here. */
  env?: Record<string, string>;
  /** Bytes for standard input. */
  stdin?: Uint8Array;
}

function command(script: string, args: string[], options: RunOptions): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-prompt", join(ROOT, script), ...args],
    cwd: ROOT,
    env: { KAFKA_BROKERS: BROKERS, NO_COLOR: "1", ...options.env },
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
}

const decoder = new TextDecoder();

/** How long `run` lets a script take: a script that hangs fails its test, not the suite. */
const RUN_LIMIT_MS = 180_000;

/** Runs an entry script (`producer.ts`, …) to completion with `deno run`. */
export async function run(
  script: string,
  args: string[],
  options: RunOptions = {},
): Promise<Output> {
  const child = command(script, args, options).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const output = child.output();
  try {
    const { code, stdout, stderr } = await within(RUN_LIMIT_MS, `${script} to exit`, output);
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } catch (error) {
    child.kill("SIGKILL");
    await output;
    throw error;
  }
}

/**
 * Backfills `days` simulated days (`producer --delay 0`) into a recreated topic, and checks
 * that the producer exited 0 having sent them all.
 */
export async function backfill(
  days: number,
  seed: number,
  options: { duplicateRate?: number } = {},
): Promise<void> {
  const args = ["--count", String(days), "--delay", "0", "--seed", String(seed)];
  if (options.duplicateRate !== undefined) {
    args.push("--duplicate-rate", String(options.duplicateRate));
  }
  const result = await run("producer.ts", args);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`sent ${days} days`));
}

/** A running entry script whose output is collected as it comes. */
export interface Running {
  process: Deno.ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Sends a signal (SIGINT by default) and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Output>;
  /** Waits for the exit. */
  done: Promise<Output>;
}

async function collect(stream: ReadableStream<Uint8Array>, sink: string[]): Promise<void> {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) sink.push(chunk);
}

/**
 * Starts an entry script and returns at once. Its `stop` with SIGINT or SIGTERM first waits
 * (up to 30 s) for the script's first line (on stderr; debug's first message on stdout),
 * which each prints once its stop handler is in place: a signal before that ends the script
 * with 130, as it would any program.
 */
export function spawn(script: string, args: string[], options: RunOptions = {}): Running {
  const running = spawnCommand(command(script, args, { ...options, stdin: undefined }));
  const stop = running.stop;
  running.stop = async (signal: Deno.Signal = "SIGINT") => {
    if (signal !== "SIGKILL") {
      const started = Promise.race([
        waitFor(
          "the script's first line",
          () => running.stderr() !== "" || running.stdout() !== "",
          30_000,
        ),
        running.done,
      ]);
      await started.catch(() => {});
    }
    return stop(signal);
  };
  return running;
}

/** Starts a command made with `stdout: "piped", stderr: "piped"`; returns at once. */
export function spawnCommand(command: Deno.Command): Running {
  const process = command.spawn();
  const out: string[] = [];
  const err: string[] = [];
  const reading = Promise.all([collect(process.stdout, out), collect(process.stderr, err)]);
  const done = (async () => {
    const { code } = await process.status;
    await reading;
    return { code, stdout: out.join(""), stderr: err.join("") };
  })();
  return {
    process,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    stop: (signal: Deno.Signal = "SIGINT") => {
      try {
        process.kill(signal);
      } catch {
        // already exited
      }
      return done;
    },
    done,
  };
}

/** The shell line that runs an entry script (`debug.ts`) as `spawn` does. */
export function scriptLine(script: string): string {
  return `${Deno.execPath()} run --allow-all --no-prompt ${join(ROOT, script)}`;
}

/** Runs a bash line against the test broker; returns at once. */
export function spawnShell(line: string): Running {
  return spawnCommand(
    new Deno.Command("bash", {
      args: ["-c", line],
      cwd: ROOT,
      env: { KAFKA_BROKERS: BROKERS, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }),
  );
}

/**
 * Runs a shell line in a terminal (`script`), which shows stdout and stderr together as a
 * user and the course's grader see them; `stop` signals `script` itself.
 */
export function spawnInTerminal(line: string): Running {
  return spawnShell(`exec script -qfec "exec ${line}" /dev/null`);
}

/** `promise`'s value, or a failure naming `what` after `ms`, so no test waits forever. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `check` returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits until the checkpoint offsets in `dir` (all four files, by partition) satisfy `check`;
 * files not written yet, or caught mid-rename, just mean "not yet".
 */
export function waitOffsets(
  dir: string,
  what: string,
  check: (offsets: number[]) => boolean,
): Promise<true> {
  return waitFor(what, async () => {
    try {
      return check((await readAll(dir)).map((file) => file.offset as number)) || undefined;
    } catch {
      return undefined;
    }
  });
}

/** A fresh, empty output folder for a test. */
export function tempDir(): Promise<string> {
  return Deno.makeTempDir({ prefix: "p7-test-" });
}

/** A kafkajs client for the test broker, with p7's connection settings. */
export function testKafka(clientId = "p7-test", brokers: string = BROKERS): Kafka {
  return createKafka(brokers.split(","), clientId);
}

/** The end offset (next offset) of every partition of `topic`, by partition. */
export async function endOffsets(
  topic = "temperatures",
  brokers: string = BROKERS,
): Promise<number[]> {
  const admin = testKafka("p7-test", brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  } finally {
    await admin.disconnect();
  }
}

/** Counts `value` into the entry of `key` (count, sum, min, max): a test's own recount. */
export function tally(
  entries: Map<string, { count: number; sum: number; min: number; max: number }>,
  key: string,
  value: number,
): void {
  const entry = entries.get(key);
  if (entry === undefined) entries.set(key, { count: 1, sum: value, min: value, max: value });
  else {
    entry.count++;
    entry.sum += value;
    entry.min = Math.min(entry.min, value);
    entry.max = Math.max(entry.max, value);
  }
}

/** A row of `laggingCsv`: a station's temperature at a time (ms). */
export interface LaggingRow {
  station: string;
  time: number;
  value: number;
}

/**
 * A CSV of `hours` hourly temperatures from 2013-07-01T00:00Z of three stations: "Ahead" and
 * "Behind" share partition 0 (murmur2, as the Java client), "North" has partition 3. Each
 * hour holds Ahead's row, then Behind's of three hours before, then North's: Behind runs a
 * known three hours behind its partition's stream time. Returns the rows and the producer's
 * flags that replay the file (without `--delay`).
 */
export async function laggingCsv(
  dir: string,
  hours: number,
): Promise<{ rows: LaggingRow[]; replay: string[] }> {
  const hour = 3_600_000;
  const t0 = Date.parse("2013-07-01T00:00:00Z");
  const rows: LaggingRow[] = [];
  for (let h = 0; h < hours; h++) {
    const time = t0 + h * hour;
    rows.push({ station: "Ahead", time, value: 70 + (h % 17) * 0.25 });
    rows.push({ station: "Behind", time: time - 3 * hour, value: 60 + (h % 13) * 0.5 });
    rows.push({ station: "North", time, value: 50 + (h % 11) * 0.75 });
  }
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19) + "Z";
  const path = join(dir, "lagging.csv");
  await Deno.writeTextFile(
    path,
    "station,time,temp\n" + rows.map((r) => `${r.station},${iso(r.time)},${r.value}\n`).join(""),
  );
  const replay = ["--source", path, "--station-column", "station", "--time-column", "time"];
  return { rows, replay: [...replay, "--measure", "temperature=temp:F"] };
}

/** The latest value of every key of a compacted `topic` (as text), read to its end offsets. */
export async function latestByKey(
  topic: string,
  brokers: string = BROKERS,
): Promise<Map<string, string>> {
  const ends = await endOffsets(topic, brokers);
  const latest = new Map<string, string>();
  const remaining = new Set(ends.flatMap((end, p) => end > 0 ? [p] : []));
  if (remaining.size === 0) return latest;
  const consumer = testKafka("p7-test", brokers).consumer({
    groupId: `p7-read-${crypto.randomUUID()}`,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = Promise.withResolvers<void>();
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        if (Number(message.offset) < ends[partition]!) {
          const key = message.key?.toString() ?? "";
          if (message.value === null) latest.delete(key);
          else latest.set(key, message.value.toString());
        }
        if (Number(message.offset) >= ends[partition]! - 1) remaining.delete(partition);
        if (remaining.size === 0) done.resolve();
        return Promise.resolve();
      },
    });
    await within(60_000, `reading topic "${topic}"`, done.promise);
  } finally {
    await consumer.disconnect();
  }
  return latest;
}

/** Reads a partition file as plain JSON. */
export async function readJson(dir: string, partition: number): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(join(dir, `partition-${partition}.json`)));
}

/** Waits until each listed partition's file has reached the topic's end offset. */
export async function waitCaughtUp(
  dir: string,
  partitions: number[],
  ms = 60_000,
  brokers: string = BROKERS,
): Promise<void> {
  const ends = await endOffsets("temperatures", brokers);
  await waitFor(`partitions ${partitions} to reach ${ends}`, async () => {
    for (const p of partitions) {
      try {
        if ((await readJson(dir, p)).offset !== ends[p]) return false;
      } catch {
        return false;
      }
    }
    return true;
  }, ms);
}

/** The month names, January first: the topic's keys. */
export const MONTH_NAMES: readonly string[] = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/**
 * The anomaly a day is, by the words: more than `sigma` population standard
 * deviations from the mean of every counted day of its calendar month in earlier years, with
 * at least `years` such years (five by default); the entries are summed in ascending year
 * order.
 */
function anomalyOf(
  years: Record<string, MonthStats>,
  date: string,
  degrees: number,
  { sigma, years: needed }: { sigma: number; years: number },
): { mean: number; std: number; z: number } | undefined {
  const earlier = Object.keys(years).filter((year) => year < date.slice(0, 4)).sort();
  if (earlier.length < needed) return undefined;
  let [n, sum, sumsq] = [0, 0, 0];
  for (const year of earlier) {
    n += years[year]!.count;
    sum += years[year]!.sum;
    sumsq += years[year]!.sumsq;
  }
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sumsq / n - mean * mean));
  const z = (degrees - mean) / std;
  return std > 0 && Math.abs(z) > sigma ? { mean, std, z } : undefined;
}

/** What the consumer should have written, recomputed: the partition files and anomaly logs. */
export interface Recount {
  /** By partition, as `readAll` reads them. */
  files: Record<string, unknown>[];
  /** By partition, the lines of `anomalies-N.jsonl`. */
  anomalies: Record<string, unknown>[][];
}

/**
 * The partition files the consumer should have written, recomputed from scratch: every
 * record of the topic read from offset 0 with a separate client, decoded with the schema in
 * `proto/report.proto` itself, invalid records and duplicates dropped by their own rules.
 */
export async function recompute(
  topic = "temperatures",
  brokers: string = BROKERS,
): Promise<Record<string, unknown>[]> {
  return (await recount(topic, brokers)).files;
}

/** As `recompute`, with the anomalies by `rule` too. */
export async function recount(
  topic = "temperatures",
  brokers: string = BROKERS,
  rule = { sigma: 3, years: 5 },
): Promise<Recount> {
  const proto = await Deno.readTextFile(join(ROOT, "proto/report.proto"));
  const Report = protobuf.parse(proto).root.lookupType("Report");
  const ends = await endOffsets(topic, brokers);
  const files = ends.map((
    end,
    partition,
  ) => ({ partition, offset: end } as Record<string, unknown>));
  const anomalies: Record<string, unknown>[][] = ends.map(() => []);
  const remaining = new Set(ends.flatMap((end, p) => end > 0 ? [p] : []));
  if (remaining.size === 0) return { files, anomalies };
  const consumer = testKafka("p7-test", brokers).consumer({
    groupId: `p7-recompute-${crypto.randomUUID()}`,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const done = Promise.withResolvers<void>();
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      const offset = Number(message.offset);
      if (offset >= ends[partition]!) return Promise.resolve();
      let report: { date: string; degrees: number } | undefined;
      try {
        report = Report.toObject(Report.decode(message.value ?? new Uint8Array()), {
          defaults: true,
        }) as { date: string; degrees: number };
      } catch {
        report = undefined;
      }
      const key = message.key?.toString() ?? "";
      const station = (report as { stationId?: string } | undefined)?.stationId;
      if (station) {
        const fields = report as unknown as Record<string, unknown>;
        countStation(
          files[partition]!,
          anomalies[partition]!,
          fields,
          key,
          rule,
          partition,
          offset,
        );
      }
      const date = station ? "" : report?.date ?? "";
      const day = new Date(date + "T00:00:00Z");
      const valid = report !== undefined && /^\d{4}-\d\d-\d\d$/.test(date) &&
        !isNaN(day.getTime()) && day.toISOString().slice(0, 10) === date &&
        Number.isFinite(report.degrees) && MONTH_NAMES[day.getUTCMonth()] === key;
      if (valid) {
        const file = files[partition]!;
        const months = (file[key] ??= {}) as Record<string, MonthStats>;
        const year = date.slice(0, 4);
        const stats = months[year];
        const degrees = report!.degrees;
        let counted = true;
        if (stats === undefined) {
          months[year] = {
            count: 1,
            sum: degrees,
            avg: degrees,
            start: date,
            end: date,
            min: degrees,
            max: degrees,
            sumsq: degrees * degrees,
          };
        } else if (date > stats.end) {
          stats.count += 1;
          stats.sum += degrees;
          stats.avg = stats.sum / stats.count;
          stats.end = date;
          stats.min = Math.min(stats.min, degrees);
          stats.max = Math.max(stats.max, degrees);
          stats.sumsq += degrees * degrees;
        } else {
          counted = false;
        }
        const anomaly = counted && anomalyOf(months, date, degrees, rule);
        if (anomaly) anomalies[partition]!.push({ date, degrees, ...anomaly, partition, offset });
      }
      if (offset === ends[partition]! - 1) {
        remaining.delete(partition);
        if (remaining.size === 0) done.resolve();
      }
      return Promise.resolve();
    },
  });
  await done.promise;
  await consumer.disconnect();
  return { files, anomalies };
}

/** The measurements of a station's Report, by proto field number: [proto name, camelCase]. */
const MEASURE_FIELDS: [string, string][] = [
  ["temperature", "temperature"],
  ["dew_point", "dewPoint"],
  ["humidity", "humidity"],
  ["pressure", "pressure"],
  ["wind_speed", "windSpeed"],
  ["wind_direction", "windDirection"],
  ["wind_gust", "windGust"],
  ["precipitation", "precipitation"],
  ["visibility", "visibility"],
];

/** Whether a value of a measurement could have been observed, by the rules. */
function possible(measure: string, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (measure === "temperature" || measure === "dew_point") return value >= -459.67;
  if (measure === "humidity") return value >= 0 && value <= 100;
  if (measure === "wind_direction") return value >= 0 && value <= 360;
  if (measure === "wind_speed" || measure === "wind_gust") return value >= 0 && value <= 254;
  return value >= 0;
}

/**
 * A station's record counted into a recomputed file by the rules of issue 23: key = station,
 * a real UTC time on the record's date, every measurement possible, a time not after the
 * station's last one a duplicate; each value then an anomaly or not against that station's
 * same calendar month of that measurement in earlier years.
 */
function countStation(
  file: Record<string, unknown>,
  anomalies: Record<string, unknown>[],
  report: Record<string, unknown>,
  key: string,
  rule: { sigma: number; years: number },
  partition: number,
  offset: number,
): void {
  const station = report.stationId as string;
  const time = String(report.time ?? "");
  const date = String(report.date ?? "");
  const at = new Date(time);
  const present = MEASURE_FIELDS.filter(([, field]) => report[field] != null);
  const valid = key === station && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(time) &&
    !isNaN(at.getTime()) && at.toISOString().slice(0, 19) + "Z" === time &&
    time.slice(0, 10) === date && Number.isFinite(report.degrees) &&
    present.every(([name, field]) => possible(name, report[field] as number));
  if (!valid) return;
  const stations = (file.stations ??= {}) as Record<
    string,
    { last: string; measures: Record<string, Record<string, Record<string, MonthStats>>> }
  >;
  const known = stations[station];
  if (known !== undefined && time <= known.last) return;
  const entry = known ?? (stations[station] = { last: time, measures: {} });
  entry.last = time;
  const month = MONTH_NAMES[at.getUTCMonth()]!;
  const year = date.slice(0, 4);
  for (const [name, field] of present) {
    const value = report[field] as number;
    const years = (entry.measures[name] ??= {})[month] ??= {};
    const stats = years[year];
    if (stats === undefined) {
      years[year] = {
        count: 1,
        sum: value,
        avg: value,
        start: time,
        end: time,
        min: value,
        max: value,
        sumsq: value * value,
      };
    } else {
      stats.count += 1;
      stats.sum += value;
      stats.avg = stats.sum / stats.count;
      stats.end = time;
      stats.min = Math.min(stats.min, value);
      stats.max = Math.max(stats.max, value);
      stats.sumsq += value * value;
    }
    const anomaly = anomalyOf(years, date, value, rule);
    if (anomaly) {
      anomalies.push({
        date,
        degrees: value,
        ...anomaly,
        partition,
        offset,
        station,
        measure: name,
        time,
      });
    }
  }
}

/** Every line of the anomaly logs in `dir`, by partition; none for a missing log. */
export async function readAnomalies(
  dir: string,
  partitions = [0, 1, 2, 3],
): Promise<Record<string, unknown>[][]> {
  return await Promise.all(partitions.map(async (p) => {
    try {
      const text = await Deno.readTextFile(join(dir, `anomalies-${p}.jsonl`));
      return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
  }));
}

/** Each month and year of partition files with its count (`July-1990:31`), sorted. */
export function monthCounts(files: Record<string, unknown>[]): string[] {
  return files.flatMap((file) =>
    Object.entries(file).filter(([key]) => key !== "partition" && key !== "offset")
      .flatMap(([month, years]) =>
        Object.entries(years as Record<string, { count: number }>)
          .map(([year, entry]) => `${month}-${year}:${entry.count}`)
      )
  ).sort();
}

/** Every partition file in `dir` as plain JSON, by partition, for `assertEquals`. */
export async function readAll(
  dir: string,
  partitions = [0, 1, 2, 3],
): Promise<Record<string, unknown>[]> {
  return await Promise.all(partitions.map((p) => readJson(dir, p)));
}

/**
 * Stops or starts the test broker with kafka/kafka.sh (the suite's runner exported its
 * KAFKA_PORT and P7_KAFKA_STATE).
 */
export async function broker(action: "start" | "stop"): Promise<void> {
  if (!Deno.env.get("P7_KAFKA_STATE")) {
    throw new Error("the test broker can be restarted only under scripts/with_broker.sh");
  }
  const { code, stderr } = await new Deno.Command("bash", {
    args: [join(ROOT, "kafka/kafka.sh"), action],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`kafka.sh ${action} failed: ${new TextDecoder().decode(stderr)}`);
}

/** Names of leftover temporary files in `dir`. */
export async function tempFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".tmp")) names.push(entry.name);
  }
  return names;
}

/**
 * Runs `./p7 pipeline --delay 0.005 --seed 8 ARGS` with `env` (and `P7_FILES=dir`) until every
 * partition file has counted something, then stops it with one SIGINT to its process group,
 * as a terminal's Ctrl-C would, and returns what it printed.
 */
export async function pipelineUntilCounted(
  dir: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<Output> {
  // setsid: the pipeline leads a process group; `env -u`: the pipeline picks its brokers
  // unless KAFKA_BROKERS says otherwise.
  const pipeline = spawnCommand(
    new Deno.Command("env", {
      args: [
        ...("KAFKA_BROKERS" in env ? [] : ["-u", "KAFKA_BROKERS"]),
        ...["setsid", "./p7", "pipeline", "--delay", "0.005", "--seed", "8", ...args],
      ],
      cwd: ROOT,
      env: { P7_FILES: dir, NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }),
  );
  await waitFor("the pipeline to run", () => /pipeline: running/.test(pipeline.stdout()));
  await waitOffsets(
    dir,
    "every partition to count something",
    (offsets) => offsets.every((offset) => offset > 10),
  );
  Deno.kill(-pipeline.process.pid, "SIGINT");
  return await pipeline.done;
}
