/**
 * The dashboard's charts as vega-lite specs with their data inline: the average max
 * temperature by year for each month, the latest January/February/March bars (`month.svg`'s
 * own spec), the lag per partition, and (from the daily windows) the last 90 days with their
 * rolling mean. The page only embeds them; its captions are their
 * titles.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import type { StatsFile } from "../checkpoint.ts";
import type { LagRow } from "../kafka/lag.ts";
import { type Bar, latestBars, monthSpec } from "./plot.ts";
import { MONTHS } from "../kafka/report.ts";
import type { MonthTable } from "../stats/stats.ts";
import type { DayPoint } from "../stats/rolling.ts";

/** One month of one year, merged over every file. */
export interface YearPoint {
  month: string;
  year: number;
  avg: number;
  count: number;
}

/**
 * Every month and year with data in any of `tables`, in calendar order, years ascending;
 * a month split over several tables is merged by count and sum.
 */
export function yearlyPoints(tables: MonthTable[]): YearPoint[] {
  const points: YearPoint[] = [];
  for (const month of MONTHS) {
    const totals = new Map<number, { count: number; sum: number }>();
    for (const table of tables) {
      for (const [year, stats] of Object.entries(table[month] ?? {})) {
        const total = totals.get(Number(year)) ?? { count: 0, sum: 0 };
        totals.set(Number(year), { count: total.count + stats.count, sum: total.sum + stats.sum });
      }
    }
    for (const [year, { count, sum }] of [...totals].sort(([a], [b]) => a - b)) {
      points.push({ month, year, avg: sum / count, count });
    }
  }
  return points;
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** What a chart of averages names its values: its axis title and its words for them. */
export interface ValueLabel {
  title: string;
  words: string;
}

/** The course's series: daily maximum temperatures. */
export const MAX_TEMPERATURE: ValueLabel = {
  title: "Avg. Max Temperature",
  words: "average daily max temperature",
};

/** The line chart of `points`: one line per month, one point per year. */
export function temperatureSpec(
  points: YearPoint[],
  label: ValueLabel = MAX_TEMPERATURE,
): TopLevelSpec {
  const months = MONTHS.filter((month) => points.some((point) => point.month === month));
  return {
    $schema: SCHEMA,
    description: `Line chart of the ${label.words} by year for ${months.length} ` +
      `months: ${months.join(", ")}.`,
    width: 560,
    height: 260,
    background: "white",
    data: { values: points.map((point) => ({ ...point, avg: round2(point.avg) })) },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "year",
        type: "quantitative",
        title: "Year",
        scale: { zero: false },
        axis: { format: "d", tickMinStep: 1 },
      },
      y: {
        field: "avg",
        type: "quantitative",
        title: label.title,
        scale: { zero: false },
      },
      color: {
        field: "month",
        type: "nominal",
        title: "Month",
        sort: months,
        scale: { domain: months, scheme: "tableau20" },
      },
      tooltip: [
        { field: "month", type: "nominal", title: "Month" },
        { field: "year", type: "quantitative", title: "Year", format: "d" },
        { field: "avg", type: "quantitative", title: label.title },
        {
          field: "count",
          type: "quantitative",
          title: label === MAX_TEMPERATURE ? "Days" : "Count",
        },
      ],
    },
  };
}

/** The bar chart of each partition's lag, for the rows whose lag is known. */
export function lagSpec(rows: LagRow[]): TopLevelSpec {
  const known = rows.filter((row) => row.lag !== null);
  return {
    $schema: SCHEMA,
    description: "Bar chart of the records each partition file is behind the topic's end: " +
      known.map((row) => `partition ${row.partition} ${row.lag}`).join(", ") + ".",
    width: 360,
    height: 200,
    background: "white",
    data: {
      values: known.map((row) => ({
        partition: String(row.partition),
        lag: row.lag,
        end: row.end,
        checkpoint: row.checkpoint,
      })),
    },
    encoding: {
      x: { field: "partition", type: "nominal", title: "Partition", axis: { labelAngle: 0 } },
    },
    layer: [
      {
        mark: { type: "bar", color: "#1b9e77" },
        encoding: {
          y: {
            field: "lag",
            type: "quantitative",
            title: "Lag (records)",
            // All lags 0 is the usual case: keep 0 at the bottom, not in the middle.
            scale: { domain: { unionWith: [0, 10] } },
            axis: { format: "d", tickMinStep: 1 },
          },
          tooltip: [
            { field: "partition", type: "nominal", title: "Partition" },
            { field: "lag", type: "quantitative", title: "Lag" },
            { field: "end", type: "quantitative", title: "End offset" },
            { field: "checkpoint", type: "quantitative", title: "Checkpoint" },
          ],
        },
      },
      {
        // The number above each bar, so a lag of 0 is visible too.
        mark: { type: "text", dy: -6, aria: false },
        encoding: {
          y: { field: "lag", type: "quantitative" },
          text: { field: "lag", type: "quantitative" },
        },
      },
    ],
  };
}

