/**
 * A private PostgreSQL server for a test or the bench (scripts/postgres.sh): Debian's server on a free
 * loopback port, in a folder of its own under the test's temporary folder, stopped and
 * removed by `stop`; and `psql`, a client we did not write, to read what the sink wrote.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./harness.ts";

function serverInstalled(): boolean {
  try {
    return [...Deno.readDirSync("/usr/lib/postgresql")]
      .some((version) => existsSync(`/usr/lib/postgresql/${version.name}/bin/postgres`));
  } catch {
    return false;
  }
}

/** Why the PostgreSQL tests cannot run here, or undefined when they can. */
export const POSTGRES_MISSING: string | undefined = serverInstalled()
  ? undefined
  : "no PostgreSQL server installed (bash scripts/setup.sh installs Debian's postgresql)";

/** A running server. */
export interface Postgres {
  /** `postgres://p7@127.0.0.1:PORT/p7`. */
  url: string;
  /** A fast shutdown and a start again, as an operator's restart. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

const decoder = new TextDecoder();

async function script(args: string[]): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [join(ROOT, "scripts/postgres.sh"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`postgres.sh ${args[0]} failed: ${decoder.decode(out.stderr)}`);
  }
  return decoder.decode(out.stdout).trim();
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts a server of its own for a test. */
export async function startPostgres(): Promise<Postgres> {
  const parent = await Deno.makeTempDir({ prefix: "p7-postgres-" });
  // As root the server runs as user postgres, which must pass through this folder.
  await Deno.chmod(parent, 0o711);
  const dir = join(parent, "cluster");
  const url = await script(["start", dir, String(freePort())]);
  return {
    url,
    restart: async () => void await script(["restart", dir]),
    stop: async () => {
      await script(["stop", dir]);
      await Deno.remove(parent, { recursive: true });
    },
  };
}

/** The rows of `sql` on the server at `url`, read by psql as JSON. */
export async function psqlRows(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const out = await new Deno.Command("psql", {
    args: [
      url,
      "-AtXq",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      `SELECT coalesce(json_agg(t), '[]') FROM (${sql}) t`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`psql: ${decoder.decode(out.stderr).trim()}`);
  return JSON.parse(decoder.decode(out.stdout));
}
