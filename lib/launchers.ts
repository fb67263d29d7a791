/**
 * Launchers: small shell scripts that stand in for `deno compile`'s binaries where Deno's
 * `denort` runtime cannot be downloaded. Each runs its entry file under a copy of the pinned
 * Deno, with exactly the permissions `deno task compile` gives the binary, from a module
 * cache filled at build time, so nothing is fetched when it runs.
 *
 * @module
 */
import { basename } from "node:path";
import { P7Error } from "./errors.ts";

/** One entry script of `deno task compile`: its name and its `deno compile` flags. */
export interface CompileStep {
  /** The entry script's name without `.ts`, which is also the binary's. */
  name: string;
  /** Every flag but `--output`, `--include` and their values, in order (`--frozen`, …). */
  flags: string[];
  /** The modules `--include` embeds beside the entry script (a Worker's), repo-relative. */
  includes: string[];
}

/**
 * The steps of the `compile` task: `deno compile FLAGS --output dist/NAME NAME.ts`, joined
 * by `&&`.
 *
 * @throws {P7Error} `USAGE` when a part is not of that form.
 * @example
 * ```ts
 * compileSteps("deno compile --allow-env --output dist/plot plot.ts");
 * // [{ name: "plot", flags: ["--allow-env"], includes: [] }]
 * ```
 */
export function compileSteps(task: string): CompileStep[] {
  return task.split("&&").map((part) => {
    const words = part.trim().split(/\s+/);
    const script = words.at(-1) ?? "";
    const name = basename(script, ".ts");
    const output = words.indexOf("--output");
    if (
      words[0] !== "deno" || words[1] !== "compile" || !script.endsWith(".ts") ||
      output < 2 || words[output + 1] !== `dist/${name}`
    ) {
      throw new P7Error(
        "USAGE",
        `Cannot read the compile task: "${part.trim()}" is not "deno compile FLAGS --output dist/NAME NAME.ts"`,
      );
    }
    const flags = words.slice(2, -1).filter((_, i) => i + 2 !== output && i + 1 !== output);
    // `--include FILE` embeds a module the binary loads at run time (a Worker's): a launcher
    // needs the file among its sources, not the flag.
    const includes: string[] = [];
    for (let at = flags.indexOf("--include"); at !== -1; at = flags.indexOf("--include")) {
      includes.push(...flags.splice(at, 2).slice(1));
    }
    return { name, flags, includes };
  });
}

/** Where a launcher finds Deno, the sources and the cache, relative to its own folder. */
export const RUNTIME_DIR = "deno";

/**
 * The text of the launcher of `step`: a POSIX shell script placed beside a `deno/` folder
 * holding the Deno binary, the sources in `app/` and the module cache in `cache/`.
 */
export function launcherScript(step: CompileStep): string {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const flags = step.flags.map(quote).join(" ");
  return `#!/bin/sh
# ${step.name}: ${step.name}.ts under the pinned Deno with the flags of its compiled binary,
# from the module cache filled at build time (--cached-only: nothing is fetched).
here=$(dirname "$(readlink -f "$0")")/${RUNTIME_DIR}
export DENO_DIR="$here/cache" DENO_NO_UPDATE_CHECK=1
exec "$here/deno" run --cached-only --no-prompt --config "$here/app/deno.json" ${flags} "$here/app/${step.name}.ts" "$@"
`;
}
