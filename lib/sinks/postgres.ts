/**
 * The sink's PostgreSQL database, through the pure-JavaScript client `pg` (node-postgres).
 * One sink at a time: it holds a session advisory lock, which the server releases when the
 * sink's connection ends, a kill -9 included. A lost connection (the server restarted or
 * went away) ends the sink with one line: the lock went with the connection, and the sink
 * does not know whether its last COMMIT landed, so it starts over from the stored position.
 *
 * @module
 */
// @ts-types="npm:@types/pg@8.23.1"
import pg from "pg";
import { P7Error } from "../errors.ts";
import {
  createSql,
  lastByKey,
  META,
  POSTGRES,
  type Row,
  SCHEMA_VERSION,
  SINK_OFFSETS,
  TABLES,
  type TableSpec,
  upsertSql,
} from "./rows.ts";
import { positionKey, type Positions, type SinkStore, splitPositionKey } from "./store.ts";

/** The advisory lock a sink holds on its database (any number of p7's own; documented). */
const SINK_LOCK = 7_000_001;

/** Rows per statement: 13 columns × 500 stays far under PostgreSQL's 65,535 parameters. */
const ROWS_PER_STATEMENT = 500;

/** How long a connection may take: an address that does not answer is an error in time. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The URL without its password, for messages. */
export function postgresName(url: string): string {
  const parsed = new URL(url);
  parsed.password = "";
  return parsed.toString();
}

/** An error of PostgreSQL or of the connection as one line naming the database. */
function postgresError(name: string, doing: string, error: unknown): P7Error {
  if (error instanceof P7Error) return error;
  const err = error as Error & { code?: string; errors?: Error[] };
  // Node's AggregateError (IPv4 and IPv6 both refused) has an empty message of its own.
  const message = err.message || err.errors?.map((e) => e.message).join("; ") || err.code ||
    String(error);
  return new P7Error("DATABASE", `database ${name}: ${doing}: ${message}`);
}

// BIGINT as a number: counts and offsets stay far below 2^53.
const TYPES = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === 20 ? Number : pg.types.getTypeParser(oid, format ?? "text"),
};

async function connect(url: string, name: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types: TYPES,
  });
  // Without a listener, a connection lost while idle would end the process with a trace.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw postgresError(name, "cannot connect", error);
  }
  return client;
}

/**
 * Connects to the database at `url`, locks it to this sink, and creates the tables of
 * `SCHEMA_VERSION`, or checks that it has them.
 *
 * @throws {P7Error} `LOCKED` when another sink holds it; `DATABASE` when it cannot be
 * reached or written, holds tables named as p7's that are not p7's, or has another schema
 * version.
 */
export async function openPostgres(url: string): Promise<SinkStore> {
  const name = postgresName(url);
  const client = await connect(url, name);
  try {
    const locked = await client.query("SELECT pg_try_advisory_lock($1) AS ok", [SINK_LOCK]);
    if (locked.rows[0]?.ok !== true) {
      throw new P7Error(
        "LOCKED",
        `database ${name} is fed by another sink (it holds advisory lock ${SINK_LOCK})`,
      );
    }
    await migrate(client);
  } catch (error) {
    await client.end().catch(() => {});
    throw postgresError(name, "cannot be opened", error);
  }
  return postgresStore(name, client);
}

/**
 * Creates the tables where none of p7's are (a database may hold other tables too); checks
 * the version of those made before.
 */
async function migrate(client: pg.Client): Promise<void> {
  const found = await client.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
  );
  const names = new Set(found.rows.map((row) => String(row.table_name)));
  const ours = TABLES.filter((table) => names.has(table.name)).map((table) => table.name);
  if (ours.length > 0) {
    if (!names.has(META.name)) {
      throw new Error(`it has table ${ours[0]} but no ${META.name}: not a p7 database`);
    }
    const version = await client.query(
      `SELECT value FROM ${META.name} WHERE name = 'schema_version'`,
    );
    const value = version.rows[0]?.value;
    if (value !== String(SCHEMA_VERSION)) {
      throw new Error(
        `its schema version is ${value ?? "unknown"}; this p7 reads version ${SCHEMA_VERSION}`,
      );
    }
    return;
  }
  await transaction(client, async () => {
    for (const table of TABLES) await client.query(createSql(table, POSTGRES));
    await client.query(upsertSql(META, POSTGRES), ["schema_version", String(SCHEMA_VERSION)]);
  });
}

/** Runs `body` in one transaction, rolled back if it throws (while the connection lives). */
async function transaction(client: pg.Client, body: () => Promise<void>): Promise<void> {
  await client.query("BEGIN");
  try {
    await body();
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Upserts rows of one table, a statement per `ROWS_PER_STATEMENT`. */
async function upsertRows(client: pg.Client, table: TableSpec, rows: Row[]): Promise<void> {
  for (let at = 0; at < rows.length; at += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(at, at + ROWS_PER_STATEMENT);
    await client.query(upsertSql(table, POSTGRES, chunk.length), chunk.flatMap((r) => r.values));
  }
}

function postgresStore(name: string, client: pg.Client): SinkStore {
  const lost = Promise.withResolvers<P7Error>();
  client.on("error", (error) => lost.resolve(postgresError(name, "connection lost", error)));
  client.on(
    "end",
    () => lost.resolve(new P7Error("DATABASE", `database ${name}: connection lost`)),
  );
  let closing = false;
  return {
    name,
    lost: lost.promise.then((error) => closing ? new Promise<never>(() => {}) : error),
    async positions() {
      const positions: Positions = new Map();
      const found = await client.query(`SELECT * FROM ${SINK_OFFSETS.name}`);
      for (const row of found.rows) {
        positions.set(positionKey(row.topic, Number(row.partition)), Number(row.next_offset));
      }
      return positions;
    },
    async run() {
      const found = await client.query(`SELECT value FROM ${META.name} WHERE name = 'run'`);
      return found.rows[0]?.value;
    },
    async apply(rows, positions, run) {
      const offsets: Row[] = [...positions].map(([key, next]) => ({
        table: SINK_OFFSETS,
        values: [...splitPositionKey(key), next],
      }));
      if (run !== undefined) offsets.push({ table: META, values: ["run", run] });
      try {
        await transaction(client, async () => {
          for (const [table, latest] of lastByKey([...rows, ...offsets])) {
            await upsertRows(client, table, latest);
          }
        });
      } catch (error) {
        throw postgresError(name, "cannot be written", error);
      }
    },
    async close() {
      closing = true;
      await client.end().catch(() => {});
    },
  };
}

/**
 * Answers one query on the database at `url` in a read-only transaction: it reads while a
 * sink writes, and never changes the database.
 *
 * @throws {P7Error} `DATABASE` when the database cannot be reached; `INPUT` when the query
 * fails.
 */
export async function queryPostgres(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const name = postgresName(url);
  const client = await connect(url, name);
  try {
    await client.query("BEGIN READ ONLY");
    return (await client.query(sql)).rows;
  } catch (error) {
    throw new P7Error("INPUT", `query failed: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
