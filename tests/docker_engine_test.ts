/**
 * The image in a real Docker engine, run as a user types the README's commands: built with
 * `docker build . -t p7` (stand-in Debian bases and `BINARIES=launchers`, since no image
 * registry answers and `deno compile` cannot download `denort`: the one substitution), run,
 * fed, read, plotted, stopped and started again; then the course grader's timeline against a
 * container, and the pipeline with `docker compose`. Without an engine it prints
 * `skipped: why`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildImage,
  clientVersion,
  docker,
  dockerOk,
  dockerSpawn,
  type Engine,
  engineMissing,
  filesVolume,
  signalIn,
  since,
  startEngine,
  waitHealthy,
} from "./engine.ts";
import {
  fileProblems,
  GRADER_DELAY,
  graderDict,
  graderTimeline,
  plotYears,
  timelineLine,
} from "./grader.ts";
import {
  MONTH_NAMES,
  monthCounts,
  readAll,
  recompute,
  ROOT,
  type Running,
  tempDir,
  waitCaughtUp,
  waitFor,
  waitOffsets,
} from "./harness.ts";

/** The grader's container shares the host's network, on a port of the tests' own. */
const GRADER_PORT = Number(Deno.env.get("P7_TEST_PORT") ?? 39092) + 300;

const missing = await engineMissing();
const composeMissing = missing ??
  ((await docker(["compose", "version"])).code === 0
    ? undefined
    : "no Docker Compose v2 plugin (scripts/setup.sh builds it)");
if (missing) console.log(`skipped: ${missing}`);
else if (composeMissing) console.log(`skipped: ${composeMissing}`);

/** The engine, started by the first test that needs it and stopped by the last. */
let engine: Promise<Engine> | undefined;
let users = (missing ? 0 : 2) + (composeMissing ? 0 : 3);
function useEngine(): Promise<Engine> {
  return engine ??= startEngine();
}
async function releaseEngine(): Promise<void> {
  if (--users === 0 && engine) await (await engine).stop();
}

/** Runs `docker ARGS` as a step of the log: the command, its outcome and its time. */
async function step(args: string[], cwd?: string): Promise<string> {
  const started = Date.now();
  const stdout = await dockerOk(args, cwd);
  console.log(`docker ${args.join(" ")}: ok in ${since(started)}`);
  return stdout;
}

/**
 * Runs `docker exec -t NAME ./debug` until the terminal shows a line; returns what it showed.
 * Until the producer has made the topic, debug says it does not exist: then it runs again,
 * as a user would.
 */
async function debugInTerminal(name: string): Promise<string> {
  return await waitFor("debug's first message", async () => {
    const terminal = dockerSpawn(["exec", "-t", name, "./debug"]);
    await waitFor("debug's first line", () => terminal.stdout().includes("\n"), 30_000);
    if (/^error: topic "temperatures" does not exist/.test(terminal.stdout())) {
      assert.equal((await terminal.done).code, 1);
      return undefined;
    }
    assert.equal(await signalIn(name, /debug\.ts/, "SIGINT"), 1, "one debug process");
    const { code } = await terminal.done;
    assert.equal(code, 0, terminal.stdout());
    return terminal.stdout();
  }, 60_000);
}

async function removeContainer(name: string): Promise<void> {
  await docker(["rm", "-f", name]);
}

Deno.test({
  name: "the image in a real engine: build, run, producer, debug, consumers, plot, stop, start",
  ignore: missing !== undefined,
  fn: async () => {
    const { bridge } = await useEngine();
    const dir = await tempDir();
    const files = join(dir, "files");
    await Deno.mkdir(files);
    const attached: Running[] = [];
    try {
      for (const line of await buildImage()) console.log(line);

      // The README's commands as written; this engine gives the container its own loopback
      // only (an engine with a bridge is told so, to keep off private-range addresses).
      await removeContainer("p7");
      const isolate = bridge ? ["--network", "none"] : [];
      const volume = await filesVolume(dir);
      console.log(`docker client ${await clientVersion()}: -v ${volume}`);
      await step(["run", "-d", "-v", volume, ...isolate, "--name=p7", "p7"], dir);
      console.log(`healthy after ${(await waitHealthy("p7")).toFixed(1)} s`);
      await step(["exec", "-d", "p7", "./producer"]);

      let started = Date.now();
      const shown = await debugInTerminal("p7");
      const first = graderDict(shown);
      assert.match(String(first.date), /^1990-\d\d-\d\d$/);
      assert.ok(MONTH_NAMES.includes(String(first.key)), shown);
      console.log(
        `docker exec -t p7 ./debug: first line ${shown.split("\n")[0]!.trim()} in ${
          since(started)
        }`,
      );

      started = Date.now();
      attached.push(dockerSpawn(["exec", "p7", "./consumer", "0", "2"]));
      attached.push(dockerSpawn(["exec", "p7", "./consumer", "1", "3"]));
      await waitOffsets(
        files,
        "every partition file past offset 20",
        (o) => o.every((x) => x > 20),
      );
      console.log(`docker exec p7 ./consumer 0 2 and 1 3: four files in ${since(started)}`);
      const plot = await step(["exec", "p7", "./plot"]);
      assert.equal(plot, "");
      const svg = await Deno.readTextFile(join(files, "month.svg"));
      assert.deepEqual(plotYears(svg), [1990, 1990, 1990]);
      // At 0.1 s a day the twelve months take 37 s; every other rule holds already.
      const problems = fileProblems(await readAll(files)).filter((p) => !/months, not 12/.test(p));
      assert.deepEqual(problems, []);

      started = Date.now();
      await step(["stop", "p7"]);
      assert.ok(Date.now() - started < 30_000, `docker stop took ${since(started)}`);
      for (const client of attached) await client.done;
      const offsets = (await readAll(files)).map((file) => file.offset as number);
      await step(["start", "p7"]);
      await waitHealthy("p7");
      // The consumer goes on exactly where its files say.
      const again = dockerSpawn(["exec", "p7", "./consumer", "0", "2"]);
      attached.push(again);
      const resumed = `consumer: partitions 0 2 from 0@${offsets[0]} 2@${offsets[2]}`;
      await waitFor(`"${resumed}"`, () => again.stderr().includes(resumed), 30_000);
      assert.equal(await signalIn("p7", /consumer\.ts/, "SIGINT"), 1);
      const stopped = await again.done;
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /consumer: stopped at offsets 0@\d+ 2@\d+; \d+ counted/);
      console.log(`docker start p7; docker exec p7 ./consumer 0 2: ${resumed.slice(10)}`);
    } finally {
      await removeContainer("p7");
      for (const client of attached) await client.stop("SIGKILL");
      await Deno.remove(dir, { recursive: true });
      await releaseEngine();
    }
  },
});

