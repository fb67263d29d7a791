#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read --allow-write
/**
 * Counts the named partitions of `temperatures` into `DIR/partition-N.json`, exactly once:
 * the file holds the stats and the next offset to read, replaced atomically after each batch,
 * and a restart resumes from it. Days far from their climate go to `DIR/anomalies-N.jsonl`,
 * appended before the checkpoint and trimmed to it on start, so each is there exactly once.
 *
 * @module
 */
import { type Consumer, type EachBatchPayload } from "kafkajs";
import { type ConsumerConfig, consumerConfig, type Help } from "./lib/args.ts";
import { parseAnomaly } from "./lib/anomaly.ts";
import {
  appendLog,
  lockPartition,
  type PartitionLock,
  readLog,
  readStats,
  recordRun,
  saveStats,
  statsPath,
  trimLog,
} from "./lib/checkpoint.ts";
import { onStopSignal, runMain, whenAborted } from "./lib/cli.ts";
import {
  applyBatch,
  fixedAssigner,
  type PartitionState as BatchState,
  partitionState,
} from "./lib/consume.ts";
import { P7Error } from "./lib/errors.ts";
import {
  createKafka,
  disconnectQuickly,
  type FetchGuard,
  fetchGuard,
  hasTopic,
  kafkaError,
  type PartitionOffsets,
  TOPIC,
  topicOffsets,
} from "./lib/kafka.ts";
import { useFastVarints } from "./lib/kafkajs_varint.ts";
import {
  ANOMALY_TOPIC,
  anomalyRecords,
  STATS_TOPIC,
  type StatsPublisher,
  statsPublisher,
  statsRecords,
} from "./lib/stats_topic.ts";
import { emptyStats, type PartitionStats, type StatsEncoder, statsEncoder } from "./lib/stats.ts";

const PROGRESS_MS = 10_000;

/**
 * A partition this process owns: its checkpoint, producer run, lock, file encoder, and the
 * send of its last published statistics.
 */
interface PartitionState extends BatchState {
  lock: PartitionLock;
  encode: StatsEncoder;
  published: Promise<void>;
}

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

/**
 * Validates everything before any file changes: partitions exist, no other process owns
 * them, every checkpoint parses and fits the broker's offsets. Then creates missing files.
 */
async function prepare(
  config: ConsumerConfig,
  offsets: PartitionOffsets[],
): Promise<Map<number, PartitionState>> {
  const missing = config.partitions.filter((p) => p >= offsets.length);
  if (missing.length > 0) {
    throw new P7Error(
      "PARTITION",
      `partition ${missing.join(", ")} does not exist: topic "${TOPIC}" has ` +
        `${offsets.length} partitions (0-${offsets.length - 1})`,
    );
  }
  await Deno.mkdir(config.dir, { recursive: true });
  const states = new Map<number, PartitionState>();
  const created: PartitionStats[] = [];
  for (const partition of config.partitions) {
    const lock = await lockPartition(config.dir, partition);
    let stats = await readStats(config.dir, partition);
    if (stats === undefined) created.push(stats = emptyStats(partition));
    checkOffset(stats, offsets[partition]!, statsPath(config.dir, partition));
    // The run recorded beside a checkpoint that has counted something is the one to continue.
    const run = stats.offset > 0 ? lock.run : undefined;
    states.set(partition, {
      ...partitionState(stats, config.anomaly, run),
      lock,
      encode: statsEncoder(),
      published: Promise.resolve(),
    });
  }
  for (const stats of created) await saveStats(config.dir, stats);
  for (const { stats } of states.values()) {
    await trimLog(config.dir, "rejected", stats.partition, stats.offset);
    await trimLog(config.dir, "anomalies", stats.partition, stats.offset);
  }
  return states;
}

/** Running totals for progress lines and the summary. */
interface Totals {
  counted: number;
  duplicates: number;
  rejected: number;
  anomalies: number;
}

function summary(totals: Totals): string {
  return `${totals.counted} counted, ${totals.duplicates} duplicates, ${totals.rejected} ` +
    `rejected, ${totals.anomalies} anomalies`;
}

function describe(states: Map<number, PartitionState>): string {
  return [...states.values()].map(({ stats }) => `${stats.partition}@${stats.offset}`).join(" ");
}

