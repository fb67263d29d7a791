/**
 * The database's tables, and the rows the statistics, anomalies and windows topics give them.
 * One description of each table makes its `CREATE TABLE` and its upsert in every dialect, so
 * SQLite and PostgreSQL hold the same columns under the same keys.
 *
 * A record's key in its topic names one row of one table (`JFK/humidity/July-2013` →
 * `month_stats` row JFK, humidity, July, 2013): rows are upserted by that key, so a record
 * read again after a crash writes the row it wrote before, and the latest value wins, as
 * compaction keeps it.
 *
 * @module
 */
import { P7Error } from "../errors.ts";
import {
  ANOMALY_TOPIC,
  anomalyRecord,
  parseStatsRecord,
  parseWindowRecord,
  STATS_TOPIC,
  WINDOW_TOPIC,
} from "../kafka/stats_topic.ts";

/** The schema's version, kept in `p7_meta`; a database of another version is refused. */
export const SCHEMA_VERSION = 1;

/**
 * The course's single series (keys `<Month>-<Year>`) in the tables: station "default",
 * measure "degrees" (the Report's field, the daily maximum in °F).
 */
export const COURSE_STATION = "default";
export const COURSE_MEASURE = "degrees";

/** A column's type, as each dialect spells it. */
export type ColumnType = "text" | "integer" | "real" | "boolean";

/** A table: its columns in order, and the ones that make its primary key. */
export interface TableSpec {
  name: string;
  columns: readonly (readonly [string, ColumnType])[];
  key: readonly string[];
}

const MONTH_STATS: TableSpec = {
  name: "month_stats",
  columns: [
    ["station", "text"],
    ["measure", "text"],
    ["month", "text"],
    ["year", "integer"],
    ["count", "integer"],
    ["sum", "real"],
    ["avg", "real"],
    ["min", "real"],
    ["max", "real"],
    ["sumsq", "real"],
    ["start", "text"],
    ["end", "text"],
    ["partition", "integer"],
  ],
  key: ["station", "measure", "month", "year"],
};

const ANOMALIES: TableSpec = {
  name: "anomalies",
  columns: [
    ["station", "text"],
    ["measure", "text"],
    ["time", "text"],
    ["value", "real"],
    ["mean", "real"],
    ["std", "real"],
    ["z", "real"],
    ["partition", "integer"],
    ["offset", "integer"],
  ],
  key: ["station", "measure", "time"],
};

const WINDOWS: TableSpec = {
  name: "windows",
  columns: [
    ["station", "text"],
    ["measure", "text"],
    ["size", "text"],
    ["start", "text"],
    ["end", "text"],
    ["count", "integer"],
    ["sum", "real"],
    ["avg", "real"],
    ["min", "real"],
    ["max", "real"],
    ["final", "boolean"],
    ["partition", "integer"],
    ["offset", "integer"],
  ],
  key: ["station", "measure", "size", "start"],
};

/** The consumers' checkpoint offsets in `temperatures`, as the `offset-N` records give them. */
const CHECKPOINTS: TableSpec = {
  name: "checkpoints",
  columns: [["partition", "integer"], ["offset", "integer"]],
  key: ["partition"],
};

/** The sink's own position: the next offset to read of each topic partition. */
export const SINK_OFFSETS: TableSpec = {
  name: "sink_offsets",
  columns: [["topic", "text"], ["partition", "integer"], ["next_offset", "integer"]],
  key: ["topic", "partition"],
};

/** The schema version and the producer run the rows belong to. */
export const META: TableSpec = {
  name: "p7_meta",
  columns: [["name", "text"], ["value", "text"]],
  key: ["name"],
};

/** Every table, in the order they are created. */
export const TABLES: readonly TableSpec[] = [
  MONTH_STATS,
  ANOMALIES,
  WINDOWS,
  CHECKPOINTS,
  SINK_OFFSETS,
  META,
];

/** A SQL dialect: its column types and its placeholders. */
export interface Dialect {
  types: Record<ColumnType, string>;
  /** The placeholder of the `n`th value, from 1. */
  placeholder(n: number): string;
}

export const SQLITE: Dialect = {
  types: { text: "TEXT", integer: "INTEGER", real: "REAL", boolean: "INTEGER" },
  placeholder: () => "?",
};

export const POSTGRES: Dialect = {
  types: { text: "TEXT", integer: "BIGINT", real: "DOUBLE PRECISION", boolean: "BOOLEAN" },
  placeholder: (n) => `$${n}`,
};

/** A name quoted: `end`, `partition` and `offset` are SQL keywords. */
function quoted(name: string): string {
  return `"${name}"`;
}