/**
 * `month.svg`'s spec for the page: the page's caption replaces its title, and its
 * description names each bar for screen readers.
 */
export function monthsSpec(bars: Bar[]): TopLevelSpec {
  const { title: _, ...spec } = monthSpec(bars);
  return {
    ...spec,
    description: "Bar chart of the average daily max temperature in the latest year of " +
      bars.map((bar) => `${bar.label} ${bar.avg.toFixed(2)}`).join(", ") + ".",
  };
}

/** The days the rolling chart shows, and the days of its rolling mean. */
export const ROLLING_CHART = { shown: 90, days: 7 };

/**
 * The line chart of the last days of a series from its daily windows: each day's mean, thin,
 * and its rolling mean over `ROLLING_CHART.days` days, bold.
 */
export function rollingSpec(points: DayPoint[], label: ValueLabel = MAX_TEMPERATURE): TopLevelSpec {
  const shown = points.slice(-ROLLING_CHART.shown);
  const rolling = `${ROLLING_CHART.days}-day rolling mean`;
  const values = shown.flatMap((point) => [
    { day: point.day, line: "daily mean", value: round2(point.mean), count: point.count },
    { day: point.day, line: rolling, value: round2(point.rolling.mean), count: point.count },
  ]);
  return {
    $schema: SCHEMA,
    description: `Line chart of the daily mean and the ${rolling} of the ${label.words} ` +
      `for the ${shown.length} days from ${shown[0]?.day} to ${shown.at(-1)?.day}.`,
    width: 560,
    height: 220,
    background: "white",
    data: { values },
    mark: { type: "line" },
    encoding: {
      x: { field: "day", type: "temporal", title: "Day (UTC)", timeUnit: "utcyearmonthdate" },
      y: { field: "value", type: "quantitative", title: label.title, scale: { zero: false } },
      // One legend for both: vega-lite merges the channels of one field with equal legends.
      color: {
        field: "line",
        type: "nominal",
        scale: { domain: ["daily mean", rolling], range: ["#9ecae1", "#08519c"] },
        legend: { orient: "top", title: null },
      },
      strokeWidth: {
        field: "line",
        type: "nominal",
        scale: { domain: ["daily mean", rolling], range: [1, 3] },
        legend: { orient: "top", title: null },
      },
      tooltip: [
        { field: "day", type: "temporal", title: "Day", timeUnit: "utcyearmonthdate" },
        { field: "line", type: "nominal", title: "Line" },
        { field: "value", type: "quantitative", title: label.title },
        { field: "count", type: "quantitative", title: "Values that day" },
      ],
    },
  };
}

/** The body of `GET /api/charts`: each chart's spec, `null` for a chart without data. */
export interface ChartsBody {
  temperature: TopLevelSpec | null;
  months: TopLevelSpec | null;
  lag: TopLevelSpec | null;
  /** The last days from the daily windows; `null` without `consumer --window 1d`. */
  rolling: TopLevelSpec | null;
}

/**
 * The charts for the readable files among `files` and the lag rows, if known. With a `label`
 * (a station's measurement) the months chart, which is `month.svg`'s, is left out.
 */
export function chartsBody(
  files: StatsFile[],
  lag: LagRow[] | undefined,
  label?: ValueLabel,
  days: DayPoint[] = [],
): ChartsBody {
  const tables = files.flatMap((file) => "stats" in file ? [file.stats.months] : []);
  const points = yearlyPoints(tables);
  const bars = label === undefined ? latestBars(tables) : [];
  return {
    temperature: points.length > 0 ? temperatureSpec(points, label) : null,
    months: bars.length > 0 ? monthsSpec(bars) : null,
    lag: lag?.some((row) => row.lag !== null) ? lagSpec(lag) : null,
    rolling: days.length > 0 ? rollingSpec(days, label) : null,
  };
}