/** Consumes until stopped or failed; resolves once the consumer is disconnected. */
async function consume(
  consumer: Consumer,
  { guard, publisher }: { guard: FetchGuard; publisher?: StatsPublisher },
  config: ConsumerConfig,
  states: Map<number, PartitionState>,
  totals: Totals,
  stop: AbortSignal,
): Promise<void> {
  let failure: unknown;
  const failed = Promise.withResolvers<void>();
  const fail = (error: unknown) => {
    failure ??= error;
    failed.resolve();
  };
  // Once stopping, kafkajs may still end a restart it had scheduled: that is no failure, the
  // batches in hand are awaited below either way.
  let stopping = false;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart && !stopping) fail(payload.error);
  });
  // Re-seek from the checkpoints on every join: no offset is ever committed to Kafka.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    try {
      for (const [partition, { stats }] of states) {
        consumer.seek({ topic: TOPIC, partition, offset: String(stats.offset) });
      }
    } catch (error) {
      // A join that completes after kafkajs began restarting the consumer (its group is gone
      // until the restart): the restart joins again, and seeks then.
      if (!/Consumer group was not initialized/.test((error as Error).message)) throw error;
    }
  });
  let lastProgress = performance.now();
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
    // After a stop or a failure no new batch starts; its records stay for the next run.
    if (state === undefined || stop.aborted || failure !== undefined) return;
    const before = state.stats.offset;
    try {
      const outcome = applyBatch(state, batch.messages);
      if (state.stats.offset === before) return;
      if (state.run !== undefined && state.run !== state.lock.run) {
        await recordRun(state.lock, state.run);
      }
      await appendLog(config.dir, "rejected", outcome.rejected);
      await appendLog(config.dir, "anomalies", outcome.anomalies);
      await saveStats(config.dir, state.stats, state.encode);
      if (publisher) {
        // Derived from the files just written, so the topics are never ahead of the
        // checkpoint, and sent while the next batch is read: one send in flight per
        // partition, in order.
        const records = {
          stats: statsRecords(state.stats, outcome.changed),
          anomalies: anomalyRecords(outcome.anomalies),
        };
        await state.published;
        state.published = publisher.publish(batch.partition, records, state.run ?? state.lock.run);
        state.published.catch(() => {}); // a failure is met at the next await of it
      }
      totals.counted += outcome.counted;
      totals.duplicates += outcome.duplicates;
      totals.rejected += outcome.rejected.length;
      totals.anomalies += outcome.anomalies.length;
    } catch (error) {
      // Not thrown to kafkajs, which would retry the batch: this consumer must stop.
      fail(error);
      return;
    }
    const now = performance.now();
    if (now - lastProgress >= PROGRESS_MS) {
      lastProgress = now;
      console.error(`consumer: offsets ${describe(states)}; ${summary(totals)}`);
    }
  };
  // Watched from the start: kafkajs's run() includes the group join, which it may retry for
  // minutes, and a stop signal must not wait for it.
  const unwatch = guard.watch(consumer, fail);
  // Partitions are independent, so one's checkpoint write need not hold up another's batch.
  consumer.run({ autoCommit: false, eachBatch, partitionsConsumedConcurrently: states.size })
    .catch((error) => stopping || fail(error));
  await Promise.race([whenAborted(stop), failed.promise]);
  stopping = true;
  unwatch();
  // disconnect() lets the batch in hand finish; if it gives up early, wait for that batch here.
  await disconnectQuickly(consumer);
  await Promise.all(inFlight);
  for (const state of states.values()) await state.published.catch(fail);
  if (failure !== undefined) throw failure;
}

/** Runs the consumer; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config: ConsumerConfig | Help = consumerConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const stop = onStopSignal();
  useFastVarints();
  const kafka = createKafka(config.brokers, "p7-consumer");
  const admin = kafka.admin();
  let offsets: PartitionOffsets[];
  let publishing: boolean;
  let anomalyTopic: boolean;
  try {
    await admin.connect();
    offsets = await topicOffsets(admin, TOPIC);
    publishing = await hasTopic(admin, STATS_TOPIC);
    anomalyTopic = await hasTopic(admin, ANOMALY_TOPIC);
  } catch (error) {
    throw kafkaError(error, config.brokers, `reading topic "${TOPIC}"`);
  } finally {
    await disconnectQuickly(admin);
  }
  const states = await prepare(config, offsets);
  let publisher: StatsPublisher | undefined;
  if (publishing) {
    try {
      publisher = await statsPublisher(kafka, anomalyTopic);
      // The whole state once: whatever an earlier run could not publish is there now. A
      // partition not counted yet has nothing to say (and no producer run to name).
      for (const { stats, lock } of states.values()) {
        if (stats.offset === 0) continue;
        const anomalies = await readLog(config.dir, "anomalies", stats.partition, parseAnomaly);
        await publisher.publish(
          stats.partition,
          { stats: statsRecords(stats), anomalies: anomalyRecords(anomalies) },
          lock.run,
        );
      }
    } catch (error) {
      await disconnectQuickly(publisher ?? { disconnect: () => Promise.resolve() });
      throw kafkaError(error, config.brokers, `publishing to "${STATS_TOPIC}"`);
    }
  }
  console.error(
    `consumer: partitions ${config.partitions.join(" ")} from ${describe(states)}; ` +
      `anomalies beyond ${config.anomaly.sigma} standard deviations of ` +
      `${config.anomaly.years}+ earlier years; ` +
      (publishing
        ? `statistics published to "${STATS_TOPIC}"` +
          (anomalyTopic ? `, anomalies to "${ANOMALY_TOPIC}"` : "")
        : `topic "${STATS_TOPIC}" does not exist, statistics not published`),
  );
  const guard = fetchGuard(config.brokers);
  const consumer = kafka.consumer({
    // A group of its own, so the fixed assigner is the only one that decides.
    groupId: `p7-consumer-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
    partitionAssigners: [fixedAssigner(TOPIC, config.partitions)],
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 500,
    // After its group coordinator is lost, a restarted consumer joins as a new member, and the
    // new coordinator waits for the old one's session to expire (30 s by default): the group
    // has no other member, so a short session costs nothing.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    // Every record of a fetch is decoded into objects at once, and they live until its batch
    // is checkpointed: peak RSS over a 1,000,000-day backlog was 612 MB with 4 MiB per
    // partition, 395 MB with 1 MiB, 281 MB with 256 KiB (1 MiB in all) and 190 MB with
    // 128 KiB (512 KiB in all), at about the same rate once batches run concurrently.
    maxBytesPerPartition: 128 * 1024,
    maxBytes: 512 * 1024,
    retry: guard.retry,
  });
  const started = performance.now();
  const totals: Totals = { counted: 0, duplicates: 0, rejected: 0, anomalies: 0 };
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consume(consumer, { guard, publisher }, config, states, totals, stop);
  } catch (error) {
    throw kafkaError(error, config.brokers, `consuming "${TOPIC}"`);
  } finally {
    if (publisher) await disconnectQuickly(publisher);
  }
  const seconds = (performance.now() - started) / 1000;
  console.error(
    `consumer: stopped at offsets ${describe(states)}; ${summary(totals)} in ` +
      `${seconds.toFixed(1)} s`,
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
