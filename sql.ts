#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write
/**
 * One query on the sink's database: its rows as JSON lines on stdout, the count on stderr.
 *
 * @module
 */
import { type Help, type SqlConfig, sqlConfig } from "./lib/args.ts";
import { runMain } from "./lib/cli.ts";
import { queryDb } from "./lib/sinks/open.ts";

/** Runs the query; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config: SqlConfig | Help = sqlConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const rows = await queryDb(config.db, config.query);
  for (const row of rows) console.log(JSON.stringify(row));
  console.error(`sql: ${rows.length} ${rows.length === 1 ? "row" : "rows"}`);
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
