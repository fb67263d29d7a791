/**
 * One thread's share of the consumer: a group of partitions counted by a Kafka consumer of its
 * own, from their checkpoint files (which the process has locked and checked), with their
 * statistics and anomalies published after each checkpoint. The consumer process runs one
 * group on its main thread and the others in Workers (`consumer_worker.ts`); partitions are
 * independent (a file, a lock, an offset each), so groups share nothing but the stop.
 *
 * @module
 */
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { type AnomalyRule, parseAnomaly } from "../stats/anomaly.ts";
import { appendLog, readLog, readStats, recordRun, saveStats } from "../checkpoint.ts";
import { whenAborted } from "../cli.ts";
import {
  applyBatch,
  type BatchOutcome,
  emptyOutcome,
  fixedAssigner,
  mergeOutcomes,
  type PartitionState,
  partitionState,
} from "./consume.ts";
import { P7Error } from "../errors.ts";
import {
  createKafka,
  disconnectQuickly,
  type FetchGuard,
  fetchGuard,
  kafkaError,
  PROMPT_CONSUMER,
  TOPIC,
} from "./kafka.ts";
import {
  anomalyRecords,
  STATS_TOPIC,
  type StatsPublisher,
  statsPublisher,
  statsRecords,
  windowRecords,
} from "./stats_topic.ts";
import { type StatsEncoder, statsEncoder } from "../stats/stats.ts";
import {
  closeIdle,
  parseClosedWindow,
  type WindowConfig,
  type WindowUpdate,
  windowUpdates,
} from "../stats/windows.ts";

/** What a group is to count; plain data, so that it can be posted to a Worker. */
export interface GroupOptions {
  brokers: string[];
  dir: string;
  partitions: number[];
  rule: AnomalyRule;
  /** The producer run each partition's checkpoint belongs to, when it has counted anything. */
  runs: Record<number, string | undefined>;
  /** Whether `temperature-stats` exists, `temperature-anomalies`, `temperature-windows`. */
  topics: { stats: boolean; anomalies: boolean; windows: boolean };
  /** With `--window`: the windows to count. */
  windows?: WindowConfig;
  /** With `--idle-close`: milliseconds without records after which open windows close. */
  idleClose?: number;
}

/** Running totals of a group, or of the process. */
export interface Totals {
  counted: number;
  duplicates: number;
  rejected: number;
  anomalies: number;
  /** Windows closed, and values that came for a window already closed. */
  closed: number;
  late: number;
}

/** Totals of nothing yet. */
export function noTotals(): Totals {
  return { counted: 0, duplicates: 0, rejected: 0, anomalies: 0, closed: 0, late: 0 };
}

/** Where a group is: its totals and each partition's checkpoint offset. */
export interface GroupSnapshot {
  totals: Totals;
  offsets: Record<number, number>;
}

/** What a group tells the process while it runs. */
export interface GroupEvents {
  /** Its publisher is connected and has published the whole state: it counts from now on. */
  ready(): void;
  /** Once a second while it counts. */
  progress(snapshot: GroupSnapshot): void;
}

/**
 * `partitions` dealt into `threads` groups of about equal `weight` (the records a partition
 * has to read), heaviest first into the lightest group; no group is empty, and each lists its
 * partitions in order. Partitions carry unequal shares of the days (the month keys hash
 * unevenly: 4, 2, 3 and 3 months), so dealing them in turn left one thread 40% more to read
 * than the other.
 *
 * @example
 * ```ts
 * dealPartitions([0, 1, 2, 3], 2); // [[0, 2], [1, 3]]
 * dealPartitions([0, 1, 2, 3], 2, (p) => [26, 17, 35, 26][p]!); // [[1, 2], [0, 3]]
 * ```
 */
export function dealPartitions(
  partitions: number[],
  threads: number,
  weight: (partition: number) => number = () => 0,
): number[][] {
  const count = Math.max(1, Math.min(threads, partitions.length));
  const groups = Array.from({ length: count }, () => ({ load: 0, partitions: [] as number[] }));
  const heaviestFirst = [...partitions].sort((a, b) => weight(b) - weight(a) || a - b);
  for (const partition of heaviestFirst) {
    // The lightest group; among equals the one with fewest partitions, then the first.
    const group = groups.reduce((best, g) =>
      g.load < best.load ||
        (g.load === best.load && g.partitions.length < best.partitions.length)
        ? g
        : best
    );
    group.load += weight(partition);
    group.partitions.push(partition);
  }
  return groups.map((g) => g.partitions.sort((a, b) => a - b));
}

