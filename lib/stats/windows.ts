/**
 * Windowed statistics in event time: tumbling or hopping windows aligned to the epoch in UTC
 * (start inclusive, end exclusive), each with `count, sum, avg, min, max`, per series (a
 * station's measurement, or the course's single series of a partition).
 *
 * A partition's stream time is the latest observation time it has seen. A window closes once
 * the stream time reaches its end plus the grace period, or when the consumer closes every
 * open window of an idle partition (`--idle-close`); it is then final and never changes. A
 * value for a window already closed is late: it is not counted into that window, and is
 * reported with the window it missed and by how much, never dropped silently.
 *
 * The state (stream time, open windows) is part of the partition's checkpoint, so closing and
 * lateness are decided the same way however often the consumer restarts.
 *
 * @module
 */

/** One window length, with its hop (equal to it for tumbling windows), in milliseconds. */
export interface WindowSpec {
  /** As written: `1h`, `1d`, `7d`. */
  label: string;
  size: number;
  hop: number;
}

/** The consumer's windows: plain data, so that it can be posted to a Worker. */
export interface WindowConfig {
  windows: WindowSpec[];
  /** Milliseconds after a window's end that its values are still taken. */
  grace: number;
  /** As written, for the checkpoint and the start line (`1h,1d hop 30m grace 1h`). */
  text: string;
  /**
   * `updates` (`--emit updates`): open windows are published as they change, not final;
   * `final`: only closed windows. Not part of `text`: it changes what is published, not what
   * is counted.
   */
  emit: "final" | "updates";
}

/** A window's numbers. */
export interface WindowStats {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** An open window in the checkpoint. */
export interface OpenWindow extends WindowStats {
  /** `JFK/temperature`, or `partition-2/degrees` for the course's series. */
  series: string;
  size: string;
  start: string;
  end: string;
}

/** The windows part of a partition's checkpoint (`windows` in `partition-N.json`). */
export interface WindowState {
  /** The window flags it was counted with; a restart with others is refused. */
  config: string;
  /** The latest observation time seen, or "" before any. */
  streamTime: string;
  /** Windows ending at or before this were closed by `--idle-close` ("" for none). */
  idleClosed: string;
  /** By window key. */
  open: Record<string, OpenWindow>;
}

/** A closed window: a line of `windows-N.jsonl` and a record of the windows topic. */
export interface ClosedWindow extends WindowStats {
  partition: number;
  /** The record that closed it (its stream time), or for an idle close the last one counted. */
  offset: number;
  key: string;
  series: string;
  size: string;
  start: string;
  end: string;
  avg: number;
  final: true;
  /** Why it closed: the stream time passed its end plus the grace, or the partition idled. */
  closedBy: "stream time" | "idle";
}

/** An open window as published with `--emit updates`: its numbers so far. */
export interface WindowUpdate extends Omit<ClosedWindow, "final" | "closedBy"> {
  final: false;
}

/** A late value: a line of `late-N.jsonl`. */
export interface LateValue {
  partition: number;
  offset: number;
  series: string;
  time: string;
  value: number;
  /** The window it missed. */
  window: { key: string; size: string; start: string; end: string };
  /** The stream time when it came, and how long after the window had closed, in seconds. */
  streamTime: string;
  lateBy: number;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of a duration written `90s`, `30m`, `1h`, `7d` (a positive integer and a unit),
 * or `undefined` when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9]\d{0,5})([smhd])$/.exec(text.trim());
  return match === null ? undefined : Number(match[1]) * UNITS[match[2]!]!;
}

const DAY = 86_400_000;

function twoDigits(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/**
 * `YYYY-MM-DD` of a day counted from 1970-01-01, by arithmetic (the civil-from-days algorithm
 * of the proleptic Gregorian calendar): Date's own formatting takes half a microsecond, several
 * times a value.
 */
function civilDay(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) -
      Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return String(year).padStart(4, "0") + "-" + twoDigits(month) + "-" + twoDigits(day);
}

/** `YYYY-MM-DDTHH:MM:SSZ` of a time in milliseconds (years 0-9999). */
export function isoSeconds(ms: number): string {
  const day = Math.floor(ms / DAY);
  const seconds = Math.floor((ms - day * DAY) / 1000);
  return civilDay(day) + "T" + twoDigits(Math.floor(seconds / 3600)) + ":" +
    twoDigits(Math.floor(seconds / 60) % 60) + ":" + twoDigits(seconds % 60) + "Z";
}

function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return NaN;
    n = n * 10 + digit;
  }
  return n;
}

