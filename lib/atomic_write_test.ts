import assert from "node:assert/strict";
import { join } from "node:path";
import { removeTempFiles, writeFileAtomic } from "./atomic_write.ts";

Deno.test("writeFileAtomic replaces the whole file and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "partition-0.json");
  await writeFileAtomic(path, "first\n");
  await writeFileAtomic(path, "second, longer content\n");
  assert.equal(await Deno.readTextFile(path), "second, longer content\n");
  const pieces = ["third ", "", "in pieces\n"].map((text) => new TextEncoder().encode(text));
  await writeFileAtomic(path, pieces);
  assert.equal(await Deno.readTextFile(path), "third in pieces\n");
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["partition-0.json"]);
});

Deno.test("a failed write removes its temp file and keeps the old content", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "target");
  await Deno.mkdir(path); // renaming a file over a folder fails
  await assert.rejects(writeFileAtomic(path, "x"));
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["target"]);
});

Deno.test("removeTempFiles removes only this file's leftovers", async () => {
  const dir = await Deno.makeTempDir();
  for (
    const name of [
      "partition-1.json.123.ab.tmp",
      "partition-1.json.9.x.tmp",
      "partition-10.json.1.a.tmp",
      "partition-1.json",
    ]
  ) {
    await Deno.writeTextFile(join(dir, name), "");
  }
  assert.equal(await removeTempFiles(join(dir, "partition-1.json")), 2);
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(left, ["partition-1.json", "partition-10.json.1.a.tmp"]);
});
