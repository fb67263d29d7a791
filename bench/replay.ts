#!/usr/bin/env -S deno run --allow-all
/**
 * Replay's memory benchmark: generates a CSV of daily observations from several stations,
 * replays one station with `producer --source … --delay 0`, and samples the producer's
 * resident memory (`/proc/PID/status` VmRSS) against the rows it has read so far (its file
 * position, `/proc/PID/fdinfo`). Prints RSS at each tenth of the file and the summary line
 * `replay: N rows read (S sent) in T s, R rows/s, M msg/s; RSS A MiB at 10%, B MiB at the end,
 * peak P MiB`. Linux only.
 *
 * Dates are YYYY-MM-DD, so one series holds at most the 3.65 million days of years 0-9999:
 * a file of 10 million rows has several stations interleaved day by day, as multi-station
 * files do, and every row is read and split while one station's are checked and sent.
 *
 * `deno task bench:replay [--rows N]` runs it on a private broker of its own. The producer
 * recreates the topic, so it refuses to run without one (`P7_TEST_BROKERS`).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags, parseInteger } from "../lib/args.ts";
import { runMain } from "../lib/cli.ts";
import { P7Error } from "../lib/errors.ts";
import { mulberry32 } from "../lib/sources/weather.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Days per station: from year 1000 they end before year 9999. */
const MAX_DAYS = 3_000_000;
const FIRST_DAY = Date.UTC(1000, 0, 1);
const DAY_MS = 86_400_000;
const SAMPLE_MS = 250;
const HEADER = "station,date,temp_max\n";
/** Every row is as long, so the file position tells the rows read. */
const ROW_BYTES = "S01,1000-01-01,  -12.34\n".length;

export const REPLAY_BENCH_USAGE = `Usage: bench:replay [options]
Generates a CSV of daily max temperatures from several stations, replays one station with
producer --source --delay 0 on the broker in $P7_TEST_BROKERS (deno task bench:replay
starts a private one), and prints the producer's RSS as it reads the file.
  --rows N                 rows in the file (default 10000000; ${MAX_DAYS} days per station)
  --help                   this text`;

/** Benchmark settings. */
interface ReplayBenchConfig {
  kind: "bench";
  broker: string;
  rows: number;
}

function benchConfig(
  args: string[],
  env: Record<string, string | undefined>,
): ReplayBenchConfig | { kind: "help"; usage: string } {
  const { values } = parseFlags(args, { rows: { type: "string" } });
  if (values.help) return { kind: "help", usage: REPLAY_BENCH_USAGE };
  const broker = env.P7_TEST_BROKERS;
  if (!broker) {
    throw new P7Error(
      "USAGE",
      "no private broker in $P7_TEST_BROKERS; run `deno task bench:replay`, which starts one",
    );
  }
  const rows = typeof values.rows !== "string"
    ? 10_000_000
    : parseInteger("--rows", values.rows, 1, 30 * MAX_DAYS);
  return { kind: "bench", broker, rows };
}

/**
 * Writes `rows` rows of `stations` interleaved stations, a day for each in turn, each row
 * `ROW_BYTES` long; returns the stations' names.
 */
async function writeFile(path: string, rows: number, stations: number): Promise<string[]> {
  const names = Array.from({ length: stations }, (_, i) => `S${String(i + 1).padStart(2, "0")}`);
  const random = mulberry32(1);
  const encoder = new TextEncoder();
  using file = await Deno.open(path, { write: true, createNew: true });
  await file.write(encoder.encode(HEADER));
  const day = new Date(FIRST_DAY);
  let date = "";
  const lines: string[] = [];
  for (let row = 0; row < rows; row++) {
    const station = row % stations;
    if (station === 0) {
      date = day.toISOString().slice(0, 10);
      day.setUTCDate(day.getUTCDate() + 1);
    }
    const season = -Math.cos(2 * Math.PI * ((day.getTime() - FIRST_DAY) / DAY_MS) / 365.2425);
    const degrees = 57 + 26 * season + 12 * (random() - 0.5) - 3 * station;
    lines.push(`${names[station]},${date},${degrees.toFixed(2).padStart(8)}\n`);
    if (lines.length === 10_000 || row === rows - 1) {
      await file.write(encoder.encode(lines.join("")));
      lines.length = 0;
    }
  }
  return names;
}