/** The totals of several snapshots. */
export function sumTotals(snapshots: GroupSnapshot[]): Totals {
  const sum = noTotals();
  for (const { totals } of snapshots) {
    for (const name of Object.keys(sum) as (keyof Totals)[]) sum[name] += totals[name];
  }
  return sum;
}

/**
 * A partition this group owns: its checkpoint, producer run, file encoder, the run its lock
 * file names, the send of its last published statistics, and what it counted since its last
 * checkpoint.
 */
interface GroupPartition extends PartitionState {
  recordedRun?: string;
  encode: StatsEncoder;
  published: Promise<void>;
  /** What the batches since the last checkpoint did; undefined when it is written. */
  pending?: BatchOutcome;
  /** When the last checkpoint was written (`performance.now()`). */
  written: number;
  /** When its last record came (`performance.now()`), for `--idle-close`. */
  lastRecord: number;
  /** A batch is being counted (the idle check leaves the partition alone meanwhile). */
  handling: boolean;
  /** The idle close under way: a batch waits for it. */
  idling?: Promise<void>;
}

const PROGRESS_MS = 1000;

/**
 * While a partition is behind its end, its checkpoint is written at most this often: a
 * checkpoint rewrites and syncs the whole file (about 1 MB after a million days), and a
 * backlog brings a batch every few tens of milliseconds. Once it has caught up, every batch
 * is written at once. A crash loses only what was counted since (it is read again).
 */
export const CHECKPOINT_MS = 200;

/**
 * Counts the group's partitions until `stop` aborts or something fails; resolves to where it
 * stopped once every batch in hand is written and published.
 *
 * @throws {P7Error} as the consumer reports it: `BROKER`, `TOPIC_RECREATED`, `CHECKPOINT`, …
 */
export async function countGroup(
  options: GroupOptions,
  stop: AbortSignal,
  events: GroupEvents,
): Promise<GroupSnapshot> {
  const states = new Map<number, GroupPartition>();
  for (const partition of options.partitions) {
    const stats = await readStats(options.dir, partition);
    if (stats === undefined) {
      throw new P7Error("CHECKPOINT", `partition ${partition}'s checkpoint disappeared`);
    }
    const run = options.runs[partition];
    states.set(partition, {
      ...partitionState(stats, options.rule, run, options.windows),
      recordedRun: run,
      encode: statsEncoder(),
      published: Promise.resolve(),
      written: 0,
      lastRecord: performance.now(),
      handling: false,
    });
  }
  const kafka = createKafka(options.brokers, "p7-consumer");
  let publisher: StatsPublisher | undefined;
  if (options.topics.stats) {
    try {
      publisher = await statsPublisher(kafka, options.topics.anomalies, options.topics.windows);
      // The whole state once: whatever an earlier run could not publish is there now. A
      // partition not counted yet has nothing to say (and no producer run to name).
      for (const state of states.values()) {
        const { stats, run } = state;
        if (stats.offset === 0) continue;
        const anomalies = await readLog(options.dir, "anomalies", stats.partition, parseAnomaly);
        const windows = options.topics.windows
          ? await readLog(options.dir, "windows", stats.partition, parseClosedWindow)
          : [];
        await publisher.publish(
          stats.partition,
          {
            stats: statsRecords(stats),
            anomalies: anomalyRecords(anomalies),
            windows: windowRecords([
              ...windows,
              ...(options.windows?.emit === "updates"
                ? openUpdates(state, Object.keys(stats.windows?.open ?? {}))
                : []),
            ]),
          },
          run,
        );
      }
    } catch (error) {
      await disconnectQuickly(publisher ?? { disconnect: () => Promise.resolve() });
      throw kafkaError(error, options.brokers, `publishing to "${STATS_TOPIC}"`);
    }
  }
  events.ready();
  const guard = fetchGuard(options.brokers);
  const snapshot: GroupSnapshot = {
    totals: noTotals(),
    offsets: {},
  };
  const snap = () => {
    for (const [partition, { stats }] of states) snapshot.offsets[partition] = stats.offset;
    return snapshot;
  };
  const ticker = setInterval(() => events.progress(snap()), PROGRESS_MS);
  try {
    // kafkajs restarts a consumer that lost a broker in the same group, and when that broker
    // was the group's coordinator (killed, so the member could not leave), the new
    // coordinator holds the join until the lost member's session expires: 10 s more on a
    // three-node cluster, 21 s in all where 11 s is the cluster's own failover. A new
    // consumer in a new group joins at once, from the same counts.
    let restart = true;
    while (restart && !stop.aborted) {
      const consumer = groupConsumer(kafka, options.partitions, guard);
      const ready = (async () => {
        await consumer.connect();
        await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
      })();
      // With the broker away, connecting retries for about 20 s: a stop need not wait for it.
      await Promise.race([ready, whenAborted(stop)]);
      if (stop.aborted) {
        ready.catch(() => {});
        await disconnectQuickly(consumer);
        break;
      }
      restart = await consume(consumer, { guard, publisher, options, states, stop, snap });
    }
    // A stop writes what was counted.
    for (const state of states.values()) await checkpoint(state, options.dir, publisher);
    for (const state of states.values()) await state.published;
  } catch (error) {
    throw kafkaError(error, options.brokers, `consuming "${TOPIC}"`);
  } finally {
    clearInterval(ticker);
    if (publisher) await disconnectQuickly(publisher);
  }
  return snap();
}

