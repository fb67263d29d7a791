/**
 * Child processes under measurement: their output, peak memory and CPU time, read from
 * Linux's `/proc` (elsewhere both read as unknown).
 *
 * @module
 */

/** Resources a process has used so far. */
export interface Usage {
  /** Peak resident memory (VmHWM) in bytes; undefined when unknown. */
  peakRss?: number;
  /** User + system CPU seconds; undefined when unknown. */
  cpuSeconds?: number;
}

/** A finished process. */
export interface Finished extends Usage {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running process whose output and usage are collected as it goes. */
export interface Measured {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Usage up to now, read at once from `/proc`. */
  usage(): Promise<Usage>;
  /** Sends a signal and waits for the exit. */
  stop(signal: Deno.Signal): Promise<Finished>;
  /** The exit, with the usage of the whole run. */
  done: Promise<Finished>;
}

/** Clock ticks per second of `/proc/PID/stat` (USER_HZ, 100 on Linux). */
const TICKS = 100;
const SAMPLE_MS = 50;

/** The numeric fields of a `/proc/PID/stat` line after the command name, from field 3 on. */
async function statFields(pid: number | "self"): Promise<number[] | undefined> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/stat`);
    return text.slice(text.lastIndexOf(")") + 2).split(" ").map(Number);
  } catch {
    return undefined;
  }
}

async function readUsage(pid: number): Promise<Usage> {
  const usage: Usage = {};
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (match) usage.peakRss = Number(match[1]) * 1024;
  } catch {
    // gone, or not Linux
  }
  const fields = await statFields(pid);
  // utime and stime are fields 14 and 15.
  if (fields !== undefined) usage.cpuSeconds = (fields[11]! + fields[12]!) / TICKS;
  return usage;
}

/** CPU seconds of this process's waited-for children (cutime + cstime, fields 16 and 17). */
async function childrenCpu(): Promise<number | undefined> {
  const fields = await statFields("self");
  return fields === undefined ? undefined : (fields[13]! + fields[14]!) / TICKS;
}

async function collect(stream: ReadableStream<Uint8Array>, sink: string[]): Promise<void> {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) sink.push(chunk);
}

/**
 * Starts `command` with `args` and measures it. Run one measured process at a time: the CPU
 * time of one that exits is what this process's children used meanwhile, which is exact
 * where sampling would miss its last moments.
 */
export async function measure(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Measured> {
  const cpuBefore = await childrenCpu();
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const reading = Promise.all([collect(child.stdout, out), collect(child.stderr, err)]);
  let last: Usage = {};
  const timer = setInterval(async () => {
    const usage = await readUsage(child.pid);
    if (usage.peakRss !== undefined) last = usage;
  }, SAMPLE_MS);
  const done = (async (): Promise<Finished> => {
    const { code } = await child.status;
    clearInterval(timer);
    await reading;
    const cpuAfter = await childrenCpu();
    const cpuSeconds = cpuBefore !== undefined && cpuAfter !== undefined
      ? cpuAfter - cpuBefore
      : last.cpuSeconds;
    return { code, stdout: out.join(""), stderr: err.join(""), peakRss: last.peakRss, cpuSeconds };
  })();
  return {
    pid: child.pid,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    usage: () => readUsage(child.pid),
    stop: (signal) => {
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
      return done;
    },
    done,
  };
}
