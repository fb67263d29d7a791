/**
 * Interoperability with clients we did not write: kcat reads what p7 produced and protoc
 * decodes it; a Report encoded by protoc and produced by kcat is counted by the consumer.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { backfill, BROKERS, readJson, ROOT, spawn, tempDir, waitCaughtUp } from "./harness.ts";
import { encodeReport } from "../lib/kafka/report.ts";

function have(tool: string): boolean {
  try {
    new Deno.Command(tool, { args: ["--help"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

const missing = ["kcat", "protoc"].filter((tool) => !have(tool));
if (missing.length > 0) {
  console.log(
    `skipped: ${missing.join(" and ")} not installed (bash scripts/setup.sh installs them)`,
  );
}

async function tool(name: string, args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(name, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, `${name} ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  return stdout;
}

const PROTO = join(ROOT, "proto");

Deno.test({
  name: "kcat reads p7's messages and protoc decodes them",
  ignore: missing.length > 0,
  fn: async () => {
    await backfill(40, 3, { duplicateRate: 0 });
    // -f '%k %p %S\n' then the raw value would interleave binary; read key/partition, then values.
    const meta = new TextDecoder().decode(
      await tool("kcat", ["-C", "-b", BROKERS, "-t", "temperatures", "-e", "-q", "-f", "%k %p\n"]),
    ).trim().split("\n");
    assert.equal(meta.length, 40);
    const partitions: Record<string, string> = { January: "2", February: "1" };
    for (const line of meta) {
      const [key, partition] = line.split(" ");
      assert.equal(partition, partitions[key!], line);
    }
    // One value per run of kcat so protoc gets exactly one message.
    const value = await tool("kcat", [
      "-C",
      "-b",
      BROKERS,
      "-t",
      "temperatures",
      "-p",
      "2",
      "-o",
      "0",
      "-c",
      "1",
      "-e",
      "-q",
      "-f",
      "%s",
    ]);
    const text = new TextDecoder().decode(
      await tool("protoc", [`--proto_path=${PROTO}`, "--decode=Report", "report.proto"], value),
    );
    assert.match(text, /^date: "1990-01-01"\ndegrees: -?\d+(\.\d+)?\n$/);
  },
});

Deno.test({
  name: "a Report encoded by protoc and produced by kcat is counted by the consumer",
  ignore: missing.length > 0,
  fn: async () => {
    await backfill(10, 4, { duplicateRate: 0 });
    const dir = await tempDir();
    const consumer = spawn("consumer.ts", ["2", "--dir", dir]);
    await waitCaughtUp(dir, [2]);
    const before = await readJson(dir, 2) as { offset: number };
    const value = await tool(
      "protoc",
      [`--proto_path=${PROTO}`, "--encode=Report", "report.proto"],
      new TextEncoder().encode('date: "2031-01-17" degrees: 12.375'),
    );
    // In file mode kcat sends each file as one message, whatever bytes it holds.
    const file = join(dir, "report.bin");
    await Deno.writeFile(file, value);
    await tool("kcat", [
      "-P",
      "-b",
      BROKERS,
      "-t",
      "temperatures",
      "-p",
      "2",
      "-k",
      "January",
      file,
    ]);
    await waitCaughtUp(dir, [2]);
    assert.equal((await consumer.stop()).code, 0);
    const after = await readJson(dir, 2) as { offset: number; January: Record<string, unknown> };
    assert.equal(after.offset, before.offset + 1);
    assert.deepEqual(after.January["2031"], {
      count: 1,
      sum: 12.375,
      avg: 12.375,
      start: "2031-01-17",
      end: "2031-01-17",
      min: 12.375,
      max: 12.375,
      sumsq: 153.140625,
    });
  },
});

Deno.test({
  name: "a station's Report: protoc reads p7's bytes, and one protoc encoded is counted",
  ignore: missing.length > 0,
  fn: async () => {
    const encode = ["--proto_path=" + PROTO, "--encode=Report", "report.proto"];
    const decode = ["--proto_path=" + PROTO, "--decode=Report", "report.proto"];
    const ours = encodeReport({
      date: "2013-07-04",
      degrees: 84.02,
      stationId: "JFK",
      time: "2013-07-04T13:00:00Z",
      temperature: 84.02,
      humidity: 0,
    });
    assert.equal(
      new TextDecoder().decode(await tool("protoc", decode, ours)),
      'date: "2013-07-04"\ndegrees: 84.02\nstation_id: "JFK"\ntime: "2013-07-04T13:00:00Z"\n' +
        "temperature: 84.02\nhumidity: 0\n",
    );
    await backfill(10, 4, { duplicateRate: 0 });
    const dir = await tempDir();
    const consumer = spawn("consumer.ts", ["2", "--dir", dir]);
    await waitCaughtUp(dir, [2]);
    const value = await tool(
      "protoc",
      encode,
      new TextEncoder().encode(
        'date: "2031-01-18" station_id: "JFK" time: "2031-01-18T13:00:00Z" ' +
          "temperature: 41.5 humidity: 0",
      ),
    );
    const file = join(dir, "report.bin");
    await Deno.writeFile(file, value);
    await tool("kcat", ["-P", "-b", BROKERS, "-t", "temperatures", "-p", "2", "-k", "JFK", file]);
    await waitCaughtUp(dir, [2]);
    assert.equal((await consumer.stop()).code, 0);
    const after = await readJson(dir, 2) as {
      stations: Record<
        string,
        { measures: Record<string, Record<string, Record<string, unknown>>> }
      >;
    };
    const { measures } = after.stations.JFK!;
    assert.deepEqual(Object.keys(measures), ["temperature", "humidity"]);
    assert.equal((measures.temperature!.January!["2031"] as { sum: number }).sum, 41.5);
    // Observed 0 is counted as 0, not taken for "not observed".
    assert.deepEqual(measures.humidity!.January!["2031"], {
      count: 1,
      sum: 0,
      avg: 0,
      start: "2031-01-18T13:00:00Z",
      end: "2031-01-18T13:00:00Z",
      min: 0,
      max: 0,
      sumsq: 0,
    });
  },
});