/** A consumer of `partitions` alone, in a group of its own that only it will ever join. */
function groupConsumer(kafka: Kafka, partitions: number[], guard: FetchGuard): Consumer {
  return kafka.consumer({
    // A group of its own, so the fixed assigner is the only one that decides.
    groupId: `p7-consumer-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
    partitionAssigners: [fixedAssigner({ [TOPIC]: partitions })],
    allowAutoTopicCreation: false,
    ...PROMPT_CONSUMER,
    // Every record of a fetch is decoded into objects at once, and they live until its batch
    // is checkpointed: peak RSS over a 1,000,000-day backlog was 612 MB with 4 MiB per
    // partition, 395 MB with 1 MiB, 281 MB with 256 KiB (1 MiB in all) and 190 MB with
    // 128 KiB (512 KiB in all), at about the same rate once batches run concurrently.
    maxBytesPerPartition: 128 * 1024,
    maxBytes: 512 * 1024,
    // kafkajs would restart it in its old group: `countGroup` starts a new one in a new group.
    retry: { ...guard.retry, restartOnFailure: () => Promise.resolve(false) },
  });
}

/** With `--emit updates`: the partition's open windows among `keys`, as they are now. */
function openUpdates(state: PartitionState, keys: Iterable<string>): WindowUpdate[] {
  const { windows, partition, offset } = state.stats;
  return windows === undefined ? [] : windowUpdates(windows, keys, partition, offset - 1);
}

/** Writes what the partition counted since its last checkpoint, then publishes it. */
async function checkpoint(
  state: GroupPartition,
  dir: string,
  publisher?: StatsPublisher,
): Promise<void> {
  const outcome = state.pending;
  if (outcome === undefined) return;
  state.pending = undefined;
  const { partition } = state.stats;
  if (state.run !== undefined && state.run !== state.recordedRun) {
    await recordRun(dir, partition, state.run);
    state.recordedRun = state.run;
  }
  await appendLog(dir, "rejected", outcome.rejected);
  await appendLog(dir, "anomalies", outcome.anomalies);
  await appendLog(dir, "late", outcome.late);
  await appendLog(dir, "windows", outcome.closed);
  await saveStats(dir, state.stats, state.encode);
  state.written = performance.now();
  if (publisher) {
    // Derived from the files just written, so the topics are never ahead of the checkpoint,
    // and sent while the next batch is read: one send in flight per partition, in order.
    const records = {
      stats: statsRecords(state.stats, outcome.changed),
      anomalies: anomalyRecords(outcome.anomalies),
      windows: windowRecords([...openUpdates(state, outcome.updated), ...outcome.closed]),
    };
    await state.published;
    state.published = publisher.publish(partition, records, state.run);
    state.published.catch(() => {}); // a failure is met at the next await of it
  }
}

/** What `consume` works with. */
interface Consuming {
  guard: FetchGuard;
  publisher?: StatsPublisher;
  options: GroupOptions;
  states: Map<number, GroupPartition>;
  stop: AbortSignal;
  snap: () => GroupSnapshot;
}

/**
 * Consumes until stopped, failed or crashed; resolves once the consumer is disconnected and
 * its batches in hand are done: to true when it lost Kafka in a way a new consumer may ride
 * through (`FetchGuard.restartable`).
 *
 * @throws what failed, once every send in flight has ended.
 */
async function consume(consumer: Consumer, context: Consuming): Promise<boolean> {
  const { guard, publisher, options, states, stop, snap } = context;
  const totals = snap().totals;
  let failure: unknown;
  const failed = Promise.withResolvers<void>();
  const fail = (error: unknown) => {
    failure ??= error;
    failed.resolve();
  };
  // Once stopping, kafkajs may still report a crash: that is no failure, the batches in hand
  // are awaited below either way.
  let stopping = false;
  let restart = false;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (stopping) return;
    if (!guard.restartable(payload.error)) fail(payload.error);
    else {
      restart = true;
      failed.resolve();
    }
  });
  // Re-seek from the checkpoints on every join: no offset is ever committed to Kafka.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    try {
      for (const [partition, { stats }] of states) {
        consumer.seek({ topic: TOPIC, partition, offset: String(stats.offset) });
      }
    } catch (error) {
      // A join that completes after the consumer crashed (its group is gone): the consumer
      // that replaces it joins, and seeks, then.
      if (!/Consumer group was not initialized/.test((error as Error).message)) throw error;
    }
  });
  const inFlight = new Set<Promise<void>>();
  const eachBatch = async ({ batch }: EachBatchPayload) => {
    const handled = handleBatch(batch);
    inFlight.add(handled);
    try {
      await handled;
    } finally {
      inFlight.delete(handled);
    }
  };
  const handleBatch = async (batch: EachBatchPayload["batch"]) => {
    const state = states.get(batch.partition);
    // After a stop, a failure or a crash no new batch starts; its records are read again.
    if (state === undefined || stop.aborted || failure !== undefined || restart) return;
    state.handling = true;
    try {
      await state.idling;
      await countBatch(state, batch);
    } finally {
      state.handling = false;
    }
  };
  const countBatch = async (state: GroupPartition, batch: EachBatchPayload["batch"]) => {
    if (stop.aborted || failure !== undefined || restart) return;
    const before = state.stats.offset;
    try {
      const outcome = applyBatch(state, batch.messages);
      if (state.stats.offset === before) return;
      state.lastRecord = performance.now();
      state.pending = state.pending === undefined ? outcome : mergeOutcomes(state.pending, outcome);
      const caughtUp = state.stats.offset >= Number(batch.highWatermark);
      if (caughtUp || performance.now() - state.written >= CHECKPOINT_MS) {
        await checkpoint(state, options.dir, publisher);
      }
      totals.counted += outcome.counted;
      totals.duplicates += outcome.duplicates;
      totals.rejected += outcome.rejected.length;
      totals.anomalies += outcome.anomalies.length;
      totals.closed += outcome.closed.length;
      totals.late += outcome.late.length;
    } catch (error) {
      // Not thrown to kafkajs, which would retry the batch: this consumer must stop.
      fail(error);
    }
  };
  // `--idle-close`: a partition without records for that long has its open windows closed,
  // checkpointed and published, as a batch would; one that is counting a batch waits a tick.
  const idleTicker = options.idleClose === undefined ? undefined : setInterval(() => {
    for (const state of states.values()) {
      const quiet = performance.now() - state.lastRecord >= options.idleClose!;
      const open = Object.keys(state.stats.windows?.open ?? {}).length > 0;
      if (!quiet || !open || state.handling || state.idling !== undefined) continue;
      if (stop.aborted || failure !== undefined || restart) continue;
      state.idling = (async () => {
        try {
          const outcome = emptyOutcome();
          closeIdle(
            state.stats.windows!,
            state.stats.partition,
            Math.max(0, state.stats.offset - 1),
            outcome,
          );
          state.pending = state.pending === undefined
            ? outcome
            : mergeOutcomes(state.pending, outcome);
          await checkpoint(state, options.dir, publisher);
          totals.closed += outcome.closed.length;
        } catch (error) {
          fail(error);
        } finally {
          state.idling = undefined;
        }
      })();
    }
  }, Math.min(1000, options.idleClose));
  // Watched from the start: kafkajs's run() includes the group join, which it may retry for
  // minutes, and a stop signal must not wait for it.
  const unwatch = guard.watch(consumer, fail);
  // Partitions are independent, so one's checkpoint write need not hold up another's batch.
  consumer.run({ autoCommit: false, eachBatch, partitionsConsumedConcurrently: states.size })
    .catch((error) => stopping || fail(error));
  await Promise.race([whenAborted(stop), failed.promise]);
  stopping = true;
  clearInterval(idleTicker);
  unwatch();
  // disconnect() lets the batch in hand finish; if it gives up early, wait for that batch here.
  await disconnectQuickly(consumer);
  await Promise.all(inFlight);
  for (const state of states.values()) await state.idling;
  if (failure === undefined) return restart;
  // What was counted since the last checkpoint is read again by the next run.
  for (const state of states.values()) await state.published.catch(() => {});
  throw failure;
}

/** A message from the process to a group's Worker. */
export type ToGroup = { kind: "start"; options: GroupOptions } | { kind: "stop" };

/** A message from a group's Worker to the process. */
export type FromGroup =
  | { kind: "ready" }
  | { kind: "progress"; snapshot: GroupSnapshot }
  | { kind: "done"; snapshot: GroupSnapshot }
  | { kind: "failed"; message: string; code?: string };
