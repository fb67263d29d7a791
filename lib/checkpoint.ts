/**
 * The consumer's files for one partition, all in one folder:
 * `partition-N.json` (stats + offset, the checkpoint), `partition-N.lock` (held while a
 * process consumes N), and its logs: `rejected-N.jsonl` (records that could not be counted),
 * `anomalies-N.jsonl` (days far from their climate) and, with `--window`, `windows-N.jsonl`
 * (closed windows) and `late-N.jsonl` (values for windows already closed).
 *
 * @module
 */
import { join } from "node:path";
import { P7Error } from "./errors.ts";
import { removeTempFiles, writeAll, writeFileAtomic } from "./atomic_write.ts";
import { parseStats, type PartitionStats, type StatsEncoder, statsEncoder } from "./stats/stats.ts";

/** Path of a partition's stats file. */
export function statsPath(dir: string, partition: number): string {
  return join(dir, `partition-${partition}.json`);
}

/** A partition's logs, by name: `rejected-N.jsonl` and `anomalies-N.jsonl`. */
export type LogName = "rejected" | "anomalies" | "windows" | "late";

/** Path of one of a partition's logs. */
export function logPath(dir: string, name: LogName, partition: number): string {
  return join(dir, `${name}-${partition}.jsonl`);
}

function lockPath(dir: string, partition: number): string {
  return join(dir, `partition-${partition}.lock`);
}

/** A partition's lock, held by this process, and what the lock file said before. */
export interface PartitionLock {
  file: Deno.FsFile;
  /**
   * The producer run (topic incarnation) whose records the checkpoint counted, as the last
   * owner recorded it; undefined when unknown.
   */
  run?: string;
}

/**
 * Takes the exclusive lock `partition-N.lock`, held until the process exits (even by
 * `kill -9`, since it is an OS file lock). The lock is beside the stats file, not on it,
 * because the stats file is replaced by rename on every write. The lock file's text,
 * `{"pid": …, "run": …}`, also remembers the producer run the checkpoint belongs to.
 *
 * @throws {P7Error} `LOCKED` when another process holds it.
 */
export async function lockPartition(dir: string, partition: number): Promise<PartitionLock> {
  const path = lockPath(dir, partition);
  const file = await Deno.open(path, { read: true, write: true, create: true });
  if (!(await file.tryLock(true))) {
    file.close();
    throw new P7Error(
      "LOCKED",
      `partition ${partition} is already consumed by another process (it holds "${path}")`,
    );
  }
  let run: string | undefined;
  try {
    const found = JSON.parse(await Deno.readTextFile(path)).run;
    if (typeof found === "string") run = found;
  } catch {
    // An old, empty or torn lock file: the run is unknown.
  }
  const lock = { file, run };
  await writeLock(lock);
  return lock;
}

async function writeLock(lock: PartitionLock): Promise<void> {
  await lock.file.truncate(0);
  await lock.file.seek(0, Deno.SeekMode.Start);
  await writeAll(lock.file, lockText(lock.run));
  await lock.file.sync();
}

function lockText(run: string | undefined): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ pid: Deno.pid, run }) + "\n");
}

/**
 * Records in the lock file of a partition this process holds the producer run whose records
 * its checkpoint now holds. Any thread of the process may: the file is written in place
 * (never replaced, which would leave the lock on the old file).
 */
export async function recordRun(dir: string, partition: number, run: string): Promise<void> {
  const file = await Deno.open(lockPath(dir, partition), { write: true });
  try {
    await file.truncate(0);
    await writeAll(file, lockText(run));
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Reads and checks a partition's checkpoint; `undefined` when it does not exist yet. Removes
 * temporary files a killed writer left, so call it while holding the partition's lock.
 *
 * @throws {Error} `Cannot read checkpoint "files/partition-2.json": offset is negative`.
 */
export async function readStats(
  dir: string,
  partition: number,
): Promise<PartitionStats | undefined> {
  const path = statsPath(dir, partition);
  await removeTempFiles(path);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    return parseStats(text, partition);
  } catch (error) {
    throw new P7Error(
      "CHECKPOINT",
      `Cannot read checkpoint "${path}": ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Replaces a partition's stats file atomically and durably. Pass the same `encode` for every
 * save of a partition, so that unchanged entries are not encoded again.
 */
export async function saveStats(
  dir: string,
  stats: PartitionStats,
  encode: StatsEncoder = statsEncoder(),
): Promise<void> {
  await writeFileAtomic(statsPath(dir, stats.partition), encode(stats));
}

/** One record that could not be counted, as a line of `rejected-N.jsonl`. */
export interface Rejected extends Logged {
  reason: string;
  /** The record's value as base64, `null` for a null value. */
  value: string | null;
}

/** A line of a partition's log: each names the offset of the record it is about. */
export interface Logged {
  partition: number;
  offset: number;
}

/**
 * Drops the lines of a partition's log at or beyond `offset`: they belong to a batch whose
 * checkpoint was never written, and are written again when it is re-read. The logs are
 * appended before the checkpoint is saved, so with this each line is there exactly once.
 * `unsaved` drops other lines the checkpoint does not cover (a window it still holds open).
 */
export async function trimLog(
  dir: string,
  name: LogName,
  partition: number,
  offset: number,
  unsaved: (line: Record<string, unknown>) => boolean = () => false,
): Promise<void> {
  const path = logPath(dir, name, partition);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const lines = text.split("\n").filter((line) => line !== "");
  const kept = lines.filter((line) => {
    try {
      const logged = JSON.parse(line);
      return logged.offset < offset && !unsaved(logged);
    } catch {
      return false; // a line cut short by a crash mid-append
    }
  });
  if (kept.length !== lines.length || !text.endsWith("\n")) {
    await writeFileAtomic(path, kept.map((line) => line + "\n").join(""));
  }
}

/** Appends lines about one partition's records to its log `name` and syncs it. */
export async function appendLog(dir: string, name: LogName, lines: Logged[]): Promise<void> {
  if (lines.length === 0) return;
  const file = await Deno.open(logPath(dir, name, lines[0]!.partition), {
    append: true,
    create: true,
  });
  try {
    const text = lines.map((line) => JSON.stringify(line) + "\n").join("");
    await writeAll(file, new TextEncoder().encode(text));
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * The lines of a partition's log that `parse` accepts (it throws for the others, such as a
 * line cut short by a crash mid-append, dropped on the next start); none when there is no log.
 */
export async function readLog<T>(
  dir: string,
  name: LogName,
  partition: number,
  parse: (line: string) => T,
): Promise<T[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(logPath(dir, name, partition));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return text.split("\n").filter((line) => line !== "").flatMap((line) => {
    try {
      return [parse(line)];
    } catch {
      return [];
    }
  });
}

/** One partition file found in a folder: its stats, or why they cannot be read. */
export type StatsFile =
  | { partition: number; path: string; stats: PartitionStats }
  | { partition: number; path: string; error: string };

/**
 * Reads every `partition-N.json` in `dir`, by partition number; a missing folder has none.
 * A file that cannot be parsed is returned with its error, not thrown.
 */
export async function readAllStats(dir: string): Promise<StatsFile[]> {
  const files: StatsFile[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const match = /^partition-(\d+)\.json$/.exec(entry.name);
      if (!entry.isFile || !match) continue;
      const partition = Number(match[1]);
      const path = join(dir, entry.name);
      try {
        files.push({
          partition,
          path,
          stats: parseStats(await Deno.readTextFile(path), partition),
        });
      } catch (error) {
        files.push({ partition, path, error: (error as Error).message });
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files.sort((a, b) => a.partition - b.partition);
}
