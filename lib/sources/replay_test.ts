import assert from "node:assert/strict";
import { join } from "node:path";
import { P7Error } from "../errors.ts";
import {
  checkOrder,
  type Layout,
  normalizeDate,
  openReplay,
  parseReading,
  type ReplayItem,
  type ReplayOptions,
  rowLayout,
  splitCsvLine,
  splitLines,
  toFahrenheit,
} from "./replay.ts";

const OPTIONS: ReplayOptions = { dateColumn: "date", valueColumn: "tmax", units: "C" };

Deno.test("splitCsvLine: commas, quoted fields with commas and quotes, spaces kept", () => {
  assert.deepEqual(splitCsvLine("2012-01-01,0.0,12.8"), ["2012-01-01", "0.0", "12.8"]);
  assert.deepEqual(splitCsvLine(""), [""]);
  assert.deepEqual(splitCsvLine("a,,b,"), ["a", "", "b", ""]);
  assert.deepEqual(splitCsvLine(" a , 12.8 "), [" a ", " 12.8 "]);
  assert.deepEqual(splitCsvLine('"New York, NY",12.8'), ["New York, NY", "12.8"]);
  assert.deepEqual(splitCsvLine('"say ""hi""",""'), ['say "hi"', ""]);
  assert.deepEqual(splitCsvLine('x, "quoted" ,y'), ["x", "quoted", "y"]);
  assert.deepEqual(splitCsvLine('"a"'), ["a"]);
  assert.deepEqual(splitCsvLine('a,"b'), { reason: "field 2 has no closing quote" });
  assert.deepEqual(splitCsvLine('"a"b,c'), { reason: "field 1 has text after its closing quote" });
  assert.deepEqual(splitCsvLine('a,b"c'), {
    reason: "field 2 has a quote inside an unquoted value",
  });
});

Deno.test("normalizeDate: common formats become YYYY-MM-DD", () => {
  const cases: [string, string][] = [
    ["2012-01-05", "2012-01-05"],
    [" 2012-01-05 ", "2012-01-05"],
    ["2012-1-5", "2012-01-05"],
    ["2012/01/05", "2012-01-05"],
    ["2012.1.05", "2012-01-05"],
    ["20120105", "2012-01-05"],
    ["1/5/2012", "2012-01-05"],
    ["01/05/2012", "2012-01-05"],
    ["12/31/2015", "2015-12-31"],
    ["2012-01-05T00:00:00", "2012-01-05"],
    ["2012-01-05T23:59:59.999Z", "2012-01-05"],
    ["2012-01-05T23:00:00-08:00", "2012-01-05"],
    ["2012-01-05T08:00+0100", "2012-01-05"],
    ["2012-01-05 08:00", "2012-01-05"],
    ["1/5/2012 0:00", "2012-01-05"],
    ["2000-02-29", "2000-02-29"],
  ];
  for (const [text, date] of cases) assert.equal(normalizeDate(text), date, text);
});

Deno.test("normalizeDate: impossible dates and unknown formats are invalid", () => {
  const unknown = (text: string) => ({
    reason: `${JSON.stringify(text)} is not a date in a known format`,
  });
  const missing = (text: string) => ({ reason: `${JSON.stringify(text)} does not exist` });
  for (const text of ["2013-02-29", "1900-02-29", "2012-13-01", "2012-00-10", "2012-04-31"]) {
    assert.deepEqual(normalizeDate(text), missing(text));
  }
  assert.deepEqual(normalizeDate("13/5/2012"), missing("13/5/2012"));
  assert.deepEqual(normalizeDate("20120230"), missing("20120230"));
  for (
    const text of [
      "",
      "yesterday",
      "5.1.2012",
      "12-01-05",
      "2012-01-05T25:00",
      "2012-01-05T",
      "2012-01/05",
      "2012-001-05",
      "1/5/12",
      "Jan 5 2012",
      "2012-01-05 junk",
    ]
  ) {
    assert.deepEqual(normalizeDate(text), unknown(text), text);
  }
});

