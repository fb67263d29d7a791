/**
 * Errors with a stable code: expected failures whose message is meant for the user.
 *
 * @module
 */

/** Stable, documented reasons a p7 command fails. */
export type ErrorCode =
  | "USAGE"
  | "BROKER"
  | "TOPIC_MISSING"
  | "TOPIC_RECREATED"
  | "PARTITION"
  | "CHECKPOINT"
  | "LOCKED"
  | "NO_DATA"
  | "INPUT"
  | "DATABASE"
  | "LISTEN";

/** An expected failure: its message is for the user, its code for scripts and tests. */
export class P7Error extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "P7Error";
    this.code = code;
  }
}
