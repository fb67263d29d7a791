/**
 * A real Docker engine for the tests: the one that answers, or else `dockerd` started here
 * as root with no bridge and no iptables rules (so no container or network takes a
 * private-range address), stopped afterwards with every mount it left removed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Output, ROOT, type Running, spawnCommand, waitFor } from "./harness.ts";

const decoder = new TextDecoder();

/** Runs `docker ARGS` to the end. */
export async function docker(args: string[], cwd?: string): Promise<Output> {
  const { code, stdout, stderr } = await new Deno.Command("docker", {
    args,
    cwd,
    stdin: "null",
  }).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Runs `docker ARGS`, fails unless it exits 0, and returns its stdout. */
export async function dockerOk(args: string[], cwd?: string): Promise<string> {
  const { code, stdout, stderr } = await docker(args, cwd);
  assert.equal(code, 0, `docker ${args.join(" ")} exited ${code}:\n${stderr.slice(-3000)}`);
  return stdout;
}

/** Starts `docker ARGS` and returns at once, collecting its output. */
export function dockerSpawn(args: string[], cwd?: string): Running {
  return spawnCommand(
    new Deno.Command("docker", { args, cwd, stdin: "null", stdout: "piped", stderr: "piped" }),
  );
}

async function answers(): Promise<boolean> {
  try {
    return (await docker(["info", "--format", "{{.ServerVersion}}"])).code === 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false; // no docker CLI
    throw error;
  }
}

function onPath(program: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(join(dir, program)).isFile;
    } catch {
      return false;
    }
  });
}

/** Why no engine can be had here, or undefined when one answers or can be started. */
export async function engineMissing(): Promise<string | undefined> {
  if (!onPath("docker")) return "no docker CLI (scripts/setup.sh installs docker.io)";
  if (await answers()) return undefined;
  if (!onPath("dockerd")) return "no Docker engine answers and dockerd is not installed";
  if (Deno.uid() !== 0) return "no Docker engine answers and starting dockerd needs root";
}

/** The engine in use; `stop` ends what `startEngine` started, and nothing else. */
export interface Engine {
  /** Whether the engine has a bridge network (one this file did not start might). */
  bridge: boolean;
  stop(): Promise<void>;
}

async function mounts(): Promise<string[]> {
  return (await Deno.readTextFile("/proc/mounts")).split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => /^\/(var\/lib|run)\/(docker|containerd)/.test(point));
}

/** The engine that answers, or `dockerd --bridge=none --iptables=false` started now. */
export async function startEngine(): Promise<Engine> {
  const bridge = async () =>
    (await dockerOk(["network", "ls", "--format", "{{.Name}}"])).split("\n").includes("bridge");
  if (await answers()) return { bridge: await bridge(), stop: () => Promise.resolve() };
  const before = new Set(await mounts());
  const log = await Deno.makeTempFile({ prefix: "p7-dockerd-", suffix: ".log" });
  const daemon = new Deno.Command("bash", {
    args: ["-c", 'exec dockerd --bridge=none --iptables=false >"$1" 2>&1', "dockerd", log],
    stdin: "null",
  }).spawn();
  const stop = async () => {
    try {
      daemon.kill("SIGTERM");
    } catch {
      // already exited
    }
    await daemon.status;
    // dockerd leaves its network namespace mounted; remove whatever mount it added.
    for (const point of (await mounts()).filter((m) => !before.has(m)).reverse()) {
      await new Deno.Command("umount", { args: [point] }).output();
    }
    assert.deepEqual((await mounts()).filter((m) => !before.has(m)), [], "mounts left behind");
    await Deno.remove(log);
  };
  try {
    await waitFor("dockerd to answer", answers, 60_000);
  } catch (error) {
    const text = await Deno.readTextFile(log);
    await stop();
    throw new Error(`${(error as Error).message}; dockerd said:\n${text.slice(-2000)}`);
  }
  return { bridge: await bridge(), stop };
}

/** The Docker CLI's version, e.g. `28.2.2` (a machine may have its own or Debian's 20.10). */
export async function clientVersion(): Promise<string> {
  return (await dockerOk(["version", "--format", "{{.Client.Version}}"])).trim();
}

/**
 * The README's `-v ./files:/files` for a container started in `dir`. A Docker CLI older than
 * 23 (Debian's 20.10) takes a path without a leading `/` for a volume's name and refuses it,
 * so with such a client the same folder is given as an absolute path, as the README says.
 */
export async function filesVolume(dir: string): Promise<string> {
  const major = Number((await clientVersion()).split(".")[0]);
  return major >= 23 ? "./files:/files" : `${join(dir, "files")}:/files`;
}

/** Waits until container `name`'s health check says healthy; returns the seconds taken. */
export async function waitHealthy(name: string, ms = 120_000): Promise<number> {
  const started = Date.now();
  await waitFor(`container ${name} to be healthy`, async () => {
    const state = await dockerOk(["inspect", "-f", "{{.State.Health.Status}}", name]);
    return state.trim() === "healthy";
  }, ms);
  return (Date.now() - started) / 1000;
}

/**
 * Sends `signal` to the processes of container `name` whose command line matches `pattern`
 * (from the host, as root: `docker exec` forwards no signals); returns how many there were.
 */
export async function signalIn(
  name: string,
  pattern: RegExp,
  signal: Deno.Signal,
): Promise<number> {
  const lines = (await dockerOk(["top", name, "-o", "pid,args"])).trim().split("\n").slice(1);
  const pids = lines.filter((line) => pattern.test(line)).map((line) =>
    Number(line.trim().split(/\s+/)[0])
  );
  for (const pid of pids) Deno.kill(pid, signal);
  return pids.length;
}

/**
 * The build arguments of the image the tests run: the stand-in bases (no image registry
 * answers) and launchers (`deno compile` cannot download `denort`): the one substitution.
 */
export const BUILD_ARGS: readonly string[] = [
  "--build-arg",
  "MAVEN_IMAGE=p7-base/maven",
  "--build-arg",
  "NODE_IMAGE=p7-base/node",
  "--build-arg",
  "RUNTIME_IMAGE=p7-base/runtime",
  "--build-arg",
  "BINARIES=launchers",
];

let built: Promise<string[]> | undefined;

/**
 * Builds the stand-in bases (`scripts/docker_bases.sh`) and then the image `p7` from this
 * checkout, once per test file: every test that runs the image calls it, so none depends on
 * an earlier test or pulls from a registry. Resolves to the steps with their times; fails
 * with the failing step's own output.
 */
export function buildImage(): Promise<string[]> {
  return built ??= (async () => {
    const steps: string[] = [];
    let started = Date.now();
    const bases = await new Deno.Command("bash", {
      args: [join(ROOT, "scripts/docker_bases.sh")],
      stdin: "null",
    }).output();
    const said = decoder.decode(bases.stderr) + decoder.decode(bases.stdout);
    assert.ok(bases.success, `scripts/docker_bases.sh exited ${bases.code}:\n${said.slice(-3000)}`);
    steps.push(
      `stand-in bases ready in ${since(started)}${
        said ? ` (${said.trim().split("\n").at(-1)})` : ""
      }`,
    );
    started = Date.now();
    await dockerOk(["build", "-q", "--network", "host", ...BUILD_ARGS, ".", "-t", "p7"], ROOT);
    steps.push(
      `docker build -q --network host ${BUILD_ARGS.join(" ")} . -t p7: ok in ${since(started)}`,
    );
    return steps;
  })();
}

/** The seconds since `started` (a `Date.now()`), as "1.2 s". */
export function since(started: number): string {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}