Deno.test("parseReading: spaces around ignored; missing, words and non-finite invalid", () => {
  assert.equal(parseReading("12.8"), 12.8);
  assert.equal(parseReading("  -3 \t"), -3);
  assert.equal(parseReading("+.5"), 0.5);
  assert.equal(parseReading("7."), 7);
  assert.equal(parseReading("1e2"), 100);
  assert.deepEqual(parseReading(""), { reason: "is missing" });
  assert.deepEqual(parseReading("   "), { reason: "is missing" });
  for (const text of ["NaN", "-Infinity", "inf", "1e999"]) {
    assert.deepEqual(parseReading(text), { reason: `"${text}" is not a finite number` });
  }
  for (const text of ["abc", "12,8", "1 2", "0x10", "M", "--1", "1e"]) {
    assert.deepEqual(parseReading(text), { reason: `"${text}" is not a number` });
  }
});

Deno.test("toFahrenheit: °C converted, both rounded to 4 decimals, never -0", () => {
  assert.equal(toFahrenheit(12.8, "C"), 55.04);
  assert.equal(toFahrenheit(-40, "C"), -40);
  assert.equal(toFahrenheit(100, "C"), 212);
  assert.equal(toFahrenheit(-1.6, "C"), 29.12);
  assert.equal(toFahrenheit(31.52351, "F"), 31.5235);
  assert.ok(Object.is(toFahrenheit(-17.77778, "C"), 0));
  assert.ok(Object.is(toFahrenheit(-0.00001, "F"), 0));
});

Deno.test("checkOrder: only a later date than the previous accepted one passes", () => {
  assert.equal(checkOrder("2012-01-01", undefined), undefined);
  assert.equal(checkOrder("2012-01-06", { date: "2012-01-05", line: 7 }), undefined);
  assert.deepEqual(checkOrder("2012-01-05", { date: "2012-01-05", line: 7 }), {
    reason: "date 2012-01-05 is not after 2012-01-05 (line 7)",
  });
  assert.deepEqual(checkOrder("2011-12-31", { date: "2012-01-05", line: 7 }), {
    reason: "date 2011-12-31 is not after 2012-01-05 (line 7)",
  });
});

Deno.test("rowLayout: CSV rows checked against the header and turned into reports", () => {
  const layout = rowLayout(" date , tmax,station", {
    ...OPTIONS,
    where: [{ column: "station", value: "New York" }],
  }) as Layout;
  assert.equal(layout.format, "CSV");
  assert.equal(layout.firstLineIsRow, false);
  const row = layout.parseRow;
  assert.deepEqual(row("2012-01-01,12.8,New York"), { date: "2012-01-01", degrees: 55.04 });
  assert.deepEqual(row('1/2/2012," 5 ", New York '), { date: "2012-01-02", degrees: 41 });
  assert.equal(row("2012-01-01,12.8,Seattle"), null);
  assert.equal(row("2012-01-01,oops,Seattle"), null);
  assert.deepEqual(row("2012-01-01,12.8"), { reason: "2 fields where the header has 3" });
  assert.deepEqual(row("2012-01-01,12.8,New York,x"), {
    reason: "4 fields where the header has 3",
  });
  assert.deepEqual(row('2012-01-01,"12.8,New York'), { reason: "field 2 has no closing quote" });
  assert.deepEqual(row(",12.8,New York"), { reason: "date is missing" });
  assert.deepEqual(row("2012-01-01,,New York"), { reason: "tmax is missing" });
  assert.deepEqual(row("2012-02-30,1,New York"), { reason: 'date "2012-02-30" does not exist' });
  assert.deepEqual(row("2012-01-01,NA,New York"), { reason: 'tmax "NA" is not a number' });
  assert.deepEqual(row("2012-01-01,-300,New York"), {
    reason: "tmax -300 °C is below absolute zero",
  });
});

Deno.test("rowLayout: a header without the columns, or no header at all, is invalid", () => {
  assert.deepEqual(rowLayout("day,tmax", OPTIONS), {
    reason: 'no column "date" in its header (day, tmax)',
  });
  assert.deepEqual(rowLayout("date,temp", OPTIONS), {
    reason: 'no column "tmax" in its header (date, temp)',
  });
  assert.deepEqual(
    rowLayout("date,tmax", { ...OPTIONS, where: [{ column: "station", value: "x" }] }),
    { reason: 'no column "station" in its header (date, tmax)' },
  );
  assert.deepEqual(rowLayout("2012-01-01,12.8", OPTIONS), {
    reason: "it has no header row (its first line holds the date 2012-01-01)",
  });
  assert.deepEqual(rowLayout("date,tmax,date", OPTIONS), {
    reason: 'column "date" appears twice in its header',
  });
  assert.deepEqual(rowLayout('date,"tmax', OPTIONS), {
    reason: "its header row is not valid CSV: field 2 has no closing quote",
  });
});

