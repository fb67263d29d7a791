/**
 * Kafka connection settings and the admin steps the scripts share: the topic's
 * (re)creation and its partitions' offsets.
 *
 * @module
 */
import process from "node:process";
import {
  type Admin,
  type Consumer,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  type RetryOptions,
} from "kafkajs";
import { P7Error } from "../errors.ts";
import { useFastFetchDecoder } from "./kafkajs_fetch.ts";
import { useFastProduceEncoder } from "./kafkajs_produce.ts";
import { useFastVarints } from "./kafkajs_varint.ts";

/** The topic every p7 script uses. */
export const TOPIC = "temperatures";
/** Partitions of the topic. */
export const PARTITIONS = 4;
/** Header naming the producer run (topic incarnation) that wrote a record. */
export const RUN_HEADER = "p7-run";
/** Broker list used when neither `--brokers` nor `KAFKA_BROKERS` is given. */
export const DEFAULT_BROKERS = "localhost:9092";

/**
 * Parses `host:port[,host:port…]`.
 *
 * @throws {P7Error} `USAGE` when an entry has no valid port.
 */
export function parseBrokers(text: string): string[] {
  const brokers = text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  if (brokers.length === 0) throw new P7Error("USAGE", `no broker in ${JSON.stringify(text)}`);
  for (const broker of brokers) {
    const match = /^(.+):(\d{1,5})$/.exec(broker);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new P7Error("USAGE", `broker ${JSON.stringify(broker)} is not host:port`);
    }
  }
  return brokers;
}

// kafkajs 2.2.4 schedules a timer with a negative delay on every connection (kafkajs issue
// #1751), which Deno reports as a TimeoutNegativeWarning on stderr. The delay is clamped to
// 1 ms either way, so the warning is only noise.
const emitWarning = process.emitWarning;
process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
  const type = typeof warning === "string"
    ? (typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string } | undefined)?.type)
    : warning.name;
  if (type === "TimeoutNegativeWarning") return;
  return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
} as typeof process.emitWarning;

const LOG_LEVELS: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** kafkajs's own log lines, one per line on stderr, at the level `P7_KAFKA_LOG` names. */
function logCreator() {
  return ({ namespace, label, log }: LogEntry) => {
    const { message, timestamp: _, logger: __, ...extra } = log;
    console.error(`kafkajs ${label} [${namespace}] ${message} ${JSON.stringify(extra)}`);
  };
}

/**
 * The clients' retry budget, about 20 s: waits grow from 0.3 s to at most 1 s, so that a
 * request is tried again soon after a lost broker's partitions get a new leader (about 9 s
 * after a kill -9, when the controller fences it), and an unreachable cluster is reported
 * instead of retried forever.
 */
export const RETRY = { initialRetryTime: 300, maxRetryTime: 1000, retries: 20 } as const;

/** Options of `createKafka`. */
export interface CreateKafkaOptions {
  /**
   * Retries of a failed request; a health check or a web page wants an answer sooner.
   * @default 20
   */
  retries?: number;
}

/**
 * A kafkajs client with p7's settings: quick connection failures, a bounded retry budget
 * (about 20 s by default, so an unreachable broker is reported instead of retried forever),
 * kafkajs logging off unless `P7_KAFKA_LOG` is `error`, `warn`, `info` or `debug`, and the
 * faster varint, Fetch and Produce codecs (`lib/kafka/kafkajs_varint.ts`, `lib/kafka/kafkajs_fetch.ts`,
 * `lib/kafka/kafkajs_produce.ts`) in place.
 * Requires `--allow-net` and `--allow-env`.
 */
export function createKafka(
  brokers: string[],
  clientId: string,
  options: CreateKafkaOptions = {},
): Kafka {
  // Every client p7 makes writes and reads records with the faster codecs.
  useFastVarints();
  useFastFetchDecoder();
  useFastProduceEncoder();
  const level = LOG_LEVELS[Deno.env.get("P7_KAFKA_LOG") ?? "nothing"] ?? logLevel.NOTHING;
  const config: KafkaConfig = {
    clientId,
    brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { ...RETRY, retries: options.retries ?? RETRY.retries },
    logLevel: level,
    logCreator,
  };
  return new Kafka(config);
}

