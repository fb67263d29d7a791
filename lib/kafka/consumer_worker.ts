/// <reference lib="deno.worker" />
/**
 * A Worker that counts one group of the consumer's partitions (see `consumer_group.ts`): it
 * starts on a `start` message, stops on `stop`, and reports `ready`, `progress`, then `done`
 * or `failed`.
 *
 * @module
 */
import { countGroup, type FromGroup, type ToGroup } from "./consumer_group.ts";
import { P7Error } from "../errors.ts";

const stop = new AbortController();

function post(message: FromGroup): void {
  self.postMessage(message);
}

self.onmessage = async ({ data }: MessageEvent<ToGroup>) => {
  if (data.kind === "stop") {
    stop.abort();
    return;
  }
  try {
    const snapshot = await countGroup(data.options, stop.signal, {
      ready: () => post({ kind: "ready" }),
      progress: (snapshot) => post({ kind: "progress", snapshot }),
    });
    post({ kind: "done", snapshot });
  } catch (error) {
    const code = error instanceof P7Error ? error.code : undefined;
    post({ kind: "failed", message: (error as Error).message ?? String(error), code });
  }
};
