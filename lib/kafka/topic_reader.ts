/**
 * Reads topics from positions its caller keeps (a database, for the sink), never from
 * offsets committed to Kafka: every partition of the topics is assigned to the one member of
 * a private group and sought to its position on every join, and batches are handed over one
 * at a time, so a position moves only when the caller has stored what came before it.
 *
 * @module
 */
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { whenAborted } from "../cli.ts";
import { fixedAssigner } from "./consume.ts";
import {
  disconnectQuickly,
  fetchGuard,
  hasTopic,
  kafkaError,
  PROMPT_CONSUMER,
  RUN_HEADER,
  topicOffsets,
} from "./kafka.ts";

/** A record as the caller gets it: key and value as text, and the producer run it is of. */
export interface TextRecord {
  key: string;
  value: string;
  run?: string;
}

/** One partition's records of one fetch, and the position after them. */
export interface TopicBatch {
  topic: string;
  partition: number;
  /** Records with a key and a value; tombstones are left out (their offsets still count). */
  records: TextRecord[];
  /** The next offset to read after this batch. */
  next: number;
}

/** Options of `readTopics`. */
export interface ReadTopicsOptions {
  brokers: string[];
  /** The topics to read; those that do not exist yet are read once they do. */
  topics: string[];
  /** The position of a topic partition (`topic/partition`), 0 when it has none. */
  position(topic: string, partition: number): number;
  /** Called for each batch, one at a time; the next waits for it. */
  onBatch(batch: TopicBatch): Promise<void>;
  /** Stops reading: the batch in hand finishes first. */
  signal: AbortSignal;
  /** How often to look for topics that did not exist. @default 2000 */
  lookEveryMs?: number;
}

/** Each existing topic of `topics` with its partitions. */
async function existing(kafka: Kafka, topics: string[]): Promise<Record<string, number[]>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const found: Record<string, number[]> = {};
    for (const topic of topics) {
      if (!(await hasTopic(admin, topic))) continue;
      found[topic] = (await topicOffsets(admin, topic)).map((p) => p.partition).sort((a, b) =>
        a - b
      );
    }
    return found;
  } finally {
    await disconnectQuickly(admin);
  }
}

/**
 * Reads `topics` until `signal` aborts, from the caller's positions. When a topic appears
 * that did not exist, the reader starts over with it, from the positions as they are then.
 *
 * @throws {P7Error} `BROKER` when Kafka cannot be reached, and whatever `onBatch` throws.
 */
export async function readTopics(kafka: Kafka, options: ReadTopicsOptions): Promise<void> {
  const { brokers, signal } = options;
  const guard = fetchGuard(brokers);
  try {
    while (!signal.aborted) {
      const assignment = await existing(kafka, options.topics);
      const missing = options.topics.filter((topic) => !(topic in assignment));
      const consumer: Consumer = kafka.consumer({
        groupId: `p7-sink-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
        partitionAssigners: [fixedAssigner(assignment)],
        allowAutoTopicCreation: false,
        ...PROMPT_CONSUMER,
        retry: { ...guard.retry, restartOnFailure: () => Promise.resolve(false) },
      });
      const more = new AbortController();
      const look = missing.length === 0 ? undefined : setInterval(async () => {
        try {
          const now = await existing(kafka, missing);
          if (Object.keys(now).length > 0) more.abort();
        } catch {
          // Asked again at the next look; a lost broker is the fetches' to report.
        }
      }, options.lookEveryMs ?? 2000);
      const failed = Promise.withResolvers<never>();
      failed.promise.catch(() => {});
      let failure: unknown;
      const fail = (error: unknown) => {
        failure ??= error;
        failed.reject(error);
      };
      try {
        await consumer.connect();
        const topics = Object.keys(assignment);
        if (topics.length === 0) {
          await Promise.race([whenAborted(signal), whenAborted(more.signal), failed.promise]);
          continue;
        }
        await consumer.subscribe({ topics, fromBeginning: true });
        consumer.on(consumer.events.GROUP_JOIN, () => {
          try {
            for (const [topic, partitions] of Object.entries(assignment)) {
              for (const partition of partitions) {
                const offset = String(options.position(topic, partition));
                consumer.seek({ topic, partition, offset });
              }
            }
          } catch (error) {
            // A join that completes after the consumer crashed: the next one seeks.
            if (!/Consumer group was not initialized/.test((error as Error).message)) fail(error);
          }
        });
        consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
        const unwatch = guard.watch(consumer, fail);
        const eachBatch = async ({ batch }: EachBatchPayload) => {
          if (signal.aborted || more.signal.aborted || failure !== undefined) return;
          const records: TextRecord[] = [];
          for (const message of batch.messages) {
            if (message.key === null || message.value === null) continue;
            const run = message.headers?.[RUN_HEADER];
            records.push({
              key: message.key.toString(),
              value: message.value.toString(),
              run: run === undefined ? undefined : String(run),
            });
          }
          const next = Number(batch.lastOffset()) + 1;
          if (next <= options.position(batch.topic, batch.partition)) return;
          try {
            await options.onBatch({
              topic: batch.topic,
              partition: batch.partition,
              records,
              next,
            });
          } catch (error) {
            fail(error);
          }
        };
        consumer.run({ autoCommit: false, eachBatch }).catch(fail);
        try {
          await Promise.race([whenAborted(signal), whenAborted(more.signal), failed.promise]);
        } catch (error) {
          // A retriable failure (a coordinator still loading on a new broker, a leader moved):
          // a new consumer from the positions as they are now, as the consumers' own restart
          // does, while some fetch completed within the guard's bound.
          if (!guard.restartable(error)) throw error;
        } finally {
          unwatch();
        }
      } finally {
        clearInterval(look);
        await disconnectQuickly(consumer);
      }
    }
  } catch (error) {
    throw kafkaError(error, brokers, `reading ${options.topics.map((t) => `"${t}"`).join(", ")}`);
  }
}
