/**
 * The database a URL names, opened for the sink or queried, whichever kind it is.
 *
 * @module
 */
import { P7Error } from "../errors.ts";
import { openSqlite, querySqlite } from "./sqlite.ts";
import type { DbUrl, SinkStore } from "./store.ts";

function unsupported(db: DbUrl): never {
  throw new P7Error("USAGE", `--db ${db.kind}: only sqlite:PATH databases are supported so far`);
}

/** Opens the database for the sink, locked to it. */
export function openStore(db: DbUrl): Promise<SinkStore> {
  return db.kind === "sqlite" ? openSqlite(db.path) : unsupported(db);
}

/** Answers one query on the database, opened read-only. */
export function queryDb(db: DbUrl, sql: string): Promise<Record<string, unknown>[]> {
  return db.kind === "sqlite" ? Promise.resolve(querySqlite(db.path, sql)) : unsupported(db);
}
