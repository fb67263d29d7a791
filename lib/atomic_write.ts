/**
 * Durable atomic file replacement: readers see the old content or the new, never a mix,
 * even after `kill -9` or a power cut.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/** Suffix of the temporary files `writeFileAtomic` leaves behind only when killed. */
export const TEMP_SUFFIX = ".tmp";

/**
 * Writes `data`, or its pieces one after the other, to `path` atomically: a temporary file in
 * the same folder is written, synced, closed and renamed over `path`, then the folder is
 * synced so the rename itself survives a crash. The temporary file is removed when anything fails.
 *
 * Requires `--allow-write` and `--allow-read` for the folder.
 *
 * @throws {Deno.errors.NotFound} when the folder does not exist, and other I/O errors.
 * @example
 * ```ts
 * await writeFileAtomic("files/partition-0.json", '{"partition": 0, "offset": 0}\n');
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | readonly Uint8Array[],
): Promise<void> {
  const pieces = typeof data === "string"
    ? [new TextEncoder().encode(data)]
    : data instanceof Uint8Array
    ? [data]
    : data;
  const temp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}${TEMP_SUFFIX}`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    try {
      for (const piece of pieces) await writeAll(file, piece);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  await syncDir(dirname(path));
}

/** Writes every byte to a file or a stream (`Deno.stdout`): `write` may write fewer than asked. */
export async function writeAll(
  file: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** Flushes a folder's entries (a rename) to disk. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * Removes the temporary files a killed `writeFileAtomic(path, …)` left beside `path`.
 * Only call it while no other process may be writing `path`. Returns how many it removed.
 */
export async function removeTempFiles(path: string): Promise<number> {
  const prefix = basename(path) + ".";
  let removed = 0;
  for await (const entry of Deno.readDir(dirname(path))) {
    if (entry.isFile && entry.name.startsWith(prefix) && entry.name.endsWith(TEMP_SUFFIX)) {
      await Deno.remove(join(dirname(path), entry.name));
      removed++;
    }
  }
  return removed;
}
