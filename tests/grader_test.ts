/**
 * The course grader's timeline against the scripts on the test broker (the Docker engine
 * test runs it against the image), and the grader's rules failing where they should.
 */
import assert from "node:assert/strict";
import {
  fileProblems,
  GRADER_DELAY,
  graderDict,
  graderTimeline,
  plotYears,
  timelineLine,
} from "./grader.ts";
import {
  BROKERS,
  run,
  type Running,
  scriptLine,
  spawn,
  spawnInTerminal,
  tempDir,
  waitFor,
} from "./harness.ts";

Deno.test("the grader's rules reject what the course would fail", () => {
  const entry = { count: 3, sum: 90, avg: 30, start: "1990-01-01", end: "1990-01-03" };
  const good = [0, 1, 2, 3].map((partition) => ({
    partition,
    offset: 3,
    ...Object.fromEntries(
      [
        ["January", "February", "March"],
        ["April", "May", "June"],
        ["July", "August", "September"],
        ["October", "November", "December"],
      ][partition]!.map((month, i) => {
        const mm = String(partition * 3 + i + 1).padStart(2, "0");
        return [month, { 1990: { ...entry, start: `1990-${mm}-01`, end: `1990-${mm}-03` } }];
      }),
    ),
  }));
  assert.deepEqual(fileProblems(good), []);
  const broken = structuredClone(good) as Record<string, unknown>[];
  broken[0]!.offset = 0;
  broken[1]!.extra = {};
  (broken[2]!.July as Record<string, { count: number }>)[1990]!.count = 2;
  delete broken[3]!.December;
  assert.deepEqual(fileProblems(broken), [
    "partition-0.json: offset is 0",
    'partition-1.json: top-level key "extra" is not a month',
    "partition-2.json July 1990: count 2, 3 days from start to end",
    "partition-2.json July 1990: count 2, end 1990-07-03",
    "11 months, not 12",
  ]);

  assert.deepEqual(
    graderDict("{'partition': 2, 'key': 'May', 'date': '1990-05-01', 'degrees': 61.5}\r\n"),
    {
      partition: 2,
      key: "May",
      date: "1990-05-01",
      degrees: 61.5,
    },
  );
  assert.throws(
    () => graderDict(`debug: reading "temperatures"\n{'partition': 2}\n`),
    /debug's first line is not a message dict: "debug: reading \\"temperatures\\""/,
  );
  assert.deepEqual(plotYears("<text>January-1999</text><text>March-2001</text>February-2000"), [
    1999,
    2000,
    2001,
  ]);
});

Deno.test("the grader's timeline passes against the scripts, at 0.01 s a day", async () => {
  const files = await tempDir();
  const env = { AUTOGRADER_DELAY_OVERRIDE_VAL: GRADER_DELAY, P7_FILES: files };
  const running: Running[] = [];
  try {
    const timeline = await graderTimeline({
      brokers: BROKERS,
      files,
      producer: () => {
        running.push(spawn("producer.ts", [], { env }));
        return Promise.resolve();
      },
      debug: async () => {
        const terminal = spawnInTerminal(scriptLine("debug.ts"));
        await waitFor("debug's first line", () => terminal.stdout().includes("\n"), 30_000);
        await terminal.stop("SIGTERM");
        return terminal.stdout();
      },
      consumer: () => {
        running.push(spawn("consumer.ts", ["0", "1", "2", "3"], { env }));
        return Promise.resolve();
      },
      plot: async () => {
        const { code, stderr } = await run("plot.ts", [], { env });
        assert.equal(code, 0, stderr);
      },
    });
    console.log(timelineLine("scripts", timeline));
    for (const process of running) {
      const { code, stderr } = await process.stop("SIGINT");
      assert.equal(code, 0, stderr);
    }
  } finally {
    for (const process of running) await process.stop("SIGKILL");
    await Deno.remove(files, { recursive: true });
  }
});
