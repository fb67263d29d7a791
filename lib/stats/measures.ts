/**
 * The measurements a station's Report can carry: their names (as keys, files and the API
 * spell them), their protobuf fields, the canonical unit each is sent in, the units a replayed
 * file may give them in, and the values that are physically impossible.
 *
 * @module
 */

/** A measurement's name, as the statistics topic's keys and the API spell it. */
export type Measure =
  | "temperature"
  | "dew_point"
  | "humidity"
  | "pressure"
  | "wind_speed"
  | "wind_direction"
  | "wind_gust"
  | "precipitation"
  | "visibility";

/** What p7 knows of one measurement. */
export interface MeasureInfo {
  name: Measure;
  /** Its field in the protobufjs message (camelCase of the proto field). */
  field: string;
  /** Its protobuf field number. */
  id: number;
  /** The unit it is sent and counted in. */
  unit: string;
  /** The lowest possible value, in `unit`. */
  min?: number;
  /** The highest possible value, in `unit`. */
  max?: number;
  /** Units a file may give it in: the unit's name → the conversion to `unit`. */
  units: Readonly<Record<string, (value: number) => number>>;
}

const same = (value: number) => value;
const TEMPERATURE_UNITS = {
  F: same,
  C: (c: number) => c * 9 / 5 + 32,
  K: (k: number) => k * 9 / 5 - 459.67,
};
const SPEED_UNITS = {
  mph: same,
  "km/h": (v: number) => v / 1.609344,
  "m/s": (v: number) => v * 3600 / 1609.344,
  kn: (v: number) => v * 1.150779,
};
/** The lowest possible temperature, °F. */
const ABSOLUTE_ZERO_F = -459.67;
/**
 * Above the strongest wind ever measured at the surface (a 253 mph gust, Barrow Island,
 * 1996): a faster one is a broken sensor or a typo, not weather.
 */
const WIND_MAX_MPH = 254;

/** Every measurement, in the order of their protobuf fields. */
export const MEASURES: readonly MeasureInfo[] = [
  {
    name: "temperature",
    field: "temperature",
    id: 5,
    unit: "F",
    min: ABSOLUTE_ZERO_F,
    units: TEMPERATURE_UNITS,
  },
  {
    name: "dew_point",
    field: "dewPoint",
    id: 6,
    unit: "F",
    min: ABSOLUTE_ZERO_F,
    units: TEMPERATURE_UNITS,
  },
  { name: "humidity", field: "humidity", id: 7, unit: "%", min: 0, max: 100, units: { "%": same } },
  {
    name: "pressure",
    field: "pressure",
    id: 8,
    unit: "hPa",
    min: 0,
    units: { hPa: same, mbar: same, kPa: (v) => v * 10, inHg: (v) => v * 33.8639 },
  },
  {
    name: "wind_speed",
    field: "windSpeed",
    id: 9,
    unit: "mph",
    min: 0,
    max: WIND_MAX_MPH,
    units: SPEED_UNITS,
  },
  {
    name: "wind_direction",
    field: "windDirection",
    id: 10,
    unit: "deg",
    min: 0,
    max: 360,
    units: { deg: same },
  },
  {
    name: "wind_gust",
    field: "windGust",
    id: 11,
    unit: "mph",
    min: 0,
    max: WIND_MAX_MPH,
    units: SPEED_UNITS,
  },
  {
    name: "precipitation",
    field: "precipitation",
    id: 12,
    unit: "in",
    min: 0,
    units: { in: same, mm: (v) => v / 25.4 },
  },
  {
    name: "visibility",
    field: "visibility",
    id: 13,
    unit: "mi",
    min: 0,
    units: { mi: same, km: (v) => v / 1.609344 },
  },
];

const BY_NAME = new Map(MEASURES.map((info) => [info.name, info]));

/** The measurement called `name`, or `undefined` when there is none. */
export function measureInfo(name: string): MeasureInfo | undefined {
  return BY_NAME.get(name as Measure);
}

/**
 * Why `value` (in the measurement's own unit) cannot have been observed, or `undefined` when
 * it can: not a finite number, or outside what is physically possible.
 *
 * @example
 * ```ts
 * impossible(measureInfo("humidity")!, 104); // "humidity 104 % is above 100"
 * ```
 */
export function impossible(info: MeasureInfo, value: number): string | undefined {
  if (!Number.isFinite(value)) return `${info.name} is ${value}`;
  if (info.min !== undefined && value < info.min) {
    return `${info.name} ${value} ${info.unit} is below ${info.min}`;
  }
  if (info.max !== undefined && value > info.max) {
    return `${info.name} ${value} ${info.unit} is above ${info.max}`;
  }
  return undefined;
}
