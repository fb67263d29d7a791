#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read
/**
 * Serves a live web page of `DIR/partition-N.json` and `DIR/anomalies-N.jsonl` (or with
 * `--from kafka`, of the statistics and anomalies topics) and the consumer's lag: the page, the vega bundles it draws with, a small JSON API,
 * and server-sent events whenever a partition's statistics change, so the page redraws
 * without polling.
 *
 * @module
 */
import { type DashboardConfig, dashboardConfig, type Help } from "./lib/args.ts";
import { type Anomaly, parseAnomaly } from "./lib/stats/anomaly.ts";
import { type LogName, readAllStats, readLog, type StatsFile } from "./lib/checkpoint.ts";
import { onStopSignal, runMain, whenAborted } from "./lib/cli.ts";
import {
  anomaliesBody,
  type Asset,
  changedPartitions,
  extremesBody,
  loadAssets,
  partitionsBody,
  requestPath,
  sseEvent,
} from "./lib/dashboard/dashboard.ts";
import { chartsBody, ROLLING_CHART } from "./lib/dashboard/dashboard_charts.ts";
import {
  rollingSpan,
  seriesAnomalies,
  seriesLabel,
  seriesPick,
  stationsBody,
} from "./lib/dashboard/dashboard_stations.ts";
import { seriesBody, seriesFiles } from "./lib/stats/series.ts";
import { lateBody, rollingBody, rollingDays } from "./lib/stats/rolling.ts";
import {
  type ClosedWindow,
  type LateValue,
  parseClosedWindow,
  parseLateValue,
} from "./lib/stats/windows.ts";
import { P7Error } from "./lib/errors.ts";
import {
  createKafka,
  disconnectQuickly,
  kafkaError,
  type PartitionOffsets,
  sleep,
  TOPIC,
  topicOffsets,
} from "./lib/kafka/kafka.ts";
import {
  addSample,
  type LagRow,
  lagRows,
  type OffsetSample,
  type Rates,
  rates,
} from "./lib/kafka/lag.ts";
import { followStats, STATS_TOPIC, type StatsFollower } from "./lib/kafka/stats_topic.ts";

/** How often the lag is sampled without a request, for the rates and the `lag` events. */
const SAMPLE_MS = 5_000;
/** An API answer reuses the topic's offsets this recent. */
const FRESH_MS = 1_000;
/** A checkpoint write is a burst of events (temporary file, rename): one event for all. */
const DEBOUNCE_MS = 100;
/** A comment on idle event streams, so a vanished page is noticed and dropped. */
const PING_MS = 20_000;
/** Events queued for one page before it counts as stalled. */
const MAX_QUEUED_EVENTS = 1000;

const SECURITY_HEADERS = {
  // Everything comes from this server; the page uses vega's expression interpreter, not eval.
  "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; " +
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** The body of `GET /api/lag`. */
interface LagBody {
  partitions: (LagRow & Rates)[];
  /** Why the topic's offsets are unknown. */
  error?: string;
}

/** The open event streams of connected pages. */
interface EventHub {
  send(text: string): void;
  response(): Response;
  close(): void;
}

function eventHub(): EventHub {
  const clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();
  const write = (client: ReadableStreamDefaultController<Uint8Array>, text: string) => {
    try {
      client.enqueue(encoder.encode(text));
      // A page that stopped reading: end its stream; it reconnects and redraws from scratch.
      if ((client.desiredSize ?? 0) < -MAX_QUEUED_EVENTS) {
        client.close();
        clients.delete(client);
      }
    } catch {
      clients.delete(client); // the page went away
    }
  };
  return {
    send: (text) => clients.forEach((client) => write(client, text)),
    response: () => {
      let client: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          client = controller;
          clients.add(controller);
          write(controller, "retry: 1000\n: connected\n\n");
        },
        cancel() {
          clients.delete(client);
        },
      });
      return new Response(body, {
        headers: {
          ...SECURITY_HEADERS,
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
        },
      });
    },
    close: () => {
      for (const client of clients) client.close();
      clients.clear();
    },
  };
}

