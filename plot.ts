#!/usr/bin/env -S deno run --allow-net --allow-read --allow-write --allow-env
/**
 * Draws `DIR/month.svg`: the latest January, February and March average max temperatures
 * from whichever `DIR/partition-N.json` files exist, or with `--from kafka` from the
 * statistics topic.
 *
 * @module
 */
import { join } from "node:path";
import { type Help, type PlotConfig, plotConfig } from "./lib/args.ts";
import { writeFileAtomic } from "./lib/atomic_write.ts";
import { readAllStats, type StatsFile } from "./lib/checkpoint.ts";
import { runMain } from "./lib/cli.ts";
import { P7Error } from "./lib/errors.ts";
import { latestBars, monthSpec, PLOT_MONTHS, renderSvg, seriesSpec } from "./lib/dashboard/plot.ts";
import { seriesBody, type SeriesPick } from "./lib/stats/series.ts";
import { fetchStats, STATS_TOPIC } from "./lib/kafka/stats_topic.ts";

/** Runs the plotter; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config: PlotConfig | Help = plotConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const files = config.from === "kafka"
    ? await fetchStats(config.brokers, "p7-plot")
    : await readAllStats(config.dir);
  const broken = files.find((file) => "error" in file);
  if (broken && "error" in broken) {
    throw new P7Error("CHECKPOINT", `Cannot read "${broken.path}": ${broken.error}`);
  }
  if (config.series !== undefined) return await plotSeries(config, config.series, files);
  const tables = files.flatMap((file) => "stats" in file ? [file.stats.months] : []);
  const bars = latestBars(tables);
  if (bars.length === 0) {
    throw new P7Error(
      "NO_DATA",
      `no ${PLOT_MONTHS.join("/")} data in ${
        config.from === "kafka" ? `topic "${STATS_TOPIC}"` : `${config.dir}/partition-*.json`
      } yet (run the consumer)`,
    );
  }
  const path = join(config.dir, "month.svg");
  // From Kafka, the output folder may be new on this machine.
  await Deno.mkdir(config.dir, { recursive: true });
  await writeFileAtomic(path, await renderSvg(monthSpec(bars)));
  console.error(
    `plot: wrote ${path}: ` + bars.map((bar) => `${bar.label} ${bar.avg.toFixed(2)}°F`).join(", "),
  );
  return 0;
}

/** Draws one station's measurement into `DIR/<station>-<measure>.svg`. */
async function plotSeries(config: PlotConfig, pick: SeriesPick, files: StatsFile[]) {
  const series = seriesBody(files, pick);
  if (series === undefined) {
    const where = config.from === "kafka"
      ? `topic "${STATS_TOPIC}"`
      : `${config.dir}/partition-*.json`;
    throw new P7Error(
      "NO_DATA",
      `no ${pick.measure} of station ${JSON.stringify(pick.station)} in ${where}`,
    );
  }
  // A station's id is any text: only what is safe in a file name is kept.
  const name = `${pick.station}-${pick.measure}.svg`.replace(/[^A-Za-z0-9_.-]/g, "_");
  const path = join(config.dir, name);
  await Deno.mkdir(config.dir, { recursive: true });
  await writeFileAtomic(path, await renderSvg(seriesSpec(series)));
  const [first, last] = [series.months[0]!, series.months.at(-1)!];
  console.error(
    `plot: wrote ${path}: ${series.months.length} months of ${pick.station} ${pick.measure} ` +
      `(${series.unit}), ${first.month}-${first.year} to ${last.month}-${last.year}`,
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
