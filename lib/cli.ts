/**
 * Process plumbing shared by the entry scripts, and called only by them: the top-level error
 * report with its exit status, and the graceful stop on SIGINT/SIGTERM/SIGHUP.
 *
 * @module
 */
import { P7Error } from "./errors.ts";

/** Exit status for a usage error (bad flag or argument), as argparse and most Unix tools use. */
export const EXIT_USAGE = 2;

/**
 * Runs an entry script's `main`, printing `error: <message>` (no stack trace) on stderr and
 * exiting non-zero when it throws. `main` resolves to the exit status.
 */
export async function runMain(main: () => Promise<number>): Promise<never> {
  let status: number;
  try {
    status = await main();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message.split("\n")[0]}`);
    if (Deno.env.get("P7_DEBUG")) console.error(error);
    status = error instanceof P7Error && error.code === "USAGE" ? EXIT_USAGE : 1;
  }
  Deno.exit(status);
}

/**
 * How long after the SIGINT that stopped a script another one still counts as the same Ctrl-C.
 * A Ctrl-C reaches the whole process group, and a task runner in it (`deno task`, which
 * `./p7` runs) forwards its own copy to the script a few milliseconds later: without this the
 * forwarded copy would read as a second Ctrl-C and exit 130 before the summary.
 */
export const SAME_INTERRUPT_MS = 1000;

/**
 * An AbortSignal that aborts on the first SIGINT, SIGTERM or SIGHUP (the terminal closed), so a
 * script can finish the work in hand, leave its group and exit 0. Only a second Ctrl-C (a SIGINT
 * more than {@link SAME_INTERRUPT_MS} after the one that stopped it, or after a SIGTERM stop)
 * exits at once with status 130: supervisors repeat SIGTERM on their own (`script` sends it
 * twice within a second, then SIGKILL two seconds later), and a script that took the repeat as
 * "now" would skip leaving its group, stalling the group's next join for a whole session timeout.
 */
export function onStopSignal(): AbortSignal {
  const controller = new AbortController();
  let interrupted: number | undefined;
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", () => {
    const now = performance.now();
    if (interrupted === undefined && !controller.signal.aborted) interrupted = now;
    if (!isRepeatedInterrupt(interrupted, now, controller.signal.aborted)) return stop();
    Deno.exit(130);
  });
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGHUP", stop);
  return controller.signal;
}

/**
 * Whether a SIGINT at `now` is a second Ctrl-C: the script is already stopping, and not from a
 * SIGINT of less than {@link SAME_INTERRUPT_MS} ago (`interrupted`, undefined when the stop came
 * from SIGTERM or SIGHUP).
 */
export function isRepeatedInterrupt(
  interrupted: number | undefined,
  now: number,
  stopping: boolean,
): boolean {
  if (!stopping) return false;
  return interrupted === undefined || now - interrupted >= SAME_INTERRUPT_MS;
}

/**
 * Resolves when `signal` aborts; at once if it already has, since a stop signal may arrive
 * before anything waits for it (e.g. during the broker connection).
 */
export function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