/**
 * The lag now: the files are read on every call, the topic's offsets asked of Kafka at most
 * once per `maxAge` (many pages cost one request), and again whenever a file is ahead of
 * them, so a consumer keeping up never shows a negative lag.
 */
type LagSampler = (maxAge: number) => Promise<LagBody>;

/** The topic's offsets, or why they are unknown, as asked at `at`. */
type Offsets = { at: number; offsets: PartitionOffsets[] } | { at: number; error: string };

function isAhead(offsets: Offsets, files: StatsFile[]): boolean {
  if ("error" in offsets) return false;
  const ends = new Map(offsets.offsets.map((o) => [o.partition, o.high]));
  return files.some((file) =>
    "stats" in file && file.stats.offset > (ends.get(file.partition) ?? Infinity)
  );
}

/** Where the dashboard reads the statistics, and how it learns that they changed. */
interface StatsSource {
  /** How messages name it. */
  name: string;
  read(): Promise<StatsFile[]>;
  /** Every anomaly counted, in any order. */
  anomalies(): Promise<Anomaly[]>;
  /** Every closed window (`consumer --window`), in any order. */
  windows(): Promise<ClosedWindow[]>;
  /** Every late value, in any order; the topics do not carry them, so none from Kafka. */
  late(): Promise<LateValue[]>;
  /** Calls `changed` with the partitions whose statistics changed, until `stop` aborts. */
  watch(changed: (partitions: number[]) => void, stop: AbortSignal): Promise<void>;
}

function folderSource(dir: string): StatsSource {
  // A line past its checkpoint belongs to a batch not counted yet (it may never be), and so
  // does a window the checkpoint still holds open.
  const covered = async <T extends { offset: number; key?: string }>(
    name: LogName,
    parse: (line: string) => T,
  ): Promise<T[]> => {
    const logs = (await readAllStats(dir)).map(async (file) => {
      if (!("stats" in file)) return [];
      const open = file.stats.windows?.open ?? {};
      return (await readLog(dir, name, file.partition, parse)).filter((line) =>
        line.offset < file.stats.offset && !(line.key !== undefined && line.key in open)
      );
    });
    return (await Promise.all(logs)).flat();
  };
  return {
    name: `the files in "${dir}"`,
    read: () => readAllStats(dir),
    anomalies: () => covered("anomalies", parseAnomaly),
    windows: () => covered("windows", parseClosedWindow),
    late: () => covered("late", parseLateValue),
    watch: (changed, stop) => watchFolder(dir, changed, stop),
  };
}

/** The statistics topic, read to its end before the server starts and followed after. */
async function topicSource(config: DashboardConfig, stop: AbortSignal): Promise<StatsSource> {
  const kafka = createKafka(config.brokers, "p7-dashboard");
  const admin = kafka.admin();
  let notify = (_: number[]) => {};
  let follower: StatsFollower;
  try {
    await admin.connect();
    follower = await followStats(kafka, admin, {
      signal: stop,
      brokers: config.brokers,
      onChange: (partitions) => notify(partitions),
    });
  } catch (error) {
    throw kafkaError(error, config.brokers, `reading topic "${STATS_TOPIC}"`);
  } finally {
    await disconnectQuickly(admin);
  }
  return {
    name: `topic "${STATS_TOPIC}"`,
    read: () => Promise.resolve(follower.files()),
    anomalies: () => Promise.resolve(follower.anomalies()),
    windows: () => Promise.resolve(follower.windows()),
    late: () => Promise.resolve([]),
    watch: async (changed) => {
      notify = changed;
      await follower.done;
    },
  };
}