/**
 * Milliseconds of a checked date `YYYY-MM-DD` (its midnight UTC) or time
 * `YYYY-MM-DDTHH:MM:SSZ`, without Date's slower parsing.
 */
export function timeOf(text: string): number {
  const date = Date.UTC(digits(text, 0, 4), digits(text, 5, 2) - 1, digits(text, 8, 2));
  if (text.length === 10) return date;
  return date + digits(text, 11, 2) * 3_600_000 + digits(text, 14, 2) * 60_000 +
    digits(text, 17, 2) * 1000;
}

/** A window's key, in plain text: `JFK/temperature/1h/2013-07-04T13:00:00Z`. */
export function windowKey(series: string, size: string, start: string): string {
  return `${series}/${size}/${start}`;
}

/** A new, empty window state for `config`. */
export function emptyWindows(config: WindowConfig): WindowState {
  return { config: config.text, streamTime: "", idleClosed: "", open: {} };
}

/**
 * What `windowValue` keeps beside a state, derived from it and kept in step: its times as
 * numbers and each open window's end, so that a value parses and formats no time it needs not.
 */
interface Derived {
  stream: number;
  idle: number;
  ends: Map<string, number>;
}

const derivedStates = new WeakMap<WindowState, Derived>();

function derived(state: WindowState): Derived {
  let known = derivedStates.get(state);
  if (known === undefined) {
    known = {
      stream: state.streamTime === "" ? -Infinity : timeOf(state.streamTime),
      idle: state.idleClosed === "" ? -Infinity : timeOf(state.idleClosed),
      ends: new Map(Object.entries(state.open).map(([key, window]) => [key, timeOf(window.end)])),
    };
    derivedStates.set(state, known);
  }
  return known;
}

/** What one batch's windows did, to be logged and published with its checkpoint. */
export interface WindowOutcome {
  closed: ClosedWindow[];
  late: LateValue[];
  /** With `--emit updates`: the keys of the open windows a value was counted into. */
  updated: Set<string>;
}

/**
 * The open windows among `keys` as updates (a key closed since is left out: its final value
 * is published instead). `offset` is the partition's last record counted.
 */
export function windowUpdates(
  state: WindowState,
  keys: Iterable<string>,
  partition: number,
  offset: number,
): WindowUpdate[] {
  const updates: WindowUpdate[] = [];
  for (const key of keys) {
    const window = state.open[key];
    if (window !== undefined) {
      updates.push({ ...published(window, key, { partition, offset }), final: false });
    }
  }
  return updates;
}

/** A window's numbers as published, with where it was when they were. */
function published(
  window: OpenWindow,
  key: string,
  at: { partition: number; offset: number },
): Omit<ClosedWindow, "final" | "closedBy"> {
  const { series, size, start, end, count, sum, min, max } = window;
  return {
    partition: at.partition,
    offset: at.offset,
    key,
    series,
    size,
    start,
    end,
    count,
    sum,
    avg: sum / count,
    min,
    max,
  };
}

/**
 * One value of `series` observed at `time` (ms) into the windows, in place: into every window
 * that holds it and is open, and reported late for each one that holds it and has closed.
 * Then the stream time moves on, and every window its end plus the grace has passed closes,
 * in order of their ends.
 */
export function windowValue(
  state: WindowState,
  config: WindowConfig,
  at: { series: string; time: number; value: number; partition: number; offset: number },
  outcome: WindowOutcome,
): void {
  const { series, time, value, partition, offset } = at;
  const known = derived(state);
  const { stream, idle } = known;
  for (const { label, size, hop } of config.windows) {
    // Every window [start, start + size) with start a multiple of hop that holds `time`.
    for (let start = Math.floor(time / hop) * hop; start > time - size; start -= hop) {
      const end = start + size;
      const key = windowKey(series, label, isoSeconds(start));
      const open = state.open[key];
      if (open === undefined && (end + config.grace <= stream || end <= idle)) {
        outcome.late.push({
          partition,
          offset,
          series,
          time: isoSeconds(time),
          value,
          window: { key, size: label, start: isoSeconds(start), end: isoSeconds(end) },
          streamTime: state.streamTime,
          lateBy: (Math.max(stream, end + config.grace) - end - config.grace) / 1000,
        });
        continue;
      }
      if (config.emit === "updates") outcome.updated.add(key);
      if (open === undefined) {
        known.ends.set(key, end);
        state.open[key] = {
          series,
          size: label,
          start: isoSeconds(start),
          end: isoSeconds(end),
          count: 1,
          sum: value,
          min: value,
          max: value,
        };
      } else {
        open.count++;
        open.sum += value;
        if (value < open.min) open.min = value;
        if (value > open.max) open.max = value;
      }
    }
  }
  if (time > stream) {
    known.stream = time;
    state.streamTime = isoSeconds(time);
    closeWindows(state, { partition, offset }, time - config.grace, "stream time", outcome);
  }
}

