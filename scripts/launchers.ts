#!/usr/bin/env -S deno run --allow-read --allow-write --allow-run --allow-env
/**
 * `deno task launchers [DIR]` (default `dist`): what `deno task compile` puts in `dist/`,
 * without `deno compile`. Writes one launcher per binary of the compile task, beside a
 * `deno/` folder with this Deno, the entry files with every local module they import, and a
 * module cache filled now; the Docker image takes it with `BINARIES=launchers`.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runMain } from "../lib/cli.ts";
import { P7Error } from "../lib/errors.ts";
import { compileSteps, launcherScript, RUNTIME_DIR } from "../lib/launchers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const decoder = new TextDecoder();

async function deno(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
  }).output();
  if (!success) {
    throw new P7Error("INPUT", `deno ${args[0]} failed: ${decoder.decode(stderr).trim()}`);
  }
  return decoder.decode(stdout);
}

/** The repo files an entry script loads, itself included. */
async function localModules(entry: string): Promise<string[]> {
  const info = JSON.parse(await deno(["info", "--json", entry])) as {
    modules: { specifier: string }[];
  };
  return info.modules.filter((m) => m.specifier.startsWith("file:"))
    .map((m) => relative(ROOT, fileURLToPath(m.specifier)));
}

/** Writes the launchers into `args[0]` (default `dist`); resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  if (args.length > 1 || args[0]?.startsWith("-")) {
    throw new P7Error("USAGE", "usage: launchers [DIR] (default dist)");
  }
  const out = resolve(ROOT, args[0] ?? "dist");
  const steps = compileSteps(
    JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.compile,
  );
  const runtime = join(out, RUNTIME_DIR);
  await Deno.remove(out, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const files = new Set(["deno.json", "deno.lock"]);
  // A Worker's module is no import of its entry script: its graph is copied and cached too.
  const modules = steps.flatMap(({ name, includes }) => [`${name}.ts`, ...includes]);
  for (const module of modules) {
    for (const file of await localModules(module)) files.add(file);
  }
  for (const file of files) {
    await Deno.mkdir(dirname(join(runtime, "app", file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(runtime, "app", file));
  }
  await Deno.copyFile(Deno.execPath(), join(runtime, "deno"));
  const entries = modules.map((module) => join(runtime, "app", module));
  await deno(["cache", "--frozen", "--config", join(runtime, "app", "deno.json"), ...entries], {
    DENO_DIR: join(runtime, "cache"),
  });
  for (const step of steps) {
    await Deno.writeTextFile(join(out, step.name), launcherScript(step), { mode: 0o755 });
  }
  console.error(
    `launchers: wrote ${steps.map((s) => s.name).join(", ")} to ${args[0] ?? "dist"}` +
      ` (${files.size} source files, Deno ${Deno.version.deno} and its cache in ${RUNTIME_DIR}/)`,
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