Deno.test({
  name:
    "the grader's timeline against the image at 0.01 s a day; after stop and start the files equal the topic",
  ignore: missing !== undefined,
  fn: async () => {
    await useEngine();
    await buildImage();
    const dir = await tempDir();
    const files = join(dir, "files");
    await Deno.mkdir(files);
    const brokers = `127.0.0.1:${GRADER_PORT}`;
    const name = "p7-grader";
    try {
      await removeContainer(name);
      // The grader's environment; the host network so that this test reads the topic.
      const env = [
        `AUTOGRADER_DELAY_OVERRIDE_VAL=${GRADER_DELAY}`,
        `KAFKA_PORT=${GRADER_PORT}`,
        "KAFKA_HOST=127.0.0.1",
        `KAFKA_BROKERS=${brokers}`,
      ].flatMap((pair) => ["-e", pair]);
      await step([
        "run",
        "-d",
        "--network",
        "host",
        ...env,
        "-v",
        await filesVolume(dir),
        `--name=${name}`,
        "p7",
      ], dir);
      await waitHealthy(name);
      const timeline = await graderTimeline({
        brokers,
        files,
        producer: async () => void await dockerOk(["exec", "-d", name, "./producer"]),
        debug: () => debugInTerminal(name),
        consumer: async () =>
          void await dockerOk(["exec", "-d", name, "./consumer", "0", "1", "2", "3"]),
        plot: async () => void await dockerOk(["exec", name, "./plot"]),
      });
      console.log(timelineLine("image", timeline));

      // Every process but the broker dies with the container (as kill -9 would end them).
      await step(["stop", name]);
      await step(["start", name]);
      await waitHealthy(name);
      await dockerOk(["exec", "-d", name, "./consumer", "0", "1", "2", "3"]);
      await waitCaughtUp(files, [0, 1, 2, 3], 60_000, brokers);
      const counted = await readAll(files);
      assert.deepEqual(counted, await recompute("temperatures", brokers));
      const days = counted.reduce((sum, file) => sum + (file.offset as number), 0);
      console.log(
        `after docker stop/start: four files equal the topic's ${days} records recomputed`,
      );
    } finally {
      await removeContainer(name);
      await Deno.remove(dir, { recursive: true });
      await releaseEngine();
    }
  },
});

/**
 * Runs `body` with `docker compose -f FILE -f OVERRIDE [--profile P…]` on a project folder of its own (its
 * `files/` on the host), then checks that the project made no network and that `down -v`
 * removes every container.
 */
async function withCompose(
  file: string,
  override: string,
  body: (compose: string[], files: string) => Promise<void>,
  profiles: string[] = [],
): Promise<void> {
  await useEngine();
  await buildImage();
  const dir = await tempDir();
  const files = join(dir, "files");
  await Deno.mkdir(files);
  const compose = ["compose", "-f", join(ROOT, file), "-f", join(ROOT, override)];
  compose.push("--project-directory", dir, ...profiles.flatMap((p) => ["--profile", p]));
  const networks = await dockerOk(["network", "ls", "--format", "{{.Name}}"]);
  try {
    await body(compose, files);
    assert.equal(await dockerOk(["network", "ls", "--format", "{{.Name}}"]), networks);
    const started = Date.now();
    await dockerOk([...compose, "down", "-v"]);
    console.log(`docker compose -f ${file} down -v: ok in ${since(started)}`);
    // A node whose peers stop with it may wait out its stop_grace_period (30 s).
    assert.ok(Date.now() - started < 60_000, `docker compose down took ${since(started)}`);
    assert.equal(await dockerOk([...compose, "ps", "-a", "-q"]), "");
  } finally {
    await docker([...compose, "down", "-v", "--timeout", "1"]);
    await Deno.remove(dir, { recursive: true });
    await releaseEngine();
  }
}