Deno.test("rowLayout: JSON Lines, the first record's keys are the columns", () => {
  const first = '{"date": "2012-01-01", "tmax": 12.8, "station": "NY"}';
  const layout = rowLayout(first, { ...OPTIONS, where: [{ column: "station", value: "NY" }] });
  assert.equal((layout as Layout).format, "JSON Lines");
  assert.equal((layout as Layout).firstLineIsRow, true);
  const row = (layout as Layout).parseRow;
  assert.deepEqual(row(first), { date: "2012-01-01", degrees: 55.04 });
  assert.deepEqual(row('{"date": 20120102, "tmax": " 5 ", "station": " NY "}'), {
    date: "2012-01-02",
    degrees: 41,
  });
  assert.equal(row('{"date": "2012-01-01", "tmax": 1, "station": "SEA"}'), null);
  assert.equal(row('{"date": "2012-01-01", "tmax": 1}'), null);
  assert.deepEqual(row('{"date": "2012-01-01", "tmax": 1, "station": "NY"'), {
    reason: "not valid JSON",
  });
  assert.deepEqual(row("[1, 2]"), { reason: "not a JSON object" });
  assert.deepEqual(row('{"date": "2012-01-01", "tmax": null, "station": "NY"}'), {
    reason: "tmax is missing",
  });
  assert.deepEqual(row('{"tmax": 1, "station": "NY"}'), { reason: "date is missing" });
  assert.deepEqual(row('{"date": true, "tmax": 1, "station": "NY"}'), {
    reason: "date true is not a date",
  });
  assert.deepEqual(row('{"date": "2012-01-01", "tmax": [1], "station": "NY"}'), {
    reason: "tmax [1] is not a number",
  });
  assert.deepEqual(row('{"date": "2012-01-01", "tmax": 1e999, "station": "NY"}'), {
    reason: "tmax Infinity is not a finite number",
  });
  assert.deepEqual(rowLayout('{"date": "2012-01-01"}', OPTIONS), {
    reason: 'no key "tmax" in its first record (keys: date)',
  });
  assert.deepEqual(rowLayout("{oops", OPTIONS), { reason: "its first line is not valid JSON" });
});

async function collect(chunks: string[], maxLineLength?: number) {
  const pages = [];
  for await (const page of splitLines(ReadableStream.from(chunks), { maxLineLength })) {
    pages.push(page);
  }
  return pages;
}

Deno.test("splitLines: lines across chunks, CRLF, no final newline, numbered from 1", async () => {
  assert.deepEqual(await collect(["a,b\nc", "d\r\n", "e\n\nf"]), [
    { first: 1, lines: ["a,b"] },
    { first: 2, lines: ["cd"] },
    { first: 3, lines: ["e", ""] },
    { first: 5, lines: ["f"] },
  ]);
  assert.deepEqual(await collect(["x\n"]), [{ first: 1, lines: ["x"] }]);
  assert.deepEqual(await collect([]), []);
});

Deno.test("splitLines: a line longer than the limit is dropped as it comes, as null", async () => {
  assert.deepEqual(await collect(["12345\nabc", "def", "ghi\r\nok\r\n", "1234\r\n"], 5), [
    { first: 1, lines: ["12345"] },
    { first: 2, lines: [null, "ok"] },
    { first: 4, lines: ["1234"] },
  ]);
  assert.deepEqual(await collect(["123456\n"], 5), [{ first: 1, lines: [null] }]);
  assert.deepEqual(await collect(["1234", "56"], 5), [{ first: 1, lines: [null] }]);
});

/** Whether this process has a file descriptor open on `path` (Linux). */
function isOpen(path: string): boolean {
  return [...Deno.readDirSync("/proc/self/fd")].some((entry) => {
    try {
      return Deno.readLinkSync(`/proc/self/fd/${entry.name}`) === path;
    } catch {
      return false; // closed meanwhile
    }
  });
}

