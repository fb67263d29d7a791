/**
 * The course's grading script, as a timeline of checks that any way of running p7 (the
 * scripts, or the Docker image) must pass: the grader starts the producer with
 * AUTOGRADER_DELAY_OVERRIDE_VAL=0.01, finds the topic, reads keys from the earliest offset,
 * parses the first line debug shows in a terminal, starts `consumer 0 1 2 3` on an empty
 * folder, checks the four files, and wants plot's years to advance within 5 s.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MONTH_NAMES, testKafka, waitFor } from "./harness.ts";

/** The grader's pace: seconds per simulated day. */
export const GRADER_DELAY = "0.01";

/** How the timeline runs p7's commands; each way of running p7 has one. */
export interface Course {
  /** The brokers, as the host reaches them. */
  brokers: string;
  /** The host folder the consumer writes to, empty at the start. */
  files: string;
  /** Starts `producer` with no flags, detached; AUTOGRADER_DELAY_OVERRIDE_VAL is set. */
  producer(): Promise<void>;
  /** Runs `debug` in a terminal until it shows a line, stops it, returns what it showed. */
  debug(): Promise<string>;
  /** Starts `consumer 0 1 2 3`, detached. */
  consumer(): Promise<void>;
  /** Runs `plot` to the end (it writes `month.svg` in the files folder). */
  plot(): Promise<void>;
}

/** What the timeline measured, for the test's log line. */
export interface Timeline {
  /** Milliseconds from the producer's start to the topic with 4 partitions. */
  topicMs: number;
  /** Milliseconds from the consumer's start to four files that pass every rule. */
  filesMs: number;
  /** The plotted years of January, February and March, then 5 s later. */
  years: [number[], number[]];
  /** debug's first line, as the grader read it. */
  firstLine: Record<string, unknown>;
}

/** The first line of a terminal's output as the grader reads it: `'` → `"`, then JSON. */
export function graderDict(shown: string): Record<string, unknown> {
  const first = shown.replace(/^[\r\n]+/, "").split(/\r?\n/)[0]!;
  try {
    return JSON.parse(first.replaceAll("'", '"'));
  } catch {
    throw new Error(`debug's first line is not a message dict: ${JSON.stringify(first)}`);
  }
}

interface Entry {
  count: number;
  sum: number;
  avg: number;
  start: string;
  end: string;
}

/** Every rule the grader applies to the four partition files; empty when all hold. */
export function fileProblems(files: unknown[]): string[] {
  const problems: string[] = [];
  const months = new Set<string>();
  files.forEach((file, index) => {
    const where = `partition-${index}.json`;
    if (typeof file !== "object" || file === null) return problems.push(`${where}: not an object`);
    const { partition, offset, ...rest } = file as Record<string, unknown>;
    if (partition !== index) problems.push(`${where}: partition is ${partition}`);
    if (!Number.isInteger(offset) || (offset as number) <= 0) {
      problems.push(`${where}: offset is ${offset}`);
    }
    for (const [month, years] of Object.entries(rest)) {
      const monthIndex = MONTH_NAMES.indexOf(month);
      if (monthIndex < 0) {
        problems.push(`${where}: top-level key "${month}" is not a month`);
        continue;
      }
      months.add(month);
      for (const [year, value] of Object.entries(years as Record<string, Entry>)) {
        const { count, sum, avg, start, end } = value;
        const at = `${where} ${month} ${year}`;
        if (![count, sum, avg].every(Number.isFinite)) problems.push(`${at}: not numbers`);
        const prefix = `${year}-${String(monthIndex + 1).padStart(2, "0")}-`;
        if (!start?.startsWith(prefix) || !end?.startsWith(prefix)) {
          problems.push(`${at}: start ${start} or end ${end} outside the month`);
          continue;
        }
        const days = (Date.parse(end) - Date.parse(start)) / 86_400_000 + 1;
        if (count > 31) problems.push(`${at}: count ${count} > 31`);
        if (avg > 1000) problems.push(`${at}: avg ${avg} > 1000`);
        if (count !== days) problems.push(`${at}: count ${count}, ${days} days from start to end`);
        if (count !== Number(end.slice(8))) problems.push(`${at}: count ${count}, end ${end}`);
      }
    }
  });
  if (months.size !== 12) problems.push(`${months.size} months, not 12`);
  return problems;
}

/** The years month.svg shows for January, February and March, in that order. */
export function plotYears(svg: string): number[] {
  return ["January", "February", "March"].map((month) => {
    const match = new RegExp(`${month}-(\\d{4})`).exec(svg);
    assert.ok(match, `month.svg has no ${month}-YEAR label`);
    return Number(match[1]);
  });
}

async function readFiles(dir: string): Promise<unknown[] | undefined> {
  try {
    return await Promise.all(
      [0, 1, 2, 3].map(async (p) =>
        JSON.parse(await Deno.readTextFile(join(dir, `partition-${p}.json`)))
      ),
    );
  } catch {
    return undefined; // not all written yet, or caught mid-rename
  }
}

/** Runs the grader's timeline against `course`; throws at the first rule that fails. */
export async function graderTimeline(course: Course): Promise<Timeline> {
  const kafka = testKafka("p7-grader", course.brokers);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const started = Date.now();
    await course.producer();
    await waitFor("the producer to create temperatures with 4 partitions", async () => {
      const topics = await admin.fetchTopicMetadata().catch(() => ({ topics: [] }));
      const topic = topics.topics.find((t) => t.name === "temperatures");
      return topic?.partitions.length === 4;
    }, 60_000);
    const topicMs = Date.now() - started;

    // Keys from the earliest offset: only month names.
    const consumer = kafka.consumer({ groupId: `p7-grader-${crypto.randomUUID()}` });
    const keys: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: ["temperatures"], fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          keys.push(message.key?.toString() ?? "");
          return Promise.resolve();
        },
      });
      await waitFor("40 records from the earliest offset", () => keys.length >= 40, 30_000);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(keys.filter((key) => !MONTH_NAMES.includes(key)), []);

    const firstLine = graderDict(await course.debug());
    assert.deepEqual(Object.keys(firstLine), ["partition", "key", "date", "degrees"]);

    const consumerStarted = Date.now();
    await course.consumer();
    let problems: string[] = [];
    await waitFor("four partition files that pass the grader's rules", async () => {
      const files = await readFiles(course.files);
      problems = files ? fileProblems(files) : ["not four files yet"];
      return problems.length === 0;
    }, 60_000).catch((error) => {
      throw new Error(`${error.message}: ${problems.slice(0, 5).join("; ")}`);
    });
    const filesMs = Date.now() - consumerStarted;

    const svg = join(course.files, "month.svg");
    await course.plot();
    const before = plotYears(await Deno.readTextFile(svg));
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await course.plot();
    const after = plotYears(await Deno.readTextFile(svg));
    assert.ok(
      after.every((year, i) => year > before[i]!),
      `plot's years did not advance in 5 s: ${before} then ${after}`,
    );
    return { topicMs, filesMs, years: [before, after], firstLine };
  } finally {
    await admin.disconnect();
  }
}

/** The timeline's one-line report. */
export function timelineLine(what: string, t: Timeline): string {
  return `grader (${what}): topic in ${(t.topicMs / 1000).toFixed(1)} s, four valid files ` +
    `${(t.filesMs / 1000).toFixed(1)} s after the consumer started, plot's Jan/Feb/Mar years ` +
    `${t.years[0].join("/")} then ${t.years[1].join("/")} 5 s later`;
}
