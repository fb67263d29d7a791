/**
 * One station's measurement as a series: its month/year statistics from the partition files
 * (or the statistics topic), for `GET /api/series`, the dashboard's charts and
 * `plot --station S --measure M`.
 *
 * @module
 */
import type { StatsFile } from "../checkpoint.ts";
import { type Measure, measureInfo } from "./measures.ts";
import { MONTHS } from "../kafka/report.ts";
import type { MonthStats } from "./stats.ts";

/** A station's measurement. */
export interface SeriesPick {
  station: string;
  measure: Measure;
}

/** Each readable file with the picked series in place of its months (others left empty). */
export function seriesFiles(files: StatsFile[], pick: SeriesPick): StatsFile[] {
  return files.map((file) => {
    if (!("stats" in file)) return file;
    const months = file.stats.stations?.[pick.station]?.measures[pick.measure] ?? {};
    return { ...file, stats: { partition: file.partition, offset: file.stats.offset, months } };
  });
}

/** One month of one year of a series. */
export interface SeriesMonth extends MonthStats {
  month: string;
  year: string;
}

/** The body of `GET /api/series`. */
export interface SeriesBody {
  station: string;
  measure: Measure;
  unit: string;
  /** By year, then calendar month. */
  months: SeriesMonth[];
}

/** What `GET /api/series` answers; `undefined` when no file holds the series. */
export function seriesBody(files: StatsFile[], pick: SeriesPick): SeriesBody | undefined {
  const months: SeriesMonth[] = [];
  for (const file of seriesFiles(files, pick)) {
    if (!("stats" in file)) continue;
    for (const [month, years] of Object.entries(file.stats.months)) {
      for (const [year, stats] of Object.entries(years)) months.push({ month, year, ...stats });
    }
  }
  if (months.length === 0) return undefined;
  const at = (m: SeriesMonth) => `${m.year}-${String(MONTHS.indexOf(m.month)).padStart(2, "0")}`;
  months.sort((a, b) => at(a) < at(b) ? -1 : 1);
  return { ...pick, unit: measureInfo(pick.measure)!.unit, months };
}