/**
 * Turns a kafkajs failure into a one-line P7Error that names the brokers, and passes
 * P7Errors through.
 */
export function kafkaError(error: unknown, brokers: string[], doing: string): P7Error {
  if (error instanceof P7Error) return error;
  const err = error as Error & { name?: string; type?: string; cause?: unknown };
  let message = err.message ?? String(error);
  if (err.name === "KafkaJSNumberOfRetriesExceeded" && err.cause instanceof Error) {
    message = err.cause.message;
  }
  const unreachable = /ECONNREFUSED|Connection timeout|ENOTFOUND|EHOSTUNREACH|Connection error/i
    .test(message) || err.name === "KafkaJSConnectionError";
  return unreachable
    ? new P7Error(
      "BROKER",
      `cannot reach Kafka at ${brokers.join(",")} while ${doing}: ${message}`,
      {
        cause: error,
      },
    )
    : new P7Error("BROKER", `Kafka failed while ${doing}: ${message}`, { cause: error });
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Options of `recreateTopic`. */
export interface RecreateTopicOptions {
  /** Partitions of the new topic. */
  partitions: number;
  /**
   * Replicas of each partition; with 3 or more, `min.insync.replicas` is 2, so an acks=all
   * write survives the loss of any one broker and still lands on two.
   * @default 1
   */
  replicationFactor?: number;
  /**
   * Topic settings beside those (e.g. `cleanup.policy`).
   * @default {}
   */
  config?: Record<string, string>;
  /**
   * How long deletion and creation may take.
   * @default 60000
   */
  timeoutMs?: number;
}

/** The topic settings `recreateTopic` gives a topic of `replicationFactor` replicas. */
export function topicConfig(
  replicationFactor: number,
  config: Record<string, string> = {},
): Record<string, string> {
  return replicationFactor >= 3 ? { "min.insync.replicas": "2", ...config } : { ...config };
}

/**
 * Deletes `topic` if it exists, waits until the deletion has taken effect (the broker
 * accepts the topic's creation again), creates it and waits for its partition leaders.
 * The replication factor is checked against the live brokers before anything is deleted.
 *
 * @throws {P7Error} `USAGE` when the replication factor exceeds the live brokers; `BROKER`
 * when it cannot be done within the timeout.
 * @example
 * ```ts
 * await recreateTopic(admin, "temperatures", { partitions: 4, replicationFactor: 3 });
 * ```
 */
export async function recreateTopic(
  admin: Admin,
  topic: string,
  options: RecreateTopicOptions,
): Promise<void> {
  const { partitions, replicationFactor = 1, timeoutMs = 60_000 } = options;
  const { brokers } = await admin.describeCluster();
  if (replicationFactor > brokers.length) {
    throw new P7Error(
      "USAGE",
      `--replication-factor ${replicationFactor} needs ${replicationFactor} live brokers; ` +
        `the cluster has ${brokers.length}`,
    );
  }
  const configEntries = Object.entries(topicConfig(replicationFactor, options.config))
    .map(([name, value]) => ({ name, value }));
  const deadline = Date.now() + timeoutMs;
  if (await hasTopic(admin, topic)) {
    await admin.deleteTopics({ topics: [topic], timeout: timeoutMs });
  }
  while (true) {
    // createTopics answers false while the old topic still exists, i.e. deletion is pending.
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries }],
      waitForLeaders: false,
      timeout: timeoutMs,
    });
    if (created) break;
    if (Date.now() > deadline) {
      throw new P7Error("BROKER", `topic "${topic}" was still being deleted after ${timeoutMs} ms`);
    }
    await sleep(100);
  }
  // Every partition led, as every broker asked tells it: in a cluster the broker asked may
  // learn of a new topic a moment after the controller made it (kafkajs's waitForLeaders
  // then fails with UNKNOWN_TOPIC_OR_PARTITION).
  while (!(await hasLeaders(admin, topic, partitions))) {
    if (Date.now() > deadline) {
      throw new P7Error(
        "BROKER",
        `topic "${topic}" had no leader for every partition after ${timeoutMs} ms`,
      );
    }
    await sleep(100);
  }
}