/**
 * `up -d` on the image `buildImage` made: compose would otherwise pull it, or build it from
 * the project folder, which holds no Dockerfile.
 */
const UP = ["up", "-d", "--no-build", "--pull", "never"];

/** `docker compose … ps`: each service and its state, sorted. */
async function composeStates(compose: string[]): Promise<string[]> {
  const services = await dockerOk([...compose, "ps", "--format", "{{.Service}} {{.State}}"]);
  return services.trim().split("\n").sort();
}

/** Runs `docker compose … ARGS`, logged with the compose file's name only. */
async function composeStep(compose: string[], args: string[]): Promise<string> {
  const started = Date.now();
  const stdout = await dockerOk([...compose, ...args]);
  console.log(
    `docker compose -f ${compose[2]!.slice(ROOT.length)} ${args.join(" ")}: ok in ${
      since(started)
    }`,
  );
  return stdout;
}

Deno.test({
  name: "docker compose up -d runs the pipeline from compose.yaml, docker compose down ends it",
  ignore: composeMissing !== undefined,
  fn: () =>
    withCompose("compose.yaml", "tests/compose.test.yaml", async (compose, files) => {
      await composeStep(compose, UP);
      await waitOffsets(
        files,
        "every partition file past offset 10",
        (o) => o.every((x) => x > 10),
      );
      assert.equal(await composeStep(compose, ["exec", "broker", "./plot"]), "");
      assert.deepEqual(plotYears(await Deno.readTextFile(join(files, "month.svg"))), [
        1990,
        1990,
        1990,
      ]);
      assert.deepEqual(await composeStates(compose), [
        "broker running",
        "consumer-0-2 running",
        "consumer-1-3 running",
        "producer running",
      ]);
    }),
});

Deno.test({
  name: "docker compose --profile db: the sink feeds PostgreSQL what the consumers count",
  ignore: composeMissing !== undefined,
  fn: () =>
    withCompose("compose.yaml", "tests/compose.test.yaml", async (db, files) => {
      await composeStep(db, UP);
      await waitOffsets(
        files,
        "every partition file past offset 10",
        (o) => o.every((x) => x > 10),
      );
      // With the producer stopped, the consumers and then the sink catch up: each month of
      // the files is then a row in PostgreSQL, read by psql in its container.
      await composeStep(db, ["stop", "producer"]);
      const months = async () => monthCounts(await readAll(files)).join(" ");
      let rows = "";
      await waitFor("PostgreSQL to hold every month of the files", async () => {
        rows = (await dockerOk([
          ...db,
          "exec",
          "-T",
          "postgres",
          "psql",
          "-U",
          "p7",
          "-d",
          "p7",
          "-Atc",
          "SELECT month || '-' || year || ':' || count FROM month_stats ORDER BY 1",
        ]).catch(() => "")).trim().split("\n").sort().join(" ");
        return rows !== "" && rows === await months();
      }, 60_000);
      console.log(`compose --profile db: month_stats in PostgreSQL = the files (${rows})`);
      assert.deepEqual(await composeStates(db), [
        "broker running",
        "consumer-0-2 running",
        "consumer-1-3 running",
        "postgres running",
        "sink running",
      ]);
    }, ["db"]),
});

Deno.test({
  name:
    "compose.cluster.yaml: three nodes and the pipeline on RF 3; a node killed, the pipeline goes on",
  ignore: composeMissing !== undefined,
  fn: () =>
    withCompose(
      "compose.cluster.yaml",
      "tests/compose.cluster.test.yaml",
      async (compose, files) => {
        await composeStep(compose, UP);
        const counted = (o: number[]) => o.reduce((a, b) => a + b, 0);
        let before = 0;
        await waitOffsets(files, "every partition file past offset 10", (o) => {
          before = counted(o);
          return o.every((x) => x > 10);
        });
        const logs = await dockerOk([...compose, "logs", "producer"]);
        assert.match(logs, /replication factor 3, 2 in sync for a write/);
        await composeStep(compose, ["kill", "node-2"]);
        // At 0.1 s a day, 40 more days: the producer and both consumers rode through.
        await waitOffsets(files, "40 more days counted with node-2 down", (o) =>
          counted(o) > before + 40);
        await composeStep(compose, ["start", "node-2"]);
        assert.equal(await composeStep(compose, ["exec", "node-1", "./plot"]), "");
        assert.deepEqual(await composeStates(compose), [
          "consumer-0-2 running",
          "consumer-1-3 running",
          "node-1 running",
          "node-2 running",
          "node-3 running",
          "producer running",
        ]);
      },
    ),
});