/** One reading of the producer: its RSS when it had read `rows` rows, `seconds` in. */
interface Sample {
  seconds: number;
  rows: number;
  rssMiB: number;
}

/** The producer's VmRSS in MiB and its read position in `path`, or undefined once it is gone. */
async function sample(pid: number, path: string): Promise<[number, number] | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
    for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
      if ((await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "")) !== path) continue;
      const info = await Deno.readTextFile(`/proc/${pid}/fdinfo/${fd.name}`);
      return [rss, Number(/^pos:\s+(\d+)/m.exec(info)?.[1])];
    }
    return [rss, 0];
  } catch {
    return undefined;
  }
}

const format = (n: number) => n.toLocaleString("en-US");

/** Runs the benchmark; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config = benchConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const { rows } = config;
  const stations = Math.ceil(rows / MAX_DAYS);
  const dir = await Deno.makeTempDir({ prefix: "p7-bench-replay-" });
  try {
    const path = join(await Deno.realPath(dir), "observations.csv");
    let started = performance.now();
    const [station] = await writeFile(path, rows, stations);
    const size = (await Deno.stat(path)).size;
    console.log(
      `replay: wrote ${format(rows)} rows (${stations} station${stations > 1 ? "s" : ""}, ` +
        `${(size / 2 ** 20).toFixed(0)} MiB) in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s`,
    );
    const producer = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        join(ROOT, "producer.ts"),
        ...["--source", path, "--value-column", "temp_max", "--units", "F"],
        ...["--where", `station=${station}`, "--delay", "0", "--brokers", config.broker],
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    started = performance.now();
    const stderr = new Response(producer.stderr).text();
    const samples: Sample[] = [];
    let exited = false;
    const status = producer.status.finally(() => exited = true);
    while (!exited) {
      const reading = await sample(producer.pid, path);
      const seconds = (performance.now() - started) / 1000;
      if (reading !== undefined && reading[1] > 0) {
        const read = Math.min(rows, Math.max(0, (reading[1] - HEADER.length) / ROW_BYTES));
        samples.push({ seconds, rows: Math.floor(read), rssMiB: reading[0] });
      }
      await Promise.race([status, new Promise((resolve) => setTimeout(resolve, SAMPLE_MS))]);
    }
    const seconds = (performance.now() - started) / 1000;
    const { code } = await status;
    const output = await stderr;
    const summary = /: (\d+) rows accepted and sent .* (\d+) messages in/.exec(output);
    if (code !== 0 || !summary || samples.length === 0) {
      throw new Error(`the producer failed (exit ${code}):\n${output}`);
    }
    console.log("rows read     RSS MiB   seconds");
    const tenths = Array.from({ length: 10 }, (_, i) => Math.round(rows * (i + 1) / 10));
    const shown = tenths.map((mark) => samples.find((s) => s.rows >= mark) ?? samples.at(-1)!);
    for (const s of new Set(shown)) {
      console.log(
        `${format(s.rows).padStart(10)}  ${s.rssMiB.toFixed(0).padStart(9)}  ${
          s.seconds.toFixed(1).padStart(8)
        }`,
      );
    }
    const sent = Number(summary[1]);
    const peak = Math.max(...samples.map((s) => s.rssMiB));
    console.log(
      `replay: ${rows} rows read (${sent} sent) in ${seconds.toFixed(1)} s, ` +
        `${format(Math.round(rows / seconds))} rows/s, ${format(Math.round(sent / seconds))} ` +
        `msg/s; RSS ${shown[0]!.rssMiB.toFixed(0)} MiB at 10%, ` +
        `${shown.at(-1)!.rssMiB.toFixed(0)} MiB at the end, peak RSS ${peak.toFixed(0)} MiB`,
    );
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