/** Closes the open windows that end at or before `by`, in order of their ends, then keys. */
function closeWindows(
  state: WindowState,
  at: { partition: number; offset: number },
  by: number,
  closedBy: ClosedWindow["closedBy"],
  outcome: WindowOutcome,
): void {
  const { ends } = derived(state);
  const closing: [string, number][] = [];
  for (const entry of ends) if (entry[1] <= by) closing.push(entry);
  if (closing.length === 0) return;
  closing.sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1));
  for (const [key] of closing) {
    outcome.closed.push({ ...published(state.open[key]!, key, at), final: true, closedBy });
    delete state.open[key];
    ends.delete(key);
  }
}

/**
 * Closes every open window of an idle partition (`--idle-close`): they are final, and a value
 * for any of them, or for any window ending no later, is late from now on. `offset` is the
 * partition's last record counted.
 */
export function closeIdle(
  state: WindowState,
  partition: number,
  offset: number,
  outcome: WindowOutcome,
): void {
  const known = derived(state);
  if (known.ends.size === 0) return;
  const latest = Math.max(...known.ends.values());
  if (latest > known.idle) {
    known.idle = latest;
    state.idleClosed = isoSeconds(latest);
  }
  closeWindows(state, { partition, offset }, Infinity, "idle", outcome);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/**
 * The `windows` value of a partition file checked.
 *
 * @throws {Error} saying what is wrong, e.g. `windows: streamTime "x" is not a time`.
 */
export function parseWindows(value: unknown): WindowState {
  if (!isRecord(value) || !isRecord(value.open)) throw new Error("windows is not an object");
  const { config, streamTime, idleClosed } = value;
  if (typeof config !== "string") throw new Error("windows: config is not text");
  for (const [name, time] of [["streamTime", streamTime], ["idleClosed", idleClosed]] as const) {
    if (typeof time !== "string" || (time !== "" && !TIME.test(time))) {
      throw new Error(`windows: ${name} ${JSON.stringify(time)} is not a time`);
    }
  }
  const open: Record<string, OpenWindow> = {};
  for (const [key, window] of Object.entries(value.open)) {
    const where = `window ${JSON.stringify(key)}`;
    if (!isRecord(window)) throw new Error(`${where} is not an object`);
    const { series, size, start, end, count, sum, min, max } = window;
    if (typeof series !== "string" || typeof size !== "string") {
      throw new Error(`${where} names no series and size`);
    }
    if (
      typeof start !== "string" || typeof end !== "string" || !TIME.test(start) || !TIME.test(end)
    ) {
      throw new Error(`${where}: start or end is not a time`);
    }
    if (key !== windowKey(series, size, start)) throw new Error(`${where} holds another window`);
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) {
      throw new Error(`${where}: count ${JSON.stringify(count)} is not a positive integer`);
    }
    for (const [name, number] of [["sum", sum], ["min", min], ["max", max]] as const) {
      if (typeof number !== "number" || !Number.isFinite(number)) {
        throw new Error(`${where}: ${name} ${JSON.stringify(number)} is not a finite number`);
      }
    }
    open[key] = { series, size, start, end, count, sum, min, max } as OpenWindow;
  }
  return {
    config,
    streamTime: streamTime as string,
    idleClosed: idleClosed as string,
    open,
  };
}

/**
 * A line of `windows-N.jsonl` (or a record of the windows topic), checked enough to be
 * published again.
 *
 * @throws {Error} when it is not a closed window.
 */
export function parseClosedWindow(line: string): ClosedWindow {
  const window = JSON.parse(line);
  if (
    !isRecord(window) || typeof window.key !== "string" || window.final !== true ||
    typeof window.count !== "number" || typeof window.offset !== "number"
  ) {
    throw new Error("not a closed window");
  }
  return window as unknown as ClosedWindow;
}

/**
 * A line of `late-N.jsonl`, checked enough to be shown.
 *
 * @throws {Error} when it is not a late value.
 */
export function parseLateValue(line: string): LateValue {
  const late = JSON.parse(line);
  if (
    !isRecord(late) || typeof late.series !== "string" || typeof late.offset !== "number" ||
    !isRecord(late.window) || typeof late.streamTime !== "string"
  ) {
    throw new Error("not a late value");
  }
  return late as unknown as LateValue;
}