/** Waits until no file descriptor is open on `path`: Deno closes a file when its last read ends. */
async function assertClosed(path: string): Promise<void> {
  for (let tries = 0; isOpen(path); tries++) {
    assert.ok(tries < 100, `${path} is still open after 1 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Replays `text` from a file to the end, and checks the file is closed however it ends. */
async function replayFile(text: string, options: Partial<ReplayOptions> = {}) {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "p7-replay-" }));
  const path = join(dir, "input.txt");
  await Deno.writeTextFile(path, text);
  try {
    const replay = await openReplay(path, { ...OPTIONS, ...options });
    const items: ReplayItem[] = [];
    for await (const page of replay.pages) items.push(...page);
    return { format: replay.format, items };
  } finally {
    await assertClosed(path);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openReplay: every row after the header once, in order, bad ones with line numbers", async () => {
  const text = [
    "\uFEFF", // a blank first line after the byte order mark
    "date,tmax,station",
    "2012-01-01,10,A",
    "2012-01-01,11,A",
    "",
    "2012-01-03,oops,A",
    "2012-01-02, 12 ,A",
    "2012-01-02,13,B",
    "2011-12-31,13,A",
    "2012-01-03,14,A",
  ].join("\r\n");
  const { format, items } = await replayFile(text, {
    where: [{ column: "station", value: "A" }],
  });
  assert.equal(format, "CSV");
  assert.deepEqual(items, [
    { report: { date: "2012-01-01", degrees: 50 }, duplicate: false },
    { line: 4, reason: "date 2012-01-01 is not after 2012-01-01 (line 3)" },
    { line: 6, reason: 'tmax "oops" is not a number' },
    { report: { date: "2012-01-02", degrees: 53.6 }, duplicate: false },
    { filtered: true },
    { line: 9, reason: "date 2011-12-31 is not after 2012-01-02 (line 7)" },
    { report: { date: "2012-01-03", degrees: 57.2 }, duplicate: false },
  ]);
});

Deno.test("openReplay: JSON Lines from its first line", async () => {
  const { format, items } = await replayFile(
    '\n{"date": "2012-01-01", "tmax": 0}\n{"date": "2012-01-02"}\n',
  );
  assert.equal(format, "JSON Lines");
  assert.deepEqual(items, [
    { report: { date: "2012-01-01", degrees: 32 }, duplicate: false },
    { line: 3, reason: "tmax is missing" },
  ]);
});

Deno.test("openReplay: a file that cannot be replayed is one INPUT error naming it", async () => {
  const fails = async (text: string, message: RegExp) => {
    await assert.rejects(() => replayFile(text), (e) => {
      assert.ok(e instanceof P7Error);
      assert.equal(e.code, "INPUT");
      assert.match(e.message, /^Cannot replay ".*input\.txt": /);
      assert.match(e.message, message);
      return true;
    });
  };
  await fails("", /the file is empty$/);
  await fails("\n \n\r\n", /the file is empty$/);
  await fails("day,tmax\n2012-01-01,1\n", /no column "date" in its header \(day, tmax\)$/);
  await fails("2012-01-01,1\n", /it has no header row/);
  await assert.rejects(() => openReplay("/nonexistent/p7.csv", OPTIONS), {
    message: 'Cannot replay "/nonexistent/p7.csv": no such file',
  });
  const dir = await Deno.makeTempDir({ prefix: "p7-replay-" });
  await assert.rejects(() => openReplay(dir, OPTIONS), {
    message: `Cannot replay ${JSON.stringify(dir)}: it is a directory`,
  });
  await Deno.remove(dir);
});

Deno.test("openReplay: rows come a page at a time; returning the pages closes the file", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "p7-replay-" }));
  const path = join(dir, "big.csv");
  const rows = Array.from(
    { length: 50_000 },
    (_, i) => `${new Date(Date.UTC(2000, 0, 1 + i)).toISOString().slice(0, 10)},1`,
  );
  await Deno.writeTextFile(path, `date,tmax\n${rows.join("\n")}\n`);
  const replay = await openReplay(path, OPTIONS);
  const first = await replay.pages.next();
  assert.ok(!first.done && first.value.length > 0 && first.value.length < 50_000);
  assert.ok(isOpen(path));
  await replay.pages.return([]);
  await assertClosed(path);
  await Deno.remove(dir, { recursive: true });
});
