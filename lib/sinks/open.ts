/**
 * The database a URL names, opened for the sink or queried, whichever kind it is.
 *
 * @module
 */
import { openPostgres, queryPostgres } from "./postgres.ts";
import { openSqlite, querySqlite } from "./sqlite.ts";
import type { DbUrl, SinkStore } from "./store.ts";

/** Opens the database for the sink, locked to it. */
export function openStore(db: DbUrl): Promise<SinkStore> {
  return db.kind === "sqlite" ? openSqlite(db.path) : openPostgres(db.url);
}

/** Answers one query on the database, read-only. */
export function queryDb(db: DbUrl, sql: string): Promise<Record<string, unknown>[]> {
  return db.kind === "sqlite"
    ? Promise.resolve(querySqlite(db.path, sql))
    : queryPostgres(db.url, sql);
}