function lagSampler(config: DashboardConfig, source: StatsSource): LagSampler {
  // One quick retry: a page shows "unreachable" now rather than after half a minute.
  const kafka = createKafka(config.brokers, "p7-dashboard", { retries: 1 });
  let samples: OffsetSample[] = [];
  let last: Offsets | undefined;
  let fetching: Promise<void> | undefined;
  const fetchOffsets = async (): Promise<void> => {
    const at = performance.now();
    const admin = kafka.admin();
    try {
      await admin.connect();
      last = { at, offsets: await topicOffsets(admin, TOPIC) };
    } catch (error) {
      last = { at, error: kafkaError(error, config.brokers, `reading topic "${TOPIC}"`).message };
    } finally {
      await admin.disconnect();
    }
  };
  /** Offsets asked for at `since` or later; one request at a time. */
  const offsetsSince = async (since: number): Promise<Offsets> => {
    while (last === undefined || last.at < since) {
      await (fetching ??= fetchOffsets().finally(() => fetching = undefined));
    }
    return last;
  };
  return async (maxAge) => {
    const read = performance.now();
    const files = await source.read();
    let offsets = await offsetsSince(read - maxAge);
    // End offsets only grow: asked after the files were read, they cover every checkpoint,
    // unless the topic was recreated.
    if (isAhead(offsets, files)) offsets = await offsetsSince(read);
    if ("error" in offsets) return { partitions: [], error: offsets.error };
    const rows = lagRows(offsets.offsets, files);
    if (samples.at(-1)?.time !== offsets.at) {
      const known = (value: (row: LagRow) => number | null) =>
        Object.fromEntries(
          rows.flatMap((row) => value(row) === null ? [] : [[row.partition, value(row)!]]),
        );
      samples = addSample(samples, {
        time: offsets.at,
        ends: known((row) => row.end),
        checkpoints: known((row) => row.checkpoint),
      });
    }
    return { partitions: rows.map((row) => ({ ...row, ...rates(samples, row.partition) })) };
  };
}

/** Samples the lag every `SAMPLE_MS` and tells the pages when it changed. */
async function watchLag(lag: LagSampler, hub: EventHub, stop: AbortSignal): Promise<void> {
  let shown = "";
  while (!stop.aborted) {
    const body = await lag(FRESH_MS);
    const text = JSON.stringify(body);
    if (text !== shown) hub.send(sseEvent("lag", body));
    shown = text;
    await sleep(SAMPLE_MS, stop);
  }
}

/**
 * Watches the folder (not the files: each write replaces its file by a rename) and calls
 * `changed` with the partitions whose file changed. Waits for the folder while it is missing.
 */
async function watchFolder(
  dir: string,
  changed: (partitions: number[]) => void,
  stop: AbortSignal,
): Promise<void> {
  let waited = false;
  while (!stop.aborted) {
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(dir, { recursive: false });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      waited = true;
      await sleep(1000, stop);
      continue;
    }
    const close = () => watcher.close();
    stop.addEventListener("abort", close, { once: true });
    if (waited) {
      // Files written before the watch began have no event of their own.
      const names: string[] = [];
      for await (const entry of Deno.readDir(dir)) names.push(entry.name);
      const partitions = changedPartitions(names);
      if (partitions.length > 0) changed(partitions);
    }
    let pending = new Set<number>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    for await (const event of watcher) {
      changedPartitions(event.paths).forEach((partition) => pending.add(partition));
      if (pending.size > 0 && timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          changed([...pending]);
          pending = new Set();
        }, DEBOUNCE_MS);
      }
      if (event.kind === "remove" && !(await exists(dir))) {
        close(); // the folder itself is gone: wait for a new one
        waited = true;
      }
    }
    stop.removeEventListener("abort", close);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}

