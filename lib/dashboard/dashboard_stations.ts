/**
 * The dashboard's view of many stations: which stations and measurements the files hold
 * (`GET /api/stations`), the series a request picks (`?station=S&measure=M`), and how the
 * charts and the anomalies follow that pick.
 *
 * @module
 */
import type { Anomaly } from "../stats/anomaly.ts";
import type { StatsFile } from "../checkpoint.ts";
import type { ValueLabel } from "./dashboard_charts.ts";
import { type Measure, measureInfo } from "../stats/measures.ts";
import { type SeriesPick } from "../stats/series.ts";

/** One measurement of a station, as `GET /api/stations` lists it. */
export interface MeasureSummary {
  measure: Measure;
  unit: string;
  /** Observations counted. */
  count: number;
  /** Its first and last observation time. */
  first: string;
  last: string;
}

/** The body of `GET /api/stations`: every station of the readable files, by name. */
export interface StationsBody {
  stations: { station: string; partition: number; measures: MeasureSummary[] }[];
}

/** What `GET /api/stations` answers for `files`. */
export function stationsBody(files: StatsFile[]): StationsBody {
  const stations: StationsBody["stations"] = [];
  for (const file of files) {
    if (!("stats" in file)) continue;
    for (const [station, { measures }] of Object.entries(file.stats.stations ?? {})) {
      const summaries = Object.entries(measures).map(([measure, months]): MeasureSummary => {
        const entries = Object.values(months).flatMap((years) => Object.values(years));
        return {
          measure: measure as Measure,
          unit: measureInfo(measure)!.unit,
          count: entries.reduce((sum, entry) => sum + entry.count, 0),
          first: entries.reduce((first, entry) => entry.start < first ? entry.start : first, "~"),
          last: entries.reduce((last, entry) => entry.end > last ? entry.end : last, ""),
        };
      });
      const order = (m: MeasureSummary) => measureInfo(m.measure)!.id;
      summaries.sort((a, b) => order(a) - order(b));
      stations.push({ station, partition: file.partition, measures: summaries });
    }
  }
  stations.sort((a, b) => a.station < b.station ? -1 : a.station > b.station ? 1 : 0);
  return { stations };
}

/**
 * The series a request's query picks: `undefined` without `station` and `measure` (the
 * course's single series), or why the query is wrong.
 */
export function seriesPick(query: URLSearchParams): SeriesPick | undefined | { error: string } {
  const station = query.get("station");
  const measure = query.get("measure");
  if (station === null && measure === null) return undefined;
  if (station === null || station === "" || measure === null || measure === "") {
    return { error: "give both station and measure" };
  }
  if (measureInfo(measure) === undefined) {
    return { error: `no measurement ${JSON.stringify(measure)}` };
  }
  return { station, measure: measure as Measure };
}

/** How the charts name the picked series' values. */
export function seriesLabel(pick: SeriesPick): ValueLabel {
  const name = pick.measure.replace("_", " ");
  const unit = measureInfo(pick.measure)!.unit;
  return { title: `Avg. ${name} (${unit})`, words: `average ${name} (${unit}) at ${pick.station}` };
}

/** The anomalies of the picked series; the course's own with no pick. */
export function seriesAnomalies(anomalies: Anomaly[], pick: SeriesPick | undefined): Anomaly[] {
  return anomalies.filter((anomaly) =>
    pick === undefined
      ? anomaly.station === undefined
      : anomaly.station === pick.station && anomaly.measure === pick.measure
  );
}

/** The rolling mean's span a request's query asks for (`days`, 7 if absent), or why it is wrong. */
export function rollingSpan(query: URLSearchParams): number | { error: string } {
  const text = query.get("days") ?? "7";
  const days = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  return days >= 1 && days <= 366
    ? days
    : { error: `days ${JSON.stringify(text)} is not a number of days from 1 to 366` };
}
