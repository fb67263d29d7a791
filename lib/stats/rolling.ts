/**
 * Rolling means from the daily windows (`consumer --window 1d`): for `GET /api/rolling` and the
 * dashboard's chart of the last 90 days. A day's N-day rolling mean is the mean of every value
 * of the N days ending with it (the sum of their sums over the sum of their counts, so a day of
 * many observations weighs more than a day of few), with their lowest and highest value; days
 * without a window in the span are left out, and `days` says how many were there.
 *
 * @module
 */
import type { SeriesPick } from "./series.ts";
import { type ClosedWindow, type LateValue, parseDuration } from "./windows.ts";

const DAY = 86_400_000;

/** One day of a series and its rolling statistics. */
export interface DayPoint {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  count: number;
  sum: number;
  mean: number;
  min: number;
  max: number;
  rolling: { mean: number; min: number; max: number; days: number };
}

/** The course's series of partition N is windowed as `partition-N/degrees`. */
const COURSE_SERIES = /^partition-\d+\/degrees$/;

/** Whether `series` is the picked one: a station's measurement, or the course's series. */
export function isPicked(series: string, pick: SeriesPick | undefined): boolean {
  return pick === undefined
    ? COURSE_SERIES.test(series)
    : series === `${pick.station}/${pick.measure}`;
}

/**
 * The picked series' daily windows, a point a day in order, with `days`-day rolling
 * statistics. The course's series is one over every partition: a week split over partitions
 * would be two windows, but a day is in one partition (its month's), so days merge.
 */
export function rollingDays(
  windows: ClosedWindow[],
  pick: SeriesPick | undefined,
  days: number,
): DayPoint[] {
  const byDay = new Map<string, { count: number; sum: number; min: number; max: number }>();
  for (const window of windows) {
    if (parseDuration(window.size) !== DAY || !isPicked(window.series, pick)) continue;
    const day = window.start.slice(0, 10);
    const known = byDay.get(day);
    if (known === undefined) {
      const { count, sum, min, max } = window;
      byDay.set(day, { count, sum, min, max });
    } else {
      known.count += window.count;
      known.sum += window.sum;
      known.min = Math.min(known.min, window.min);
      known.max = Math.max(known.max, window.max);
    }
  }
  const sorted = [...byDay].sort(([a], [b]) => a < b ? -1 : 1);
  const points: DayPoint[] = [];
  let first = 0;
  for (const [day, { count, sum, min, max }] of sorted) {
    const since = Date.parse(day) - (days - 1) * DAY;
    while (Date.parse(sorted[first]![0]) < since) first++;
    const span = sorted.slice(first, points.length + 1).map(([, stats]) => stats);
    const total = span.reduce((a, b) => a + b.count, 0);
    points.push({
      day,
      count,
      sum,
      mean: sum / count,
      min,
      max,
      rolling: {
        mean: span.reduce((a, b) => a + b.sum, 0) / total,
        min: Math.min(...span.map((stats) => stats.min)),
        max: Math.max(...span.map((stats) => stats.max)),
        days: span.length,
      },
    });
  }
  return points;
}

/** The body of `GET /api/rolling`. */
export interface RollingBody {
  /** `JFK/temperature`, or `degrees` for the course's series. */
  series: string;
  days: number;
  points: DayPoint[];
}

/** What `GET /api/rolling` answers; `undefined` when the series has no daily window. */
export function rollingBody(
  windows: ClosedWindow[],
  pick: SeriesPick | undefined,
  days: number,
): RollingBody | undefined {
  const points = rollingDays(windows, pick, days);
  if (points.length === 0) return undefined;
  return {
    series: pick === undefined ? "degrees" : `${pick.station}/${pick.measure}`,
    days,
    points,
  };
}

/** The body of `GET /api/late`: the late values of the series, how many, the latest first. */
export interface LateBody {
  total: number;
  latest: LateValue[];
}

/** What `GET /api/late` answers: at most `limit` of the picked series' late values. */
export function lateBody(late: LateValue[], pick: SeriesPick | undefined, limit = 20): LateBody {
  const picked = late.filter((value) => isPicked(value.series, pick));
  picked.sort((a, b) => a.streamTime < b.streamTime ? 1 : a.streamTime > b.streamTime ? -1 : 0);
  return { total: picked.length, latest: picked.slice(0, limit) };
}