function text(message: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(message + "\n", {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

function handler(
  config: DashboardConfig,
  source: StatsSource,
  assets: Map<string, Asset>,
  lag: LagSampler,
  hub: EventHub,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "GET") return text("method not allowed", 405, { allow: "GET" });
    const path = requestPath(request.url);
    const pick = seriesPick(new URL(request.url).searchParams);
    if (pick !== undefined && "error" in pick) return json(pick, 400);
    // The files, or with ?station&measure that series in the place of the course's.
    const picked = async () => {
      const files = await source.read();
      return pick === undefined ? files : seriesFiles(files, pick);
    };
    try {
      switch (path) {
        case "/api/partitions":
          return json(partitionsBody(config.dir, await source.read()));
        case "/api/stations":
          return json(stationsBody(await source.read()));
        case "/api/series": {
          if (pick === undefined) return json({ error: "give both station and measure" }, 400);
          const body = seriesBody(await source.read(), pick);
          return body === undefined
            ? json({ error: `no ${pick.measure} of station ${JSON.stringify(pick.station)}` }, 404)
            : json(body);
        }
        case "/api/lag": {
          const body = await lag(FRESH_MS);
          return json(body, body.error === undefined ? 200 : 503);
        }
        case "/api/extremes":
          return json(extremesBody(await picked()));
        case "/api/anomalies":
          return json(anomaliesBody(seriesAnomalies(await source.anomalies(), pick)));
        case "/api/charts": {
          const [files, body, windows] = await Promise.all([
            picked(),
            lag(FRESH_MS),
            source.windows(),
          ]);
          const rows = body.error === undefined ? body.partitions : undefined;
          const days = rollingDays(windows, pick, ROLLING_CHART.days);
          return json(chartsBody(files, rows, pick && seriesLabel(pick), days));
        }
        case "/api/rolling": {
          const days = rollingSpan(new URL(request.url).searchParams);
          if (typeof days !== "number") return json(days, 400);
          const body = rollingBody(await source.windows(), pick, days);
          return body === undefined
            ? json({ error: "no daily windows of this series (consumer --window 1d)" }, 404)
            : json(body);
        }
        case "/api/late":
          return json(lateBody(await source.late(), pick));
        case "/events":
          return hub.response();
      }
    } catch (error) {
      // The folder cannot be listed (permissions?): the page says so and the server goes on.
      const message = `cannot read ${source.name}: ${(error as Error).message}`;
      console.error(`dashboard: ${path}: ${message}`);
      return json({ error: message }, 500);
    }
    const asset = assets.get(path);
    if (asset === undefined) return text("not found", 404);
    return new Response(asset.body, {
      headers: { ...SECURITY_HEADERS, "content-type": asset.type, "cache-control": "no-cache" },
    });
  };
}

/** `host:port` as a URL's authority; IPv6 addresses are bracketed. */
function authority(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Runs the dashboard until SIGINT/SIGTERM; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config: DashboardConfig | Help = dashboardConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const assets = await loadAssets();
  const stop = onStopSignal();
  const hub = eventHub();
  const source = config.from === "kafka"
    ? await topicSource(config, stop)
    : folderSource(config.dir);
  const lag = lagSampler(config, source);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: ({ port }) =>
        console.error(
          `dashboard: serving http://${authority(config.host, port)}/ ` +
            `for ${source.name}`,
        ),
    }, handler(config, source, assets, lag, hub));
  } catch (error) {
    if (
      !(error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.AddrNotAvailable)
    ) {
      throw error;
    }
    throw new P7Error(
      "LISTEN",
      `cannot listen on ${authority(config.host, config.port)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const ping = setInterval(() => hub.send(": ping\n\n"), PING_MS);
  const changed = (partitions: number[]) => hub.send(sseEvent("partition", { partitions }));
  const background = Promise.all([
    source.watch(changed, stop),
    watchLag(lag, hub, stop),
  ]);
  try {
    // A watcher that fails (the folder became unreadable) ends the server with its error.
    await Promise.race([whenAborted(stop), background]);
  } finally {
    clearInterval(ping);
    hub.close();
    await server.shutdown();
  }
  await background;
  console.error("dashboard: stopped");
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
