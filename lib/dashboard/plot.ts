/**
 * The `month.svg` chart: the average max temperature of January, February and March in the
 * latest year each has, drawn with vega-lite and rendered to SVG by vega without a browser.
 *
 * @module
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { MONTHS } from "../kafka/report.ts";
import type { SeriesBody } from "../stats/series.ts";
import type { MonthTable } from "../stats/stats.ts";

/** One bar of the chart. */
export interface Bar {
  /** `January-2010`. */
  label: string;
  month: string;
  year: number;
  avg: number;
  count: number;
}

/** The months `month.svg` shows. */
export const PLOT_MONTHS: readonly string[] = ["January", "February", "March"];

/**
 * For each month of `months` with data in any of `tables`, the bar of its latest year. A
 * month split over several tables (files) is merged by count and sum.
 *
 * @example
 * ```ts
 * latestBars([{ January: { "2010": { count: 1, sum: 20, avg: 20, start: "2010-01-01", end: "2010-01-01" } } }]);
 * // [{ label: "January-2010", month: "January", year: 2010, avg: 20, count: 1 }]
 * ```
 */
export function latestBars(tables: MonthTable[], months: readonly string[] = PLOT_MONTHS): Bar[] {
  const bars: Bar[] = [];
  for (const month of months) {
    const years = tables.map((table) => table[month] ?? {});
    const latest = Math.max(...years.flatMap((byYear) => Object.keys(byYear).map(Number)));
    if (!Number.isFinite(latest)) continue;
    let count = 0;
    let sum = 0;
    for (const byYear of years) {
      const stats = byYear[String(latest)];
      if (stats) {
        count += stats.count;
        sum += stats.sum;
      }
    }
    bars.push({ label: `${month}-${latest}`, month, year: latest, avg: sum / count, count });
  }
  return bars;
}

/** The vega-lite spec of the bar chart. */
export function monthSpec(bars: Bar[]): vegaLite.TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Average daily max temperature, latest year of each month",
    width: 360,
    height: 240,
    background: "white",
    data: { values: bars.map((bar) => ({ ...bar, avg: Math.round(bar.avg * 100) / 100 })) },
    mark: { type: "bar", color: "#d95f02" },
    encoding: {
      x: { field: "label", type: "nominal", sort: null, title: null, axis: { labelAngle: 0 } },
      y: { field: "avg", type: "quantitative", title: "Avg. Max Temperature" },
    },
  };
}

/**
 * The chart of a station's measurement (`plot --station S --measure M`): each month's
 * average as a line over time, within the band of its lowest and highest value.
 */
export function seriesSpec(series: SeriesBody): vegaLite.TopLevelSpec {
  const name = `${series.measure.replace("_", " ")} (${series.unit})`;
  const values = series.months.map((m) => ({
    month: `${m.year}-${String(MONTHS.indexOf(m.month) + 1).padStart(2, "0")}-01`,
    avg: Math.round(m.avg * 100) / 100,
    min: m.min,
    max: m.max,
    count: m.count,
  }));
  const x = { field: "month", type: "temporal", title: null, timeUnit: "yearmonth" } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${series.station}: ${name} by month, average within lowest to highest`,
    width: 480,
    height: 240,
    background: "white",
    data: { values },
    layer: [
      {
        mark: { type: "area", opacity: 0.25, color: "#1b9e77" },
        encoding: {
          x,
          y: { field: "min", type: "quantitative", title: name, scale: { zero: false } },
          y2: { field: "max" },
        },
      },
      {
        mark: { type: "line", point: true, color: "#1b9e77" },
        encoding: { x, y: { field: "avg", type: "quantitative" } },
      },
    ],
  };
}

/** Renders a vega-lite spec to an SVG document. */
export async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
