/**
 * The Docker image, checked without a Docker engine. Every command the Dockerfile runs is
 * one of the four below, and this file runs each of them the same way: fetching the jars,
 * compiling (when `denort` can be downloaded), and the broker in the foreground with the
 * image's environment, against which the compose.yaml commands and the README's
 * `docker exec` commands run the pipeline. What is left to a Docker build: the base images
 * and, without `denort`, `deno compile` itself.
 */
import assert from "node:assert/strict";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { consumerConfig, sinkConfig } from "../lib/args.ts";
import { compileSteps } from "../lib/launchers.ts";
import { createKafka, PARTITIONS, TOPIC, topicOffsets } from "../lib/kafka/kafka.ts";
import { type Output, ROOT, type Running, spawnCommand, waitFor } from "./harness.ts";

/** The only commands the Dockerfile may run; each is run verbatim below. */
const FETCH = "bash kafka/kafka.sh fetch";
const COMPILE = "./p7 compile";
const LAUNCHERS = "./p7 launchers";
/** The Deno stage's one command: the binaries that the build argument BINARIES names. */
const BINARIES =
  `case "$BINARIES" in compiled) ${COMPILE} ;; launchers) ${LAUNCHERS} ;; *) echo "error: BINARIES is compiled or launchers, not \\"$BINARIES\\"" >&2; exit 2 ;; esac`;
const BROKER = "bash kafka/kafka.sh run";
const STATUS = "bash kafka/kafka.sh status";

const PORT = Number(Deno.env.get("P7_TEST_PORT") ?? 39092) + 200;
const SKIP_COMPILE = "skipped: deno compile needs denort (not reachable)";

const decoder = new TextDecoder();
const read = (path: string) => Deno.readTextFile(join(ROOT, path));

