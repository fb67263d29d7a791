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
 * An AbortSignal that aborts on the first SIGINT, SIGTERM or SIGHUP (the terminal closed), so a
 * script can finish the work in hand, leave its group and exit 0. Only a second SIGINT (Ctrl-C
 * pressed again) exits at once with status 130: supervisors repeat SIGTERM on their own
 * (`script` sends it twice within a second, then SIGKILL two seconds later), and a script that
 * took the repeat as "now" would skip leaving its group, stalling the group's next join for a
 * whole session timeout.
 */
export function onStopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", () => {
    if (controller.signal.aborted) Deno.exit(130);
    stop();
  });
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGHUP", stop);
  return controller.signal;
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
