#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read --allow-write --v8-flags=--max-semi-space-size=8,--heap-growing-percent=50
/**
 * Counts the named partitions of `temperatures` into `DIR/partition-N.json`, exactly once:
 * the file holds the stats and the next offset to read, replaced atomically after each batch,
 * and a restart resumes from it. Days far from their climate go to `DIR/anomalies-N.jsonl`,
 * appended before the checkpoint and trimmed to it on start, so each is there exactly once.
 *
 * The partitions are counted on up to `--threads` threads (default: one per core): the main
 * thread checks and locks every partition, then counts one group of them itself and hands the
 * others to Workers, each with a Kafka consumer of its own. Its V8 flag (in the shebang, the
 * task and the compiled binary) keeps each thread's young generation at 1 MB: on a
 * million-day backlog, two threads peaked at 363-370 MB without it and 238-250 MB with it,
 * at the same rate.
 *
 * @module
 */
import { type ConsumerConfig, consumerConfig, type Help } from "./lib/args.ts";
import { lockPartition, readStats, saveStats, statsPath, trimLog } from "./lib/checkpoint.ts";
import { onStopSignal, runMain, whenAborted } from "./lib/cli.ts";
import {
  countGroup,
  dealPartitions,
  type FromGroup,
  type GroupEvents,
  type GroupOptions,
  type GroupSnapshot,
  noTotals,
  sumTotals,
  type ToGroup,
  type Totals,
} from "./lib/kafka/consumer_group.ts";
import { type ErrorCode, P7Error } from "./lib/errors.ts";
import {
  createKafka,
  createTopicLike,
  disconnectQuickly,
  hasTopic,
  kafkaError,
  type PartitionOffsets,
  TOPIC,
  topicOffsets,
} from "./lib/kafka/kafka.ts";
import {
  ANOMALY_TOPIC,
  STATS_TOPIC,
  STATS_TOPIC_CONFIG,
  WINDOW_TOPIC,
} from "./lib/kafka/stats_topic.ts";
import { checkWindows } from "./lib/kafka/consume.ts";
import { emptyStats, type PartitionStats } from "./lib/stats/stats.ts";

const PROGRESS_MS = 10_000;

/** Checks a checkpoint's offset against what the broker holds for its partition. */
function checkOffset(stats: PartitionStats, offsets: PartitionOffsets, path: string): void {
  if (stats.offset > offsets.high) {
    throw new P7Error(
      "CHECKPOINT",
      `Cannot use checkpoint "${path}": offset ${stats.offset} is beyond the end of partition ` +
        `${stats.partition} (${offsets.high}); was the topic recreated? Move the file away to ` +
        `start over`,
    );
  }
  if (stats.offset < offsets.low) {
    throw new P7Error(
      "CHECKPOINT",
      `Cannot use checkpoint "${path}": offset ${stats.offset} is below the start of partition ` +
        `${stats.partition} (${offsets.low}): the records in between were deleted`,
    );
  }
}

/** A partition this process has locked and checked, as it stands at the start. */
interface Prepared {
  offset: number;
  /** The producer run its checkpoint belongs to, when it has counted anything. */
  run?: string;
  /** The keys of the windows its checkpoint holds open. */
  open: Set<string>;
}

/**
 * Validates everything before any file changes: partitions exist, no other process owns
 * them, every checkpoint parses and fits the broker's offsets. Then creates missing files and
 * trims the logs to the checkpoints. The locks are held until the process exits.
 */
