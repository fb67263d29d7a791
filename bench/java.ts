/**
 * Kafka's own perf tools, the ceiling the benchmark compares p7 with: their command lines
 * and what their output says.
 *
 * @module
 */

/** A Java tool run: its command line, arguments after `java`. */
export interface JavaCommand {
  args: string[];
}

/** What a perf tool measured. */
export interface ToolResult {
  messages: number;
  /** Messages per second, as the tool computed it. */
  rate: number;
}

/** Options of the tool command lines. */
export interface ToolOptions {
  /** Classpath of the tools' jars, as `kafka.sh tools` prints it. */
  classpath: string;
  /** `host:port` of the broker. */
  broker: string;
  topic: string;
  messages: number;
  /** The tools' release, e.g. `4.3.1`: 3.x names some flags differently. */
  version: string;
}

/** The JVM settings Kafka's own `kafka-*-perf-test.sh` scripts use, quieter logging. */
function jvm(classpath: string): string[] {
  return [
    "-Xmx512M",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-Djava.awt.headless=true",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-cp",
    classpath,
  ];
}

/**
 * `ProducerPerformance`: `messages` records of `recordSize` bytes as fast as the broker takes
 * them, with acks=all like p7's producer (and the Java client's idempotence, on by default).
 */
export function producerCommand(options: ToolOptions, recordSize: number): JavaCommand {
  return {
    args: [
      ...jvm(options.classpath),
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      options.topic,
      "--num-records",
      String(options.messages),
      "--record-size",
      String(recordSize),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${options.broker}`,
      "acks=all",
    ],
  };
}

/** `ConsumerPerformance`: reads `messages` records of the topic from its start, in a new group. */
export function consumerCommand(options: ToolOptions): JavaCommand {
  const major = Number(options.version.split(".")[0]);
  return {
    args: [
      ...jvm(options.classpath),
      "org.apache.kafka.tools.ConsumerPerformance",
      "--bootstrap-server",
      options.broker,
      "--topic",
      options.topic,
      major >= 4 ? "--num-records" : "--messages",
      String(options.messages),
      "--timeout",
      "60000",
    ],
  };
}

/**
 * Reads ProducerPerformance's final line,
 * `1000000 records sent, 384319.75 records/sec (7.70 MB/sec), …`.
 *
 * @throws {Error} when the output has no such line.
 */
export function parseProducerOutput(text: string): ToolResult {
  const matches = [...text.matchAll(/^(\d+) records sent, ([\d.]+) records\/sec/gm)];
  const last = matches.at(-1);
  if (last === undefined) {
    throw new Error(`ProducerPerformance printed no "records sent" line: ${tail(text)}`);
  }
  return { messages: Number(last[1]), rate: Number(last[2]) };
}

/**
 * Reads ConsumerPerformance's CSV line. Its `nMsg.sec` counts from before the group join,
 * as p7's consumer rate does.
 *
 * @throws {Error} when the output has no header and data line.
 */
export function parseConsumerOutput(text: string): ToolResult {
  const lines = text.split("\n").map((line) => line.trim());
  const at = lines.findIndex((line) => line.startsWith("start.time,"));
  const header = lines[at]?.split(",").map((field) => field.trim());
  const values = lines[at + 1]?.split(",").map((field) => field.trim());
  const field = (name: string) => Number(values?.[header?.indexOf(name) ?? -1]);
  const messages = field("data.consumed.in.nMsg");
  const rate = field("nMsg.sec");
  if (at < 0 || !Number.isFinite(messages) || !Number.isFinite(rate)) {
    throw new Error(`ConsumerPerformance printed no result line: ${tail(text)}`);
  }
  return { messages, rate };
}

/** The tools' release from the name of the kafka-tools jar in a classpath folder. */
export function toolsVersion(jarNames: string[]): string | undefined {
  for (const name of jarNames) {
    const match = /^kafka-tools-(\d+\.\d+\.\d+)\.jar$/.exec(name);
    if (match) return match[1];
  }
  return undefined;
}

function tail(text: string): string {
  return JSON.stringify(text.trim().split("\n").slice(-3).join(" / "));
}