/** One Dockerfile instruction, continuation lines joined, with the stage it belongs to. */
interface Instruction {
  stage: string;
  keyword: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[] {
  const joined = text.split("\n").filter((line) => !/^\s*#/.test(line)).join("\n")
    .replace(/\\\n/g, " ");
  const instructions: Instruction[] = [];
  let stage = "";
  for (const line of joined.split("\n")) {
    if (line.trim() === "") continue;
    const match = /^([A-Za-z]+)\s+(.*?)\s*$/.exec(line);
    assert.ok(match, `unreadable Dockerfile line: ${line}`);
    const keyword = match[1]!.toUpperCase();
    if (keyword === "FROM") stage = /\sAS\s+(\S+)$/i.exec(match[2]!)?.[1] ?? "final";
    instructions.push({ stage, keyword, args: match[2]! });
  }
  return instructions;
}

/** The command of a RUN, CMD or HEALTHCHECK, exec form or shell form, as one line. */
function commandOf({ keyword, args }: Instruction): string {
  const command = keyword === "HEALTHCHECK" ? args.replace(/^(--\S+\s+)*CMD\s+/, "") : args;
  return command.startsWith("[") ? (JSON.parse(command) as string[]).join(" ") : command;
}

function stageEnv(instructions: Instruction[], stage: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions.filter((i) => i.stage === stage && i.keyword === "ENV")) {
    for (const pair of args.split(/\s+/)) {
      const [name, value] = pair.split(/=(.*)/);
      assert.ok(name && value !== undefined, `ENV ${args}: write NAME=VALUE pairs`);
      env[name] = value;
    }
  }
  return env;
}

/** A COPY: its sources (repo paths, or paths in stage `from`) and its destination. */
interface Copy {
  stage: string;
  from?: string;
  sources: string[];
  dest: string;
}

function copies(instructions: Instruction[]): Copy[] {
  return instructions.filter((i) => i.keyword === "COPY").map(({ stage, args }) => {
    const words = args.split(/\s+/);
    const from = words.find((word) => word.startsWith("--from="))?.slice("--from=".length);
    const paths = words.filter((word) => !word.startsWith("--"));
    return { stage, from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
  });
}

/** Where a repo file lands, relative to the stage's WORKDIR, or undefined if not copied. */
function copiedTo(stageCopies: Copy[], file: string): string | undefined {
  for (const { from, sources, dest } of stageCopies) {
    if (from !== undefined) continue;
    const dir = dest.endsWith("/") ? dest : `${dest}/`;
    for (const source of sources.map(normal)) {
      if (source === file) return normal(dest.endsWith("/") ? dir + basename(file) : dest);
      if (source.endsWith("/") && file.startsWith(source)) {
        return normal(dir + file.slice(source.length));
      }
    }
  }
}

function normal(path: string): string {
  return path.replace(/^\.\//, "");
}

function isRepoFile(path: string): boolean {
  try {
    return Deno.statSync(join(ROOT, path)).isFile;
  } catch {
    return false;
  }
}

/** compose.yaml's services in order, each with its command (undefined: the image's CMD). */
function composeServices(text: string): Map<string, string[] | undefined> {
  const lines = text.slice(text.search(/^services:$/m)).split("\n").slice(1);
  const services = new Map<string, string[] | undefined>();
  let current = "";
  for (let i = 0; i < lines.length; i++) {
    const service = /^ {2}([\w-]+):\s*$/.exec(lines[i]!);
    if (service) services.set(current = service[1]!, undefined);
    const command = /^ {4}command:\s*(.*)$/.exec(lines[i]!);
    if (!command) continue;
    let flow = command[1]!;
    while (!flow.trimEnd().endsWith("]") && i + 1 < lines.length) flow += lines[++i];
    // Compose reads `$$` as a literal `$`.
    services.set(
      current,
      JSON.parse(flow.replace(/,\s*\]\s*$/, "]")).map((arg: string) => arg.replaceAll("$$", "$")),
    );
  }
  return services;
}

/** Tries `deno compile` on an empty module; false only when it failed for want of denort. */
async function denortAvailable(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "p7-denort-" });
  try {
    await Deno.writeTextFile(join(dir, "probe.ts"), "export {};\n");
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["compile", "--no-check", "--output", join(dir, "probe"), join(dir, "probe.ts")],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    return success || !decoder.decode(stderr).includes("denort");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const canCompile = await denortAvailable();
if (!canCompile) console.log(SKIP_COMPILE);

const dockerfile = parseDockerfile(await read("Dockerfile"));
const allCopies = copies(dockerfile);
const finalEnv = stageEnv(dockerfile, "final");
const steps = compileSteps(JSON.parse(await read("deno.json")).tasks.compile);
const compose = composeServices(await read("compose.yaml"));

Deno.test("the Dockerfile copies files that exist and that .dockerignore keeps", async () => {
  const ignored = (await read(".dockerignore")).split("\n").map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#")).map((pattern) => {
      assert.doesNotMatch(pattern, /[*?[!]/, `this test reads plain paths only: ${pattern}`);
      return pattern.replace(/^\//, "").replace(/\/$/, "");
    });
  const stages = dockerfile.filter((i) => i.keyword === "FROM").map((i) => i.stage);
  assert.deepEqual(stages, ["kafka", "deno", "final"]);
  for (const { stage, from, sources } of allCopies) {
    if (from !== undefined) {
      const earlier = stages.slice(0, stages.indexOf(stage));
      assert.ok(earlier.includes(from), `stage ${stage} copies from ${from}, no earlier stage`);
      continue;
    }
    for (const source of sources.map(normal)) {
      await Deno.stat(join(ROOT, source)); // throws NotFound for a missing file
      const path = source.replace(/\/$/, "");
      const rule = ignored.find((p) => path === p || path.startsWith(`${p}/`));
      assert.equal(rule, undefined, `.dockerignore drops ${source}, which the Dockerfile copies`);
    }
  }
});

Deno.test("the Dockerfile runs only commands this file runs, on files its stage copied", () => {
  const commands = dockerfile.filter((i) => ["RUN", "CMD", "HEALTHCHECK"].includes(i.keyword))
    .map((i) => ({ stage: i.stage, keyword: i.keyword, command: commandOf(i) }));
  assert.deepEqual(commands, [
    { stage: "kafka", keyword: "RUN", command: FETCH },
    { stage: "deno", keyword: "RUN", command: BINARIES },
    { stage: "final", keyword: "HEALTHCHECK", command: STATUS },
    { stage: "final", keyword: "CMD", command: BROKER },
  ]);
  for (const { stage, command } of commands) {
    const stageCopies = allCopies.filter((c) => c.stage === stage);
    for (const file of command.split(" ").map(normal).filter(isRepoFile)) {
      assert.equal(copiedTo(stageCopies, file), file, `stage ${stage} runs ${file}`);
      // kafka.sh reads the Kafka version from the pom.xml beside it.
      if (file === "kafka/kafka.sh") {
        assert.equal(copiedTo(stageCopies, "kafka/pom.xml"), "kafka/pom.xml");
      }
    }
  }
  // The jars land where kafka.sh looks for them: P7_KAFKA_HOME/jars/VERSION.
  const jars = allCopies.find((c) => c.from === "kafka")!;
  assert.deepEqual(jars.sources, [`${stageEnv(dockerfile, "kafka").P7_KAFKA_HOME}/jars`]);
  assert.equal(jars.dest, `${finalEnv.P7_KAFKA_HOME}/jars`);
  const binaries = allCopies.find((c) => c.from === "deno")!;
  const denoWorkdir = dockerfile.find((i) => i.stage === "deno" && i.keyword === "WORKDIR")!;
  assert.deepEqual(binaries.sources, [`${denoWorkdir.args}/dist/`]);
  assert.equal(binaries.dest, "./");
  const { P7_KAFKA_HOME: _, P7_KAFKA_STATE: __, ...settings } = finalEnv;
  assert.deepEqual(settings, {
    KAFKA_HOST: "0.0.0.0",
    KAFKA_BROKERS: "localhost:9092",
    P7_FILES: "/files",
  });
  assert.ok(dockerfile.some((i) => i.keyword === "EXPOSE" && i.args === "9092"));
});

Deno.test("BINARIES picks ./p7 compile or ./p7 launchers; anything else is a one-line error", async () => {
  const echoed = BINARIES.replaceAll("./p7 ", "echo ");
  for (const [value, task] of [["compiled", "compile"], ["launchers", "launchers"]]) {
    const { code, stdout } = await runLine(["bash", "-c", echoed], ROOT, { BINARIES: value! });
    assert.deepEqual([code, stdout], [0, `${task}\n`]);
  }
  const wrong = await runLine(["bash", "-c", echoed], ROOT, { BINARIES: "static" });
  assert.deepEqual([wrong.code, wrong.stdout, wrong.stderr], [
    2,
    "",
    'error: BINARIES is compiled or launchers, not "static"\n',
  ]);
});

Deno.test("deno task compile builds each entry script with --frozen and its shebang's flags", async () => {
  assert.deepEqual(steps.map((s) => s.name), ["producer", "debug", "consumer", "plot", "sink"]);
  const denoStage = allCopies.filter((c) => c.stage === "deno");
  for (const { name, flags } of steps) {
    const shebang = (await read(`${name}.ts`)).split("\n")[0]!;
    const allowed = /^#!\/usr\/bin\/env -S deno run (.*)$/.exec(shebang);
    assert.ok(allowed, `${name}.ts starts with a "deno run" shebang`);
    assert.deepEqual([...flags].sort(), ["--frozen", ...allowed[1]!.split(" ")].sort(), name);
    // Everything the compiler reads is in the Deno stage, at the same place.
    const { stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", `${name}.ts`],
      cwd: ROOT,
    }).output();
    const modules = JSON.parse(decoder.decode(stdout)).modules as { specifier: string }[];
    const files = modules.filter((m) => m.specifier.startsWith("file:"))
      .map((m) => relative(ROOT, fileURLToPath(m.specifier)));
    assert.ok(files.includes(`${name}.ts`) && files.length > 3, `deno info ${name}.ts`);
    const tools = ["p7", "tools/package.json", "tools/package-lock.json"];
    for (const file of [...files, "deno.json", "deno.lock", ...tools]) {
      assert.equal(copiedTo(denoStage, file), file, `the Deno stage needs ${file}`);
    }
  }
});

Deno.test("compose.yaml runs the image's binaries: producer, consumers 0 2 and 1 3, sink", async () => {
  assert.deepEqual([...compose.keys()], [
    "broker",
    "producer",
    "consumer-0-2",
    "consumer-1-3",
    "postgres",
    "sink",
  ]);
  assert.equal(compose.get("broker"), undefined, "the broker runs the image's CMD");
  assert.equal(compose.get("postgres"), undefined, "PostgreSQL runs its image's CMD");
  const names = steps.map((s) => s.name);
  for (const [service, command] of [...compose].filter(([, command]) => command !== undefined)) {
    const started = [...command!.join(" ").matchAll(/(?:^|\s)\.\/(\w+)/g)].map((m) => m[1]);
    assert.equal(started.length, 1, `${service} starts one binary`);
    assert.ok(names.includes(started[0]!), `${service}: the image has no ./${started[0]}`);
  }
  const partitions = ["consumer-0-2", "consumer-1-3"].map((service) => {
    const config = consumerConfig(compose.get(service)!.slice(1), {});
    assert.equal(config.kind, "consumer");
    return config.kind === "consumer" ? config.partitions : [];
  });
  assert.deepEqual(partitions, [[0, 2], [1, 3]]);
  assert.equal(partitions.flat().length, PARTITIONS);
  const sink = sinkConfig(compose.get("sink")!.slice(1), {});
  assert.ok(sink.kind === "sink" && sink.db.kind === "postgres", "the sink feeds PostgreSQL");
  // A fresh broker on every start: see the comment on tmpfs in compose.yaml.
  assert.match(await read("compose.yaml"), new RegExp(`tmpfs: \\[${finalEnv.P7_KAFKA_STATE}\\]`));
});

/** Starts a command line (words split on spaces) and collects its output. */
function start(line: string | string[], cwd: string, env: Record<string, string>): Running {
  const [program, ...args] = typeof line === "string" ? line.split(" ") : line;
  return spawnCommand(
    new Deno.Command(program!, { args, cwd, env, stdout: "piped", stderr: "piped" }),
  );
}

function runLine(
  line: string | string[],
  cwd: string,
  env: Record<string, string>,
): Promise<Output> {
  return start(line, cwd, env).done;
}

Deno.test({
  name: "deno task compile (./p7 compile) builds the five binaries, each of which starts",
  ignore: !canCompile,
  fn: async () => {
    const { code, stderr } = await runLine(COMPILE, ROOT, {});
    assert.equal(code, 0, stderr);
    for (const { name } of steps) {
      const help = await runLine([join(ROOT, "dist", name), "--help"], ROOT, {});
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: ${name} `));
    }
  },
});

function tail(text: string): string {
  return text.trimEnd().split("\n").slice(-20).join("\n");
}

/** Waits for `check` while the processes run; a failure shows the end of what they printed. */
async function waitWhile(
  processes: Running[],
  what: string,
  check: () => boolean | Promise<boolean>,
  ms?: number,
): Promise<void> {
  let exited: Output | undefined;
  for (const running of processes) running.done.then((output) => exited ??= output);
  try {
    await waitFor(what, async () => {
      if (exited) throw new Error(`a process exited with status ${exited.code}`);
      return await check();
    }, ms);
  } catch (error) {
    const output = processes.map((running) => tail(running.stdout() + running.stderr()));
    throw new Error(`${(error as Error).message}; output:\n${output.join("\n---\n")}`);
  }
}

/**
 * A folder of `./NAME` commands: the compiled binaries, or without `denort`, what the image
 * holds with `BINARIES=launchers`.
 */
async function binaries(tmp: string): Promise<string> {
  if (canCompile) return join(ROOT, "dist");
  const dir = join(tmp, "bin");
  const { code, stderr } = await runLine(`${LAUNCHERS} ${dir}`, ROOT, {});
  assert.equal(code, 0, stderr);
  return dir;
}

Deno.test("the image's broker command serves the compose and docker exec commands, and stops on SIGTERM", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "p7-docker-" });
  const files = join(tmp, "files");
  await Deno.mkdir(files);
  // The image's layout and environment, on this test's port and folders.
  const home = join(tmp, "kafka");
  const brokers = finalEnv.KAFKA_BROKERS!.replace(/:9092$/, `:${PORT}`);
  const env = {
    ...finalEnv,
    P7_KAFKA_HOME: home,
    P7_KAFKA_STATE: join(tmp, "state"),
    P7_FILES: files,
    KAFKA_PORT: String(PORT),
    KAFKA_BROKERS: brokers,
    NO_COLOR: "1",
  };
  const running: Running[] = [];
  const kafka = createKafka([brokers], "p7-docker-test");
  const admin = kafka.admin();
  try {
    const fetched = await runLine(FETCH, ROOT, { ...stageEnv(dockerfile, "kafka"), ...env });
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal((await runLine(STATUS, ROOT, env)).code, 1, `port ${PORT} must be free`);

    const broker = start(BROKER, ROOT, env);
    running.push(broker);
    await waitWhile(
      [broker],
      "the broker to accept connections",
      async () => (await runLine(STATUS, ROOT, env)).code === 0,
      90_000,
    );
    await admin.connect();
    assert.deepEqual(await admin.listTopics(), []);
    // A new broker answers "coordinator is loading" to the first consumer groups, and the
    // consumer stops at its first failure; asking about a group first waits that out.
    assert.deepEqual((await admin.describeGroups(["debug"])).groups.map((g) => g.state), ["Dead"]);

    // The producer's compose command drops the checkpoints of an earlier run.
    await Deno.writeTextFile(join(files, "partition-0.json"), "{}");
    await Deno.writeTextFile(join(files, "rejected-0.jsonl"), "{}\n");
    const bin = await binaries(tmp);
    const service = (name: string) => start(compose.get(name)!, bin, env);
    const producer = service("producer");
    running.push(producer);
    await waitWhile([producer], "the topic", () => producer.stderr().includes("recreated"));
    assert.deepEqual([...Deno.readDirSync(files)], []);
    const consumers = [service("consumer-0-2"), service("consumer-1-3")];
    const debug = start("./debug", bin, env);
    running.push(...consumers, debug);

    const ends = async () => (await topicOffsets(admin, TOPIC)).map((o) => o.high);
    const total = async () => (await ends()).reduce((a, b) => a + b, 0);
    // January 1990 and some of February, at the image's default pace (a day per 0.1 s).
    await waitWhile(
      [producer, debug, ...consumers],
      "45 records",
      async () => await total() >= 45,
      30_000,
    );
    await waitWhile([debug], "debug lines", () => debug.stdout().split("\n").length > 3);
    const sent = await producer.stop("SIGTERM");
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stderr, /stopped by signal/);

    const final = await ends();
    await waitWhile(consumers, `the consumers to reach offsets ${final}`, async () => {
      for (const [partition, end] of final.entries()) {
        const text = await Deno.readTextFile(join(files, `partition-${partition}.json`))
          .catch(() => "{}");
        if (JSON.parse(text).offset !== end) return false;
      }
      return true;
    });
    for (const consumer of consumers) {
      const { code, stderr } = await consumer.stop("SIGTERM");
      assert.equal(code, 0, stderr);
      assert.match(stderr, /consumer: stopped at offsets/);
    }
    const printed = await debug.stop("SIGTERM");
    assert.equal(printed.code, 0, printed.stderr);
    const lines = printed.stdout.trimEnd().split("\n");
    for (const line of lines) {
      assert.match(line, /^\{'partition': [0-3], 'key': '[A-Z][a-z]+', 'date': '1990-\d\d-\d\d',/);
    }

    const plot = await runLine("./plot", bin, env);
    assert.equal(plot.code, 0, plot.stderr);
    assert.match(plot.stderr, /January-1990 -?\d+\.\d\d°F/);
    assert.match(await Deno.readTextFile(join(files, "month.svg")), /^<svg/);

    await admin.disconnect();
    const stopped = await broker.stop("SIGTERM");
    // 143 = 128 + SIGTERM: how the JVM exits once its shutdown hook has run.
    const log = stopped.stdout + stopped.stderr;
    assert.equal(stopped.code, 143, tail(log));
    for (
      const line of [
        /^Formatting /m,
        /Kafka Server started/,
        /\[BrokerServer id=1\] shut down completed/,
      ]
    ) {
      assert.ok(line.test(log), `no ${line} in the broker's output; it ends:\n${tail(log)}`);
    }
    const errors = log.split("\n").filter((line) => / ERROR /.test(line));
    assert.deepEqual(errors, []);
    assert.equal((await runLine(STATUS, ROOT, env)).code, 1);
  } finally {
    await admin.disconnect();
    for (const process of running) await process.stop("SIGKILL");
    await Deno.remove(tmp, { recursive: true });
  }
});
