import assert from "node:assert/strict";
import { compileSteps, launcherScript } from "./launchers.ts";
import { P7Error } from "./errors.ts";

Deno.test("compileSteps reads each part of the compile task, --output aside", () => {
  assert.deepEqual(
    compileSteps(
      "deno compile --frozen --allow-env --output dist/plot plot.ts && " +
        "deno compile --allow-net --output dist/debug --frozen debug.ts && " +
        "deno compile --allow-read --include lib/worker.ts --output dist/consumer consumer.ts",
    ),
    [
      { name: "plot", flags: ["--frozen", "--allow-env"], includes: [] },
      { name: "debug", flags: ["--allow-net", "--frozen"], includes: [] },
      { name: "consumer", flags: ["--allow-read"], includes: ["lib/worker.ts"] },
    ],
  );
  for (
    const task of [
      "deno run --allow-env plot.ts",
      "deno compile --allow-env plot.ts",
      "deno compile --output dist/other plot.ts",
      "deno compile --output dist/plot plot.js",
    ]
  ) {
    assert.throws(() => compileSteps(task), (error: unknown) => {
      assert.ok(error instanceof P7Error && error.code === "USAGE");
      assert.match(error.message, /^Cannot read the compile task: ".*" is not/);
      return true;
    });
  }
});

Deno.test("launcherScript runs the entry file with its binary's flags from the cache only", async () => {
  const script = launcherScript({
    name: "plot",
    flags: ["--frozen", "--allow-env", "--x='y'"],
    includes: [],
  });
  assert.ok(script.startsWith("#!/bin/sh\n"));
  assert.match(
    script,
    /\nexec "\$here\/deno" run --cached-only --no-prompt --config "\$here\/app\/deno.json" '--frozen' '--allow-env' '--x='\\''y'\\''' "\$here\/app\/plot.ts" "\$@"\n$/,
  );
  // The shell reads it as written: one quoted flag with the quote inside.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/deno/app`, { recursive: true });
    await Deno.writeTextFile(`${dir}/deno/deno`, '#!/bin/sh\nprintf "%s\\n" "$DENO_DIR" "$@"\n', {
      mode: 0o755,
    });
    await Deno.writeTextFile(`${dir}/plot`, script, { mode: 0o755 });
    const { code, stdout } = await new Deno.Command(`${dir}/plot`, { args: ["a b"] }).output();
    assert.equal(code, 0);
    const real = await Deno.realPath(dir);
    assert.deepEqual(new TextDecoder().decode(stdout).trimEnd().split("\n"), [
      `${real}/deno/cache`,
      "run",
      "--cached-only",
      "--no-prompt",
      "--config",
      `${real}/deno/app/deno.json`,
      "--frozen",
      "--allow-env",
      "--x='y'",
      `${real}/deno/app/plot.ts`,
      "a b",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
