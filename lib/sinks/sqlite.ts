/**
 * The sink's SQLite database, through Deno's built-in `node:sqlite` (no native addon). The
 * file is in WAL mode with `synchronous=FULL`: a committed transaction survives a kill -9 of
 * the sink and a power loss, and readers (`./p7 sql`, `sqlite3`) read while the sink writes.
 * One sink at a time: it holds an OS lock on `PATH.lock` while open, which dies with it.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { P7Error } from "../errors.ts";
import {
  createSql,
  META,
  SCHEMA_VERSION,
  SINK_OFFSETS,
  SQLITE,
  TABLES,
  type TableSpec,
  upsertSql,
} from "./rows.ts";
import { positionKey, type Positions, type SinkStore, splitPositionKey } from "./store.ts";

/** An error of SQLite as one line naming the database. */
function sqliteError(path: string, doing: string, error: unknown): P7Error {
  if (error instanceof P7Error) return error;
  return new P7Error("INPUT", `database "${path}": ${doing}: ${(error as Error).message}`);
}

/**
 * Opens (creating it if need be) the database at `path`, locks it to this process, and
 * creates the tables of `SCHEMA_VERSION`, or checks that it has them.
 *
 * @throws {P7Error} `LOCKED` when another sink holds it; `INPUT` when it cannot be opened or
 * written, is not p7's, or has another schema version.
 */
export async function openSqlite(path: string): Promise<SinkStore> {
  let lock: Deno.FsFile;
  try {
    lock = await Deno.open(`${path}.lock`, { read: true, write: true, create: true });
  } catch (error) {
    throw sqliteError(path, "cannot take its lock", error);
  }
  if (!(await lock.tryLock(true))) {
    lock.close();
    throw new P7Error(
      "LOCKED",
      `database "${path}" is fed by another sink (it holds "${path}.lock")`,
    );
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 5000");
    // Checked first: a database that is refused is left exactly as it was.
    migrate(db);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    // A file that cannot be written (read-only, immutable) opens read-only without a word:
    // found now by a write rolled back, not at the first batch, which may be hours away.
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(`UPDATE ${META.name} SET value = value WHERE name = 'schema_version'`);
    } finally {
      db.exec("ROLLBACK");
    }
  } catch (error) {
    db?.close();
    lock.close();
    throw sqliteError(path, "cannot be opened", error);
  }
  return sqliteStore(path, db, lock);
}

/**
 * Creates the tables in an empty database; checks the version of one made before. Its
 * errors say what is wrong with the database; `openSqlite` names it.
 */
function migrate(db: DatabaseSync): void {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
    .map((row) => String(row.name));
  if (tables.length > 0) {
    if (!tables.includes(META.name)) {
      throw new Error(`it is not a p7 database (no table ${META.name})`);
    }
    const found = db.prepare(`SELECT value FROM ${META.name} WHERE name = 'schema_version'`)
      .get()?.value;
    if (found !== String(SCHEMA_VERSION)) {
      throw new Error(
        `its schema version is ${found ?? "unknown"}; this p7 reads version ${SCHEMA_VERSION}`,
      );
    }
    return;
  }
  db.exec("BEGIN IMMEDIATE");
  try {
    for (const table of TABLES) db.exec(createSql(table, SQLITE));
    db.prepare(upsertSql(META, SQLITE)).run("schema_version", String(SCHEMA_VERSION));
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** SQLite has no booleans: true and false are 1 and 0. */
function bindable(value: string | number | boolean): string | number {
  return typeof value === "boolean" ? (value ? 1 : 0) : value;
}

function sqliteStore(path: string, db: DatabaseSync, lock: Deno.FsFile): SinkStore {
  const upserts = new Map<TableSpec, StatementSync>();
  const upsert = (table: TableSpec) => {
    let statement = upserts.get(table);
    if (statement === undefined) {
      upserts.set(table, statement = db.prepare(upsertSql(table, SQLITE)));
    }
    return statement;
  };
  return {
    name: `sqlite:${path}`,
    // A file is not lost; its errors come from `apply`.
    lost: new Promise<never>(() => {}),
    positions() {
      const positions: Positions = new Map();
      for (const row of db.prepare(`SELECT * FROM ${SINK_OFFSETS.name}`).all()) {
        positions.set(
          positionKey(String(row.topic), Number(row.partition)),
          Number(row.next_offset),
        );
      }
      return Promise.resolve(positions);
    },
    run() {
      const row = db.prepare(`SELECT value FROM ${META.name} WHERE name = 'run'`).get();
      return Promise.resolve(row === undefined ? undefined : String(row.value));
    },
    apply(rows, positions, run) {
      try {
        db.exec("BEGIN IMMEDIATE");
        try {
          for (const row of rows) upsert(row.table).run(...row.values.map(bindable));
          for (const [key, next] of positions) {
            upsert(SINK_OFFSETS).run(...splitPositionKey(key), next);
          }
          if (run !== undefined) upsert(META).run("run", run);
          db.exec("COMMIT");
        } catch (error) {
          if (db.isTransaction) db.exec("ROLLBACK");
          throw error;
        }
      } catch (error) {
        return Promise.reject(sqliteError(path, "cannot be written", error));
      }
      return Promise.resolve();
    },
    close() {
      db.close();
      lock.close();
      return Promise.resolve();
    },
  };
}

/**
 * Answers one query on the database at `path`, opened read-only: it reads while a sink
 * writes, and never changes the file.
 *
 * @throws {P7Error} `INPUT` when the database cannot be opened or the query fails.
 */
export function querySqlite(path: string, sql: string): Record<string, unknown>[] {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (error) {
    throw sqliteError(path, "cannot be opened", error);
  }
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    // Plain objects: node:sqlite's rows have no prototype.
    return db.prepare(sql).all().map((row) => ({ ...row }));
  } catch (error) {
    throw new P7Error("INPUT", `query failed: ${(error as Error).message}`);
  } finally {
    db.close();
  }
}
