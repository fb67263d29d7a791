/**
 * What the dashboard's black-box tests share: real partition files made by the real
 * producer and consumer, a running dashboard on a free port, and the expected chart data
 * computed from the files on disk independently of the server's code.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Running, spawn, waitCaughtUp, waitFor } from "./harness.ts";

/** Runs one consumer process for `partitions` until their files reach the topic's end. */
export async function consume(
  dir: string,
  partitions: number[],
  flags: string[] = [],
): Promise<void> {
  const consumer = spawn("consumer.ts", [...partitions.map(String), "--dir", dir, ...flags]);
  try {
    await waitCaughtUp(dir, partitions);
  } finally {
    const result = await consumer.stop();
    assert.equal(result.code, 0, result.stderr);
  }
}

/** A dashboard process and the address it serves. */
export interface Dashboard {
  url: string;
  port: number;
  process: Running;
}

/** Starts `dashboard.ts` on a free port of 127.0.0.1 and waits until it serves. */
export async function startDashboard(
  args: string[],
  env?: Record<string, string>,
): Promise<Dashboard> {
  const process = spawn("dashboard.ts", ["--port", "0", ...args], { env });
  const port = await waitFor("the dashboard to listen", async () => {
    const match = /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(process.stderr());
    if (match) return Number(match[1]);
    const exited = await Promise.race([process.done, Promise.resolve(undefined)]);
    if (exited) throw new Error(`the dashboard exited: ${exited.stderr}`);
    return undefined;
  }, 30_000);
  return { url: `http://127.0.0.1:${port}`, port, process };
}

interface Stats {
  count: number;
  sum: number;
}

/** Month → year → stats of every `partition-N.json` in `dir`, merged, read as plain JSON. */
export async function monthsOnDisk(dir: string): Promise<Map<string, Map<string, Stats>>> {
  const months = new Map<string, Map<string, Stats>>();
  for await (const entry of Deno.readDir(dir)) {
    if (!/^partition-\d+\.json$/.test(entry.name)) continue;
    const file = JSON.parse(await Deno.readTextFile(join(dir, entry.name)));
    for (const [key, years] of Object.entries(file)) {
      if (key === "partition" || key === "offset") continue;
      const byYear = months.get(key) ?? new Map<string, Stats>();
      months.set(key, byYear);
      for (const [year, stats] of Object.entries(years as Record<string, Stats>)) {
        const old = byYear.get(year) ?? { count: 0, sum: 0 };
        byYear.set(year, { count: old.count + stats.count, sum: old.sum + stats.sum });
      }
    }
  }
  return months;
}

/** The number of (month, year) points the temperature chart should draw. */
export function pointCount(months: Map<string, Map<string, Stats>>): number {
  return [...months.values()].reduce((sum, years) => sum + years.size, 0);
}

/** The `month.svg` bars expected: `[label, average rounded to 2 decimals]`. */
export function expectedBars(months: Map<string, Map<string, Stats>>): [string, number][] {
  return ["January", "February", "March"].flatMap((month): [string, number][] => {
    const years = months.get(month);
    if (years === undefined) return [];
    const latest = [...years.keys()].sort().at(-1)!;
    const { count, sum } = years.get(latest)!;
    return [[`${month}-${latest}`, Math.round((sum / count) * 100) / 100]];
  });
}