async function prepare(
  config: ConsumerConfig,
  offsets: PartitionOffsets[],
): Promise<Map<number, Prepared>> {
  const missing = config.partitions.filter((p) => p >= offsets.length);
  if (missing.length > 0) {
    throw new P7Error(
      "PARTITION",
      `partition ${missing.join(", ")} does not exist: topic "${TOPIC}" has ` +
        `${offsets.length} partitions (0-${offsets.length - 1})`,
    );
  }
  await Deno.mkdir(config.dir, { recursive: true });
  const prepared = new Map<number, Prepared>();
  const created: PartitionStats[] = [];
  for (const partition of config.partitions) {
    const lock = await lockPartition(config.dir, partition);
    let stats = await readStats(config.dir, partition);
    if (stats === undefined) created.push(stats = emptyStats(partition));
    checkOffset(stats, offsets[partition]!, statsPath(config.dir, partition));
    const refused = checkWindows(stats, config.windows);
    if (refused !== undefined) throw new P7Error("CHECKPOINT", refused);
    // The run recorded beside a checkpoint that has counted something is the one to continue.
    prepared.set(partition, {
      offset: stats.offset,
      run: stats.offset > 0 ? lock.run : undefined,
      open: new Set(Object.keys(stats.windows?.open ?? {})),
    });
  }
  for (const stats of created) await saveStats(config.dir, stats);
  for (const [partition, { offset, open }] of prepared) {
    await trimLog(config.dir, "rejected", partition, offset);
    await trimLog(config.dir, "anomalies", partition, offset);
    await trimLog(config.dir, "late", partition, offset);
    // A window the checkpoint holds open was closed by a run that never saved that: it closes
    // again, and is logged again.
    await trimLog(config.dir, "windows", partition, offset, (line) => open.has(line.key as string));
  }
  return prepared;
}

function summary(totals: Totals, windows: boolean): string {
  return `${totals.counted} counted, ${totals.duplicates} duplicates, ${totals.rejected} ` +
    `rejected, ${totals.anomalies} anomalies` +
    (windows ? `, ${totals.closed} windows closed, ${totals.late} late values` : "");
}

function describe(offsets: Map<number, number>): string {
  return [...offsets].map(([partition, offset]) => `${partition}@${offset}`).join(" ");
}

/** A group of partitions counting on the main thread or in a Worker. */
interface Group {
  /** Resolves once it has published the whole state and counts. */
  ready: Promise<void>;
  /** Resolves to where it stopped; rejects with its failure. */
  done: Promise<GroupSnapshot>;
  stop(): void;
}

/** Counts `options` on this thread. */
function localGroup(options: GroupOptions, events: Pick<GroupEvents, "progress">): Group {
  const stop = new AbortController();
  const ready = Promise.withResolvers<void>();
  const done = countGroup(options, stop.signal, { ...events, ready: ready.resolve });
  done.catch(ready.reject);
  return { ready: ready.promise, done, stop: () => stop.abort() };
}

