/**
 * The dashboard server's pure parts: the fixed table of files it serves (its own page and
 * the vega bundles from their npm packages, so the page works with no internet), request
 * paths, server-sent event framing, which watched paths are partition files, and the
 * bodies of the partitions, extremes and anomalies APIs.
 *
 * @module
 */
import { basename } from "node:path";
// Imported for its place in the module graph, so that Deno fetches the package (and
// `deno compile` embeds it) like vega and vega-lite, whose bundles are served beside it.
import "vega-embed";
import type { Anomaly } from "../stats/anomaly.ts";
import type { StatsFile } from "../checkpoint.ts";
import { P7Error } from "../errors.ts";
import { MONTHS } from "../kafka/report.ts";
import type { MonthTable } from "../stats/stats.ts";

/** A file the server sends, and where it comes from. */
export interface AssetSource {
  /** `Content-Type` header. */
  type: string;
  source: URL;
}

const JS = "text/javascript; charset=utf-8";
const PAGE = new URL("../../dashboard/", import.meta.url);

/** The package's prebuilt browser bundle, which sits beside its module entry point. */
function bundle(entry: string, file: string): URL {
  return new URL(file, import.meta.resolve(entry));
}

/**
 * Every path the server answers with a file; any other path, whatever its spelling, is not
 * found, so no request can reach a file outside this table.
 */
export const ASSETS: Readonly<Record<string, AssetSource>> = {
  "/": { type: "text/html; charset=utf-8", source: new URL("index.html", PAGE) },
  "/app.js": { type: JS, source: new URL("app.js", PAGE) },
  "/style.css": { type: "text/css; charset=utf-8", source: new URL("style.css", PAGE) },
  "/vendor/vega.min.js": { type: JS, source: bundle("vega", "vega.min.js") },
  "/vendor/vega-lite.min.js": { type: JS, source: bundle("vega-lite", "vega-lite.min.js") },
  "/vendor/vega-embed.min.js": { type: JS, source: bundle("vega-embed", "vega-embed.min.js") },
};

/** A file read into memory, ready to send. */
export interface Asset {
  type: string;
  body: Uint8Array<ArrayBuffer>;
}

/**
 * Reads every file of `ASSETS`, so a missing one fails at start, not on a request.
 * Requires `--allow-read`.
 *
 * @throws {P7Error} `INPUT` naming the file that cannot be read.
 */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const [path, { type, source }] of Object.entries(ASSETS)) {
    try {
      assets.set(path, { type, body: await Deno.readFile(source) });
    } catch (error) {
      throw new P7Error(
        "INPUT",
        `Cannot read the dashboard's file "${decodeURIComponent(source.pathname)}": ` +
          (error as Error).message,
        { cause: error },
      );
    }
  }
  return assets;
}

/**
 * The path of a request URL exactly as the client sent it: no query, no fragment, and no
 * decoding or `..` resolution, so a spelled-out or percent-encoded traversal never equals a
 * served path.
 *
 * @example
 * ```ts
 * requestPath("http://localhost:8000/api/lag?x=1"); // "/api/lag"
 * requestPath("http://localhost:8000/vendor/%2e%2e/app.js"); // "/vendor/%2e%2e/app.js"
 * ```
 */
export function requestPath(url: string): string {
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "");
  return path.split(/[?#]/, 1)[0] || "/";
}

/**
 * One server-sent event: its type and its data as one line of JSON.
 *
 * @example
 * ```ts
 * sseEvent("partition", { partitions: [2] }); // 'event: partition\ndata: {"partitions":[2]}\n\n'
 * ```
 */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

const PARTITION_FILE = /^partition-(\d+)\.json$/;

/**
 * The partitions whose `partition-N.json` is among `paths` (file system events name the
 * temporary file and the file it is renamed to; only the latter counts), ascending.
 */
export function changedPartitions(paths: string[]): number[] {
  const partitions = new Set<number>();
  for (const path of paths) {
    const match = PARTITION_FILE.exec(basename(path));
    if (match) partitions.add(Number(match[1]));
  }
  return [...partitions].sort((a, b) => a - b);
}

/** One partition file as `GET /api/partitions` shows it. */
export type PartitionEntry =
  | { partition: number; file: string; offset: number; months: MonthTable }
  | { partition: number; file: string; error: string };

/** The body of `GET /api/partitions`. */
export interface PartitionsBody {
  /** The folder, as given to the server. */
  dir: string;
  /** Every `partition-N.json` of the folder, by partition; empty when there are none. */
  partitions: PartitionEntry[];
}

/** What `GET /api/partitions` answers for the files of `dir`. */
export function partitionsBody(dir: string, files: StatsFile[]): PartitionsBody {
  return {
    dir,
    partitions: files.map((file): PartitionEntry => {
      const name = basename(file.path);
      return "error" in file ? { partition: file.partition, file: name, error: file.error } : {
        partition: file.partition,
        file: name,
        offset: file.stats.offset,
        months: file.stats.months,
      };
    }),
  };
}

/** A value of one year. */
export interface YearValue {
  year: string;
  degrees: number;
}

/** One calendar month as `GET /api/extremes` shows it. */
export interface MonthExtremes {
  month: string;
  /** The latest year counted, and its lowest, average and highest day. */
  year: string;
  min: number;
  avg: number;
  max: number;
  /** The lowest and highest day of any year, and the year. */
  low: YearValue;
  high: YearValue;
}

/** The body of `GET /api/extremes`: each month counted, in calendar order. */
export interface ExtremesBody {
  months: MonthExtremes[];
}

/** What `GET /api/extremes` answers for the readable files among `files`. */
export function extremesBody(files: StatsFile[]): ExtremesBody {
  const months: MonthExtremes[] = [];
  for (const month of MONTHS) {
    const entries = files.flatMap((file) =>
      "stats" in file ? Object.entries(file.stats.months[month] ?? {}) : []
    ).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    if (entries.length === 0) continue;
    const [year, latest] = entries.at(-1)!;
    const low = { year, degrees: latest.min };
    const high = { year, degrees: latest.max };
    for (const [year, { min, max }] of entries) {
      if (min < low.degrees) Object.assign(low, { year, degrees: min });
      if (max > high.degrees) Object.assign(high, { year, degrees: max });
    }
    months.push({ month, year, min: latest.min, avg: latest.avg, max: latest.max, low, high });
  }
  return { months };
}

/** The body of `GET /api/anomalies`. */
export interface AnomaliesBody {
  /** Every anomaly counted. */
  total: number;
  /** The latest ones, newest first. */
  latest: Anomaly[];
}

/** How many anomalies the page lists. */
export const LATEST_ANOMALIES = 20;

/** What `GET /api/anomalies` answers for `anomalies`, in any order. */
export function anomaliesBody(anomalies: Anomaly[]): AnomaliesBody {
  const at = (anomaly: Anomaly) => anomaly.time ?? anomaly.date;
  const latest = [...anomalies].sort((a, b) => at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0);
  return { total: anomalies.length, latest: latest.slice(0, LATEST_ANOMALIES) };
}
