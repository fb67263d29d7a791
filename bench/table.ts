/**
 * The benchmark's results as a Markdown table and the one-line summary.
 *
 * @module
 */

/** One measured run. */
export interface Row {
  name: string;
  messages: number;
  seconds: number;
  /** Peak resident memory in bytes, when measured. */
  peakRss?: number;
  /** CPU seconds of the whole run, when measured. */
  cpuSeconds?: number;
  /** Messages per second of the Java tool the run is compared with. */
  javaRate?: number;
}

/** Messages per second of a row. */
export function rate(row: Row): number {
  return row.messages / row.seconds;
}

/** `part` as a whole percentage of `whole`. */
export function percent(part: number, whole: number): number {
  return Math.round((part / whole) * 100);
}

/** Bytes as whole MiB, the unit of the table's memory column. */
export function megabytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MB`;
}

const thousands = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function cells(row: Row): string[] {
  const cpu = row.cpuSeconds === undefined ? "-" : (row.cpuSeconds / row.messages * 1e6).toFixed(1);
  return [
    row.name,
    thousands.format(row.messages),
    row.seconds.toFixed(2),
    thousands.format(rate(row)),
    row.javaRate === undefined ? "" : `${percent(rate(row), row.javaRate)}%`,
    row.peakRss === undefined ? "-" : megabytes(row.peakRss),
    cpu,
  ];
}

/**
 * A Markdown table of the rows: messages, seconds, msg/s, % of Java, peak RSS, CPU seconds
 * per million messages.
 */
export function formatTable(rows: Row[]): string {
  const header = ["run", "messages", "s", "msg/s", "of java", "peak RSS", "CPU s / 1M msgs"];
  const body = rows.map(cells);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cell) => cell[i]!.length)));
  const line = (cell: string[]) =>
    `| ${
      cell.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) => i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`).join("|")
  }|`;
  return [line(header), rule, ...body.map(line)].join("\n");
}

/** The rates the summary line reports. */
export interface Summary {
  producer: number;
  javaProducer: number;
  consumer: number;
  javaConsumer: number;
  logic: number;
}

/**
 * `bench: producer P msg/s (A% of java), consumer C msg/s (B% of java), logic L msg/s`.
 *
 * @example
 * ```ts
 * summaryLine({ producer: 1, javaProducer: 4, consumer: 1, javaConsumer: 2, logic: 9 });
 * // "bench: producer 1 msg/s (25% of java), consumer 1 msg/s (50% of java), logic 9 msg/s"
 * ```
 */
export function summaryLine(s: Summary): string {
  const r = Math.round;
  return `bench: producer ${r(s.producer)} msg/s (${
    percent(s.producer, s.javaProducer)
  }% of java), ` +
    `consumer ${r(s.consumer)} msg/s (${percent(s.consumer, s.javaConsumer)}% of java), ` +
    `logic ${r(s.logic)} msg/s`;
}