/**
 * Deletes `topic` if it exists and waits until the deletion has taken effect, so a client
 * started next cannot find the old topic and write into it while it goes.
 *
 * @throws {P7Error} `BROKER` when the topic is still listed after `timeoutMs`.
 */
export async function deleteTopic(admin: Admin, topic: string, timeoutMs = 60_000): Promise<void> {
  if (!(await hasTopic(admin, topic))) return;
  await admin.deleteTopics({ topics: [topic], timeout: timeoutMs });
  const deadline = Date.now() + timeoutMs;
  while (await hasTopic(admin, topic)) {
    if (Date.now() > deadline) {
      throw new P7Error("BROKER", `topic "${topic}" was still being deleted after ${timeoutMs} ms`);
    }
    await sleep(100);
  }
}

/**
 * Creates `topic`, unless it exists, with the partitions and replication factor of `like`
 * and `config`; waits for its leaders. Another process creating it at the same moment is fine.
 */
export async function createTopicLike(
  admin: Admin,
  topic: string,
  like: string,
  config: Record<string, string>,
): Promise<void> {
  if (await hasTopic(admin, topic)) return;
  const { topics } = await untilKnown(() => admin.fetchTopicMetadata({ topics: [like] }));
  const partitions = topics[0]!.partitions;
  const replicationFactor = partitions[0]!.replicas.length;
  const configEntries = Object.entries(topicConfig(replicationFactor, config))
    .map(([name, value]) => ({ name, value }));
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions.length, replicationFactor, configEntries }],
    waitForLeaders: false,
  });
  const deadline = Date.now() + 60_000;
  while (!(await hasLeaders(admin, topic, partitions.length))) {
    if (Date.now() > deadline) {
      throw new P7Error("BROKER", `topic "${topic}" had no leader for every partition after 60 s`);
    }
    await sleep(100);
  }
}

async function hasLeaders(admin: Admin, topic: string, partitions: number): Promise<boolean> {
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const led = topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0;
    return led === partitions;
  } catch (error) {
    if (unknownTopic(error)) return false;
    throw error;
  }
}

function unknownTopic(error: unknown): boolean {
  return (error as { type?: string }).type === "UNKNOWN_TOPIC_OR_PARTITION";
}

/**
 * Whether `topic` exists. In a cluster, a broker may list a topic created a moment ago with
 * UNKNOWN_TOPIC_OR_PARTITION until the controller's news reaches it; asked again, it knows.
 */
export function hasTopic(admin: Admin, topic: string): Promise<boolean> {
  return untilKnown(async () => (await admin.listTopics()).includes(topic));
}

/** `ask()`, asked again (for up to 5 s) while a broker answers UNKNOWN_TOPIC_OR_PARTITION. */
async function untilKnown<T>(ask: () => Promise<T>): Promise<T> {
  for (let tries = 1;; tries++) {
    try {
      return await ask();
    } catch (error) {
      if (!unknownTopic(error) || tries === 50) throw error;
      await sleep(100);
    }
  }
}

/** A partition's first and next offsets (`low` = log start, `high` = end). */
export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

/**
 * The offsets of every partition of `topic`, by partition number.
 *
 * @throws {P7Error} `TOPIC_MISSING` when the topic does not exist.
 */
export async function topicOffsets(admin: Admin, topic: string): Promise<PartitionOffsets[]> {
  if (!(await hasTopic(admin, topic))) {
    throw new P7Error(
      "TOPIC_MISSING",
      `topic "${topic}" does not exist (the producer creates it)`,
    );
  }
  const offsets = await untilKnown(() => admin.fetchTopicOffsets(topic));
  return offsets
    .map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }))
    .sort((a, b) => a.partition - b.partition);
}

/** How long a consumer may go without a completed fetch before it gives up. */
export const STALL_MS = 30_000;

