/**
 * A seeded network of simulated stations (`producer --stations N`): `StationA`, `StationB`, …
 * each with a climate of its own (warmer or colder, more or less humid and windy), reporting
 * once a day at noon UTC its temperature, humidity, pressure and wind speed, with the same
 * at-least-once duplicates as the single series.
 *
 * @module
 */
import type { Report } from "../kafka/report.ts";
import { DUPLICATE_DEGREES, type GeneratedReport, generateReports, mulberry32 } from "./weather.ts";

/** Options of `generateStationReports`. */
export interface StationGeneratorOptions {
  seed: number;
  /** How many stations, 1 or more. */
  stations: number;
  /** @default 0.05 */
  duplicateRate?: number;
  /** @default "1990-01-01" */
  start?: string;
}

/** The names of `count` stations: `StationA` … `StationZ`, then `Station27`, `Station28`, …. */
export function stationNames(count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => i < 26 ? `Station${String.fromCharCode(65 + i)}` : `Station${i + 1}`,
  );
}

const round = (value: number) => Math.round(value * 1e4) / 1e4 + 0;

/**
 * An endless, repeatable sequence of station reports: day after day, one per station in name
 * order, each possibly preceded by a duplicate of that station's previous report (its
 * temperature 1,000,000, so that counting it shows).
 *
 * @example
 * ```ts
 * generateStationReports({ seed: 1, stations: 3 }).next().value!.report.stationId; // "StationA"
 * ```
 */
export function* generateStationReports(
  options: StationGeneratorOptions,
): Generator<GeneratedReport> {
  const names = stationNames(options.stations);
  const rate = options.duplicateRate ?? 0.05;
  const random = mulberry32(options.seed ^ 0x2545f491);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const stations = names.map((name, i) => ({
    name,
    // Each station's temperatures: the single series' model under a seed of its own.
    days: generateReports({
      seed: (options.seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0,
      duplicateRate: 0,
      start: options.start,
    }),
    warmer: (random() - 0.5) * 20,
    humidity: 50 + random() * 30,
    wind: 4 + random() * 10,
    pressure: 0,
    previous: undefined as Report | undefined,
  }));
  while (true) {
    for (const station of stations) {
      const { previous } = station;
      if (previous !== undefined && random() < rate) {
        const again = { ...previous, degrees: DUPLICATE_DEGREES, temperature: DUPLICATE_DEGREES };
        yield { report: again, duplicate: true };
      }
      const { date, degrees } = station.days.next().value!.report;
      station.pressure = 0.7 * station.pressure + 5 * gaussian();
      const temperature = round(degrees + station.warmer);
      const report: Report = {
        date,
        degrees: temperature,
        stationId: station.name,
        time: `${date}T12:00:00Z`,
        temperature,
        humidity: round(Math.min(100, Math.max(0, station.humidity + 12 * gaussian()))),
        pressure: round(1013.25 + station.pressure),
        // Rayleigh (Weibull, shape 2), the usual model of wind speeds.
        windSpeed: round(station.wind * Math.sqrt(-Math.log(1 - random()))),
      };
      station.previous = report;
      yield { report, duplicate: false };
    }
  }
}