/** The table's `CREATE TABLE IF NOT EXISTS`, every column `NOT NULL`. */
export function createSql(table: TableSpec, dialect: Dialect): string {
  const columns = table.columns.map(([name, type]) =>
    `${quoted(name)} ${dialect.types[type]} NOT NULL`
  );
  const key = `PRIMARY KEY (${table.key.map(quoted).join(", ")})`;
  return `CREATE TABLE IF NOT EXISTS ${table.name} (${[...columns, key].join(", ")})`;
}

/**
 * The table's upsert of `rows` rows (one unless given): their values in column order, row
 * after row, replace the rows of their keys. No two of them may share a key (`lastByKey`).
 */
export function upsertSql(table: TableSpec, dialect: Dialect, rows = 1): string {
  const names = table.columns.map(([name]) => quoted(name));
  const width = names.length;
  const values = Array.from(
    { length: rows },
    (_, r) => `(${names.map((_, i) => dialect.placeholder(r * width + i + 1)).join(", ")})`,
  );
  const others = table.columns.filter(([name]) => !table.key.includes(name));
  const set = others.map(([name]) => `${quoted(name)} = excluded.${quoted(name)}`).join(", ");
  return `INSERT INTO ${table.name} (${names.join(", ")}) VALUES ${values.join(", ")} ` +
    `ON CONFLICT (${table.key.map(quoted).join(", ")}) DO UPDATE SET ${set}`;
}

/** A row of a table: its values in the table's column order. */
export interface Row {
  table: TableSpec;
  values: (string | number | boolean)[];
}

/** `JFK/temperature` → `["JFK", "temperature"]`; the station may hold slashes, the measure not. */
function splitSeries(series: string): [string, string] {
  const slash = series.lastIndexOf("/");
  return [series.slice(0, slash), series.slice(slash + 1)];
}

/**
 * Each table's rows of `rows`, the last of each key only, in their order: what upserting
 * them one by one would leave, as one statement may write it (PostgreSQL refuses a statement
 * that changes one row twice).
 */
export function lastByKey(rows: readonly Row[]): Map<TableSpec, Row[]> {
  const byTable = new Map<TableSpec, Map<string, Row>>();
  for (const row of rows) {
    let latest = byTable.get(row.table);
    if (latest === undefined) byTable.set(row.table, latest = new Map());
    const key = JSON.stringify(
      row.table.key.map((name) => row.values[columnIndex(row.table, name)]),
    );
    latest.delete(key);
    latest.set(key, row);
  }
  return new Map([...byTable].map(([table, latest]) => [table, [...latest.values()]]));
}

function columnIndex(table: TableSpec, name: string): number {
  return table.columns.findIndex(([column]) => column === name);
}

/**
 * The row a record of one of p7's topics gives.
 *
 * @throws {P7Error} `INPUT` for a record that is not one p7 writes, or of another topic.
 */
export function rowOf(topic: string, key: string, value: string): Row {
  if (topic === STATS_TOPIC) {
    const record = parseStatsRecord(key, value);
    if (record.kind === "offset") {
      return { table: CHECKPOINTS, values: [record.partition, record.offset] };
    }
    const { month, year, entry, partition } = record;
    const [station, measure] = record.kind === "month"
      ? [COURSE_STATION, COURSE_MEASURE]
      : [record.station, record.measure];
    const { count, sum, avg, min, max, sumsq, start, end } = entry;
    return {
      table: MONTH_STATS,
      values: [
        station,
        measure,
        month,
        Number(year),
        count,
        sum,
        avg,
        min,
        max,
        sumsq,
        start,
        end,
        partition,
      ],
    };
  }
  if (topic === ANOMALY_TOPIC) {
    const a = anomalyRecord(key, value);
    return {
      table: ANOMALIES,
      values: [
        a.station ?? COURSE_STATION,
        a.measure ?? COURSE_MEASURE,
        a.time ?? a.date,
        a.degrees,
        a.mean,
        a.std,
        a.z,
        a.partition,
        a.offset,
      ],
    };
  }
  if (topic === WINDOW_TOPIC) {
    const w = parseWindowRecord(key, value);
    const [station, measure] = splitSeries(w.series);
    return {
      table: WINDOWS,
      values: [
        station,
        measure,
        w.size,
        w.start,
        w.end,
        w.count,
        w.sum,
        w.avg,
        w.min,
        w.max,
        w.final,
        w.partition,
        w.offset,
      ],
    };
  }
  throw new P7Error("INPUT", `topic "${topic}" is not one the sink reads`);
}