/** A consumer's bound on waiting for Kafka: its restart policy and its stall watchdog. */
export interface FetchGuard {
  /**
   * The consumer's `retry`: a short budget of tries (about 6 s), then a restart after a
   * retriable error (a coordinator still loading, a leader moved, a broker of the cluster
   * lost), which looks the group coordinator and the leaders up afresh, as long as a fetch
   * completed within `STALL_MS`; anything else ends the consumer.
   */
  retry: RetryOptions & { restartOnFailure(error: Error): Promise<boolean> };
  /** Whether a consumer that crashed with `error` may start again (the policy of `retry`). */
  restartable(error: unknown): boolean;
  /**
   * Calls `onStall` once when no consumer it watches has completed a fetch for `STALL_MS`
   * (kafkajs keeps reconnecting forever in some states, e.g. a broker lost during a group
   * join). The time runs from the first watch on, across the consumers that replace one
   * another. An idle consumer still fetches every `maxWaitTimeInMs`. Returns a function that
   * stops watching.
   */
  watch(consumer: Consumer, onStall: (error: P7Error) => void): () => void;
}

/**
 * The guard of a consumer of `brokers`: it rides through the loss of a broker (another takes
 * over its partitions within seconds) and gives up, naming the brokers, when none has
 * answered a fetch for `STALL_MS`.
 */
export function fetchGuard(brokers: string[]): FetchGuard {
  let last = Date.now();
  let watched = false;
  const stalled = () => Date.now() - last >= STALL_MS;
  const restartable = (error: unknown) => retriable(error) && !stalled();
  return {
    retry: {
      ...RETRY,
      // Past a lost coordinator, kafkajs retries the same broker: better to restart sooner.
      retries: 8,
      restartOnFailure: (error) => Promise.resolve(restartable(error)),
    },
    restartable,
    watch(consumer, onStall) {
      if (!watched) last = Date.now();
      watched = true;
      const removeListener = consumer.on(consumer.events.FETCH, () => {
        last = Date.now();
      });
      const timer = setInterval(() => {
        if (!stalled()) return;
        stop();
        onStall(
          new P7Error(
            "BROKER",
            `cannot reach Kafka at ${brokers.join(",")}: no fetch answered for ${
              STALL_MS / 1000
            } s`,
          ),
        );
      }, 1000);
      function stop() {
        clearInterval(timer);
        removeListener();
      }
      return stop;
    },
  };
}

/**
 * Consumer timings for a prompt stop and a quick rejoin. A fetch waits at most 0.5 s for new
 * records (Java's `fetch.max.wait.ms`; kafkajs waits 5 s), and a stop waits for the fetch in
 * flight: on an idle topic debug took 3 s to stop, past the 2 s `script` allows before its
 * SIGKILL. A member gone without leaving (kill -9) holds its group's next join until its
 * session expires: 10 s here, 30 s by kafkajs's default; heartbeats go every second.
 */
export const PROMPT_CONSUMER = {
  maxWaitTimeInMs: 500,
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
} as const;

/** How long a client may take to disconnect before the process leaves without it. */
export const DISCONNECT_MS = 5_000;

/**
 * Disconnects a kafkajs client, giving up after `DISCONNECT_MS`: with the broker gone,
 * kafkajs's disconnect can wait forever on a reconnect loop.
 */
export async function disconnectQuickly(client: { disconnect(): Promise<void> }): Promise<void> {
  const disconnected = new AbortController();
  await Promise.race([
    client.disconnect().catch(() => {}).finally(() => disconnected.abort()),
    sleep(DISCONNECT_MS, disconnected.signal),
  ]);
  disconnected.abort();
}

/**
 * True for a kafkajs error that another try may not meet: one the broker marks retriable (a
 * coordinator still loading, a leader moved), a lost connection (a broker of a cluster down,
 * its partitions' leadership moving to another), or no group coordinator found, which kafkajs
 * calls final but a broker that is restarting answers for a while (a 200-kill chaos run lost a
 * consumer to it).
 */
function retriable(error: unknown): boolean {
  for (
    let e = error as Record<string, unknown> | undefined;
    e;
    e = (e.cause ?? e.originalError) as typeof e
  ) {
    if (e.retriable === true) return true;
    if (e.name === "KafkaJSConnectionError" || e.name === "KafkaJSGroupCoordinatorNotFound") {
      return true;
    }
  }
  return false;
}
