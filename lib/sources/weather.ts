/**
 * A seeded weather model: daily maximum temperatures (°F) of a Midwestern US city (the
 * normals are close to Madison, Wisconsin), with a slow warming drift, day-to-day
 * persistence and noise, and rare extreme spells (heat waves and cold snaps); plus the
 * at-least-once duplicates the course generator simulates.
 *
 * @module
 */
import type { Report } from "../kafka/report.ts";

/** Degrees of a simulated duplicate, so a consumer that counts duplicates is visibly wrong. */
export const DUPLICATE_DEGREES = 1_000_000;

/** A Report to send, and whether it is a simulated duplicate of the previous day. */
export interface GeneratedReport {
  report: Report;
  duplicate: boolean;
}

/** Options of `generateReports`. */
export interface GeneratorOptions {
  /** PRNG seed, a 32-bit unsigned integer. */
  seed: number;
  /**
   * Chance, after the first day, that a step first re-sends the previous date.
   * @default 0.05
   */
  duplicateRate?: number;
  /**
   * First date, `YYYY-MM-DD`.
   * @default "1990-01-01"
   */
  start?: string;
  /**
   * Chance that an extreme spell begins on a day without one; 0 for none.
   * @default 1 / (4 * 365): about one every four years
   */
  spellRate?: number;
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY_MS = 86_400_000;
const MEAN_F = 57;
const AMPLITUDE_F = 26;
/** Day of year (0-based) of the coldest normal, mid-January. */
const COLDEST_DAY = 17;
const WARMING_F_PER_YEAR = 0.03;
const PERSISTENCE = 0.6;
const NOISE_F = 6;
/** Spells last 4 to 10 days and peak 18 to 30 °F from the weather they interrupt. */
const SPELL_DAYS = [4, 10] as const;
const SPELL_PEAK_F = [18, 30] as const;

/** An extreme spell under way: `day` of `days`, peaking at `peak` °F (negative: cold). */
interface Spell {
  day: number;
  days: number;
  peak: number;
}

/**
 * The spells' offsets, one per day, from a generator of their own: with or without spells,
 * every other day of a seed keeps its temperature.
 */
function* spellOffsets(seed: number, rate: number): Generator<number> {
  const random = mulberry32(seed ^ 0x5bd1e995);
  let spell: Spell | undefined;
  while (true) {
    if (spell === undefined && random() < rate) {
      const [shortest, longest] = SPELL_DAYS;
      const [mildest, worst] = SPELL_PEAK_F;
      spell = {
        day: 0,
        days: shortest + Math.floor(random() * (longest - shortest + 1)),
        peak: (random() < 0.5 ? -1 : 1) * (mildest + random() * (worst - mildest)),
      };
    }
    if (spell === undefined) {
      yield 0;
      continue;
    }
    // Rises to the peak mid-spell and back.
    yield spell.peak * Math.sin((Math.PI * (spell.day + 0.5)) / spell.days);
    if (++spell.day === spell.days) spell = undefined;
  }
}

/** The normal (noise-free) maximum for a date, °F. */
export function normalMax(date: Date, startYear: number): number {
  const year = date.getUTCFullYear();
  const yearStart = Date.UTC(year, 0, 1);
  const yearDays = (Date.UTC(year + 1, 0, 1) - yearStart) / DAY_MS;
  const dayOfYear = (date.getTime() - yearStart) / DAY_MS;
  const season = -Math.cos((2 * Math.PI * (dayOfYear - COLDEST_DAY)) / yearDays);
  return MEAN_F + AMPLITUDE_F * season + WARMING_F_PER_YEAR * (year - startYear);
}

/**
 * An endless, repeatable sequence of daily reports from `start`, one per day (leap days
 * included), each possibly preceded by a duplicate of the previous day with degrees
 * 1,000,000. Now and then a spell adds up to 30 °F for a few days, or takes them off.
 *
 * @example
 * ```ts
 * const first = generateReports({ seed: 1 }).next().value; // { report: { date: "1990-01-01", … } }
 * ```
 */
export function* generateReports(options: GeneratorOptions): Generator<GeneratedReport> {
  const random = mulberry32(options.seed);
  const rate = options.duplicateRate ?? 0.05;
  const day = new Date(`${options.start ?? "1990-01-01"}T00:00:00Z`);
  const startYear = day.getUTCFullYear();
  const spells = spellOffsets(options.seed, options.spellRate ?? 1 / (4 * 365));
  let anomaly = 0;
  let previous: string | undefined;
  while (true) {
    if (previous !== undefined && random() < rate) {
      yield { report: { date: previous, degrees: DUPLICATE_DEGREES }, duplicate: true };
    }
    // Box-Muller; 1 - random() keeps the logarithm finite.
    const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    anomaly = PERSISTENCE * anomaly + NOISE_F * gaussian;
    const spell = spells.next().value!;
    const degrees = Math.round((normalMax(day, startYear) + anomaly + spell) * 1e4) / 1e4;
    const date = day.toISOString().slice(0, 10);
    yield { report: { date, degrees }, duplicate: false };
    previous = date;
    day.setUTCDate(day.getUTCDate() + 1);
  }
}