/** Counts `options` in a Worker, with the same permissions as the process. */
function workerGroup(options: GroupOptions, events: Pick<GroupEvents, "progress">): Group {
  const worker = new Worker(new URL("./lib/kafka/consumer_worker.ts", import.meta.url), {
    type: "module",
  });
  const ready = Promise.withResolvers<void>();
  const done = Promise.withResolvers<GroupSnapshot>();
  const post = (message: ToGroup) => worker.postMessage(message);
  worker.onmessage = ({ data }: MessageEvent<FromGroup>) => {
    if (data.kind === "ready") ready.resolve();
    else if (data.kind === "progress") events.progress(data.snapshot);
    else if (data.kind === "done") done.resolve(data.snapshot);
    else {
      const error = data.code === undefined
        ? new Error(data.message)
        : new P7Error(data.code as ErrorCode, data.message);
      done.reject(error);
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    done.reject(new Error(`a consumer thread failed: ${event.message}`));
  };
  done.promise.catch(ready.reject).finally(() => worker.terminate());
  post({ kind: "start", options });
  return { ready: ready.promise, done: done.promise, stop: () => post({ kind: "stop" }) };
}

/** Runs the consumer; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config: ConsumerConfig | Help = consumerConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const stop = onStopSignal();
  const kafka = createKafka(config.brokers, "p7-consumer");
  const admin = kafka.admin();
  let offsets: PartitionOffsets[];
  let publishing: boolean;
  let anomalyTopic: boolean;
  let windowTopic: boolean;
  try {
    await admin.connect();
    offsets = await topicOffsets(admin, TOPIC);
    publishing = await hasTopic(admin, STATS_TOPIC);
    anomalyTopic = await hasTopic(admin, ANOMALY_TOPIC);
    // A windowing consumer makes the windows topic, beside the statistics topic, like it.
    windowTopic = config.windows !== undefined && publishing;
    if (windowTopic) await createTopicLike(admin, WINDOW_TOPIC, STATS_TOPIC, STATS_TOPIC_CONFIG);
  } catch (error) {
    throw kafkaError(error, config.brokers, `reading topic "${TOPIC}"`);
  } finally {
    await disconnectQuickly(admin);
  }
  const prepared = await prepare(config, offsets);
  const offsetsNow = new Map([...prepared].map(([partition, { offset }]) => [partition, offset]));
  // Each thread about the same to read: what is left of its partitions plus their share of
  // the topic (what a live stream will bring them).
  const groups = dealPartitions(config.partitions, config.threads, (partition) => {
    const { low, high } = offsets[partition]!;
    return 2 * high - low - offsetsNow.get(partition)!;
  });
  const snapshots: GroupSnapshot[] = groups.map(() => ({
    totals: noTotals(),
    offsets: {},
  }));
  const seen = (index: number, snapshot: GroupSnapshot) => {
    snapshots[index] = snapshot;
    for (const [partition, offset] of Object.entries(snapshot.offsets)) {
      offsetsNow.set(Number(partition), offset);
    }
  };
  const started = performance.now();
  const running = groups.map((partitions, index) => {
    const options: GroupOptions = {
      brokers: config.brokers,
      dir: config.dir,
      partitions,
      rule: config.anomaly,
      runs: Object.fromEntries(partitions.map((p) => [p, prepared.get(p)!.run])),
      topics: { stats: publishing, anomalies: anomalyTopic, windows: windowTopic },
      windows: config.windows,
      idleClose: config.idleClose,
    };
    const events = { progress: (snapshot: GroupSnapshot) => seen(index, snapshot) };
    // The main thread counts the first group itself: one thread fewer to start and feed.
    return index === 0 ? localGroup(options, events) : workerGroup(options, events);
  });
  const stopAll = () => running.forEach((group) => group.stop());
  // A group ends only when stopped or failed: the first to end stops them all, and the failure
  // reported is that of the lowest group that failed.
  const ended = Promise.race(running.map((group) => group.done)).then(() => {}, () => {});
  const ready = await Promise.race([
    settled(running.map((group) => group.ready)),
    whenAborted(stop).then(() => false),
  ]);
  if (ready) {
    console.error(
      `consumer: partitions ${config.partitions.join(" ")} from ${describe(offsetsNow)} on ` +
        `${groups.length} ${groups.length === 1 ? "thread" : "threads"}; ` +
        `anomalies beyond ${config.anomaly.sigma} standard deviations of ` +
        `${config.anomaly.years}+ earlier years; ` +
        (config.windows === undefined ? "" : `windows ${config.windows.text}` +
          (config.idleClose === undefined
            ? ""
            : `, closed after ${config.idleClose / 1000} s idle`) +
          "; ") +
        (publishing
          ? `statistics published to "${STATS_TOPIC}"` +
            (anomalyTopic ? `, anomalies to "${ANOMALY_TOPIC}"` : "") +
            (windowTopic
              ? `, ${
                config.windows!.emit === "updates" ? "windows as they change" : "closed windows"
              } to "${WINDOW_TOPIC}"`
              : "")
          : `topic "${STATS_TOPIC}" does not exist, statistics not published`),
    );
  }
  const progress = setInterval(() => {
    console.error(
      `consumer: offsets ${describe(offsetsNow)}; ${
        summary(sumTotals(snapshots), config.windows !== undefined)
      }`,
    );
  }, PROGRESS_MS);
  try {
    await Promise.race([whenAborted(stop), ended]);
  } finally {
    stopAll();
  }
  const results = await Promise.allSettled(running.map((group) => group.done));
  clearInterval(progress);
  results.forEach((result, index) => {
    if (result.status === "fulfilled") seen(index, result.value);
  });
  const failure = results.find((result) => result.status === "rejected");
  if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  const seconds = (performance.now() - started) / 1000;
  console.error(
    `consumer: stopped at offsets ${describe(offsetsNow)}; ${
      summary(sumTotals(snapshots), config.windows !== undefined)
    } in ` +
      `${seconds.toFixed(1)} s`,
  );
  return 0;
}

/** True when every promise resolves; false as soon as one rejects (its failure is met later). */
async function settled(promises: Promise<unknown>[]): Promise<boolean> {
  try {
    await Promise.all(promises);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
