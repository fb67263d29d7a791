#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read --allow-write
/**
 * The database sink: keeps `files/p7.db` (or `--db`) current with the statistics, anomalies
 * and windows topics, exactly once, until Ctrl-C; then one summary line.
 *
 * @module
 */
import { type Help, type SinkConfig, sinkConfig } from "./lib/args.ts";
import { onStopSignal, runMain } from "./lib/cli.ts";
import { createKafka } from "./lib/kafka/kafka.ts";
import { openStore } from "./lib/sinks/open.ts";
import { runSink, SINK_TOPICS, type SinkTotals } from "./lib/sinks/sink.ts";

/** How often a running sink reports its totals. */
const PROGRESS_MS = 10_000;

function totalsText(totals: SinkTotals): string {
  return `${totals.records} records, ${totals.rows} rows in ${totals.transactions} transactions`;
}

/** Runs the sink; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config: SinkConfig | Help = sinkConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const stop = onStopSignal();
  const store = await openStore(config.db);
  const started = performance.now();
  let latest: SinkTotals = { records: 0, rows: 0, transactions: 0 };
  const ticker = setInterval(() => console.error(`sink: ${totalsText(latest)}`), PROGRESS_MS);
  try {
    const positions = await store.positions();
    const at = [...positions].map(([key, next]) => `${key}@${next}`).join(" ") || "the beginning";
    console.error(
      `sink: ${SINK_TOPICS.map((t) => `"${t}"`).join(", ")} into ${store.name}, from ${at}`,
    );
    latest = await runSink(createKafka(config.brokers, "p7-sink"), store, {
      brokers: config.brokers,
      signal: stop,
      onApplied: (totals) => latest = totals,
    });
  } finally {
    clearInterval(ticker);
    await store.close();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`sink: stopped; ${totalsText(latest)} in ${seconds} s`);
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
