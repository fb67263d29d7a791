#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read
/**
 * The health check: one line per partition with the topic's end offset, the partition
 * file's checkpoint offset and the lag; exits 1 when a partition file is missing or
 * unreadable, or a lag is above `--max-lag`, so "produced equals consumed" is one command.
 * With `--from kafka` the checkpoints are read from the statistics topic instead.
 *
 * @module
 */
import { type Help, type StatusConfig, statusConfig } from "./lib/args.ts";
import { readAllStats } from "./lib/checkpoint.ts";
import { runMain } from "./lib/cli.ts";
import {
  createKafka,
  kafkaError,
  type PartitionOffsets,
  TOPIC,
  topicOffsets,
} from "./lib/kafka/kafka.ts";
import { lagRows, problem, statusLine } from "./lib/kafka/lag.ts";
import { fetchStats, STATS_TOPIC } from "./lib/kafka/stats_topic.ts";

/** Runs the health check; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config: StatusConfig | Help = statusConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  // The files first: end offsets only grow, so asked afterwards they cover every checkpoint
  // of a consumer that keeps up, and only a recreated topic leaves one ahead.
  const files = config.from === "kafka"
    ? await fetchStats(config.brokers, "p7-status")
    : await readAllStats(config.dir);
  // Two quick retries: a health check answers within seconds.
  const admin = createKafka(config.brokers, "p7-status", { retries: 2 }).admin();
  let offsets: PartitionOffsets[];
  try {
    await admin.connect();
    offsets = await topicOffsets(admin, TOPIC);
  } catch (error) {
    throw kafkaError(error, config.brokers, `reading topic "${TOPIC}"`);
  } finally {
    await admin.disconnect();
  }
  const rows = lagRows(offsets, files);
  const source = config.from === "kafka" ? `topic "${STATS_TOPIC}"` : `"${config.dir}"`;
  for (const row of rows) console.log(statusLine(row));
  const problems = rows.flatMap((row) => problem(row, config.maxLag) ?? []);
  for (const text of problems) console.error(`status: ${text}`);
  if (problems.length > 0) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    const what = config.from === "kafka" ? source : `the files in ${source}`;
    console.error(`status: unhealthy, ${count} with ${what}`);
    return 1;
  }
  const lag = rows.reduce((sum, row) => sum + (row.lag ?? 0), 0);
  console.error(
    `status: ok, ${rows.length} partitions in ${source}, total lag ${lag} ` +
      `(at most ${config.maxLag} each)`,
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
