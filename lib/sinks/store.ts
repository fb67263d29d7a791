/**
 * Where the sink writes: a database named by a URL, behind one small interface, so the sink
 * is the same for each. Its rows and its position in the topics change together, in one
 * transaction, or not at all.
 *
 * @module
 */
import { P7Error } from "../errors.ts";
import type { Row } from "./rows.ts";

/** A database URL, read. */
export type DbUrl = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

/**
 * Reads `sqlite:PATH` or `postgres://user@host:port/db` (also `postgresql://`).
 *
 * @throws {P7Error} `USAGE` for anything else.
 */
export function parseDbUrl(text: string): DbUrl {
  if (text.startsWith("sqlite:")) {
    const path = text.slice("sqlite:".length);
    if (path === "" || path === ":memory:") {
      throw new P7Error("USAGE", `--db ${text}: a SQLite database needs a file (sqlite:PATH)`);
    }
    return { kind: "sqlite", path };
  }
  if (/^postgres(ql)?:\/\//.test(text)) {
    try {
      new URL(text);
    } catch {
      throw new P7Error("USAGE", `--db ${text}: not a URL`);
    }
    return { kind: "postgres", url: text };
  }
  throw new P7Error(
    "USAGE",
    `--db ${JSON.stringify(text)}: expected sqlite:PATH or postgres://user@host:port/db`,
  );
}

/** The next offset to read of each topic partition, keyed `topic/partition`. */
export type Positions = Map<string, number>;

/** The key of a topic partition in `Positions`. */
export function positionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** A `Positions` key back into its topic and partition. */
export function splitPositionKey(key: string): [string, number] {
  const slash = key.lastIndexOf("/");
  return [key.slice(0, slash), Number(key.slice(slash + 1))];
}

/** A database the sink writes, locked to one sink while open. */
export interface SinkStore {
  /** Where it is, for messages: the URL without a password. */
  readonly name: string;
  /** The committed position: what the rows hold. */
  positions(): Promise<Positions>;
  /** The producer run the rows belong to (its `p7-run` header), if any row was written. */
  run(): Promise<string | undefined>;
  /**
   * Upserts `rows` and moves the position to `positions` (and the run to `run`) in one
   * transaction; on any failure nothing of it is written.
   */
  apply(rows: Row[], positions: Positions, run: string | undefined): Promise<void>;
  /** Settles only if the connection is lost, with the error that says so. */
  readonly lost: Promise<P7Error>;
  close(): Promise<void>;
}
