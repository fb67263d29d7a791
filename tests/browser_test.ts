/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core): the page
 * draws marks for the data on disk from the server alone, and redraws without a reload
 * when the consumer writes new data.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import {
  consume,
  expectedBars,
  monthsOnDisk,
  pointCount,
  startDashboard,
} from "./dashboard_harness.ts";
import {
  backfill,
  laggingCsv,
  MONTH_NAMES,
  readAll,
  readAnomalies,
  ROOT,
  run,
  spawn,
  tempDir,
  waitCaughtUp,
  waitFor,
} from "./harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const installed = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!installed) console.log("skipped: chromium not installed (scripts/setup.sh installs it)");

/** The marks' accessible labels of a chart, as vega writes them into the SVG. */
function labels(page: Page, chart: string, mark: string): Promise<string[]> {
  return page.locator(`#${chart} g.mark-${mark}.role-mark path`).evaluateAll((paths) =>
    paths.map((path) => path.getAttribute("aria-label") ?? "")
  );
}

/** `"N state"` for each row of the page's partition table. */
function rowStates(page: Page): Promise<string[]> {
  return page.locator("#partitions tr").evaluateAll((rows) =>
    rows.map((row) => `${row.getAttribute("data-partition")} ${row.getAttribute("data-state")}`)
  );
}

async function bars(page: Page): Promise<[string, number][]> {
  return (await labels(page, "months", "rect")).map((label) => {
    const match = /^label: (.*); Avg\. Max Temperature: (.*)$/.exec(label);
    assert.ok(match, label);
    return [match[1]!, Number(match[2])];
  });
}

/**
 * Debian's Chromium on a fresh profile, with one page; `problems` collects the page's errors
 * and any request that leaves `url`.
 */
async function openBrowser(url: string) {
  const profile = await Deno.makeTempDir({ prefix: "p7-chromium-" });
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1280, height: 900 },
  });
  const page = browser.pages()[0] ?? await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("request", (request) => {
    if (!request.url().startsWith(url + "/")) problems.push(`request ${request.url()}`);
  });
  const close = async () => {
    await browser.close();
    await Deno.remove(profile, { recursive: true });
  };
  return { page, problems, close };
}

Deno.test({
  name: "the page draws the files on disk and follows the consumer without a reload",
  ignore: !installed,
  // playwright-core keeps timers and pipes of its own between calls.
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await backfill(2000, 11);
  // A folder the consumer has not made yet: the page starts empty.
  const dir = join(await tempDir(), "files");
  const dashboard = await startDashboard(["--dir", dir]);
  const { page, problems, close } = await openBrowser(dashboard.url);
  try {
    await page.goto(dashboard.url + "/");
    await page.locator("body[data-updates]").waitFor();
    assert.equal(await page.title(), "p7 dashboard: live temperatures");
    assert.match(await page.locator("#status").innerText(), /^Live\./);
    assert.equal(await page.locator("#empty").isVisible(), true);
    assert.match(await page.locator("#empty").innerText(), /no partition file in/i);
    assert.equal(await page.locator("#empty-dir").innerText(), dir);
    assert.equal(await page.locator("#temperature").innerText(), "No partition files yet.");
    assert.deepEqual(await rowStates(page), ["0 missing", "1 missing", "2 missing", "3 missing"]);

    // A reload would drop this mark and start the update count again.
    await page.evaluate(() => Object.assign(globalThis, { p7Mark: true }));
    await consume(dir, [0, 1]);
    let months = await monthsOnDisk(dir);
    await waitFor(
      "the page to draw partitions 0 and 1",
      async () =>
        await page.locator("#temperature g.mark-symbol.role-mark path").count() ===
          pointCount(months),
      10_000,
    );
    assert.equal(await page.locator("#empty").isVisible(), false);
    assert.ok(months.size > 0 && months.size < 12, `partitions 0 and 1 hold ${months.size} months`);
    assert.equal(
      await page.locator("#temperature g.mark-symbol.role-mark path").count(),
      pointCount(months),
    );
    assert.equal(
      await page.locator("#temperature g.mark-line.role-mark path").count(),
      months.size,
    );
    assert.deepEqual(await bars(page), expectedBars(months));
    assert.deepEqual(
      (await labels(page, "lag", "rect")).map((label) => label.split(";")[0]),
      ["Partition: 0", "Partition: 1"],
    );
    assert.deepEqual(await rowStates(page), ["0 ok", "1 ok", "2 missing", "3 missing"]);
    // Screen readers get each chart's description on its container.
    assert.match(
      (await page.locator("#temperature").getAttribute("aria-label"))!,
      new RegExp(`for ${months.size} months: `),
    );
    assert.equal(await page.locator("#months").getAttribute("role"), "graphics-document");

    const before = Number(await page.locator("body").getAttribute("data-updates"));
    // Anomalies after two earlier years: 2000 days have some.
    const consumer = spawn("consumer.ts", ["2", "3", "--dir", dir, "--anomaly-years", "2"]);
    await waitCaughtUp(dir, [2, 3]);
    const written = performance.now();
    months = await monthsOnDisk(dir);
    await waitFor(
      "the page to draw every point",
      async () =>
        await page.locator("#temperature g.mark-symbol.role-mark path").count() ===
          pointCount(months),
      10_000,
    );
    const ms = Math.round(performance.now() - written);
    console.log(`the page showed the last write after at most ${ms} ms`);
    assert.ok(ms < 3000, `the page took ${ms} ms to follow the files`);
    assert.equal((await consumer.stop()).code, 0);
    assert.equal(months.size, 12);
    assert.equal(await page.evaluate(() => "p7Mark" in globalThis), true, "the page was reloaded");
    assert.ok(Number(await page.locator("body").getAttribute("data-updates")) > before);
    assert.deepEqual(await bars(page), expectedBars(months));
    assert.equal(await page.locator("#temperature g.mark-line.role-mark path").count(), 12);
    await waitFor(
      "the lag of every partition",
      async () => (await rowStates(page)).join() === "0 ok,1 ok,2 ok,3 ok",
      10_000,
    );
    assert.equal(await labels(page, "lag", "rect").then((found) => found.length), 4);

    // Each month's extremes, and the latest anomalies newest first, as the files have them.
    const files = await readAll(dir);
    const expectedExtremes = MONTH_NAMES.map((month) => {
      const years = files.map((file) => file[month]).find((years) => years !== undefined) as
        | Record<string, { min: number; max: number }>
        | undefined;
      const latest = Object.keys(years!).sort().at(-1)!;
      return `${month} ${latest} ${years![latest]!.min.toFixed(1)} ${
        years![latest]!.max.toFixed(1)
      }`;
    });
    const extremes = await page.locator("#extremes tr").evaluateAll((rows) =>
      rows.map((row) => {
        const cells = [...row.children].map((cell) => cell.textContent);
        return `${cells[0]} ${cells[1]} ${cells[2]} ${cells[4]}`;
      })
    );
    assert.deepEqual(extremes, expectedExtremes);
    const logged = (await readAnomalies(dir)).flat() as { date: string }[];
    assert.ok(logged.length > 0, "no anomaly in 2000 days");
    const latest = logged.map((anomaly) => anomaly.date).sort().reverse().slice(0, 20);
    await waitFor(
      "the page to list the latest anomalies",
      async () =>
        (await page.locator("#anomalies tr").evaluateAll((rows) =>
          rows.map((row) => row.getAttribute("data-date"))
        )).join() === latest.join(),
      10_000,
    );
    assert.match(
      await page.locator("#anomalies-total").innerText(),
      new RegExp(`^${logged.length} anomal(y|ies) in all; the latest ${latest.length}:$`),
    );
    await Deno.mkdir(join(ROOT, "test-artifacts"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-artifacts/dashboard.png"), fullPage: true });

    // A broken file is marked in its row; the charts go on with the others.
    await Deno.writeTextFile(join(dir, "partition-1.json"), "{ not json");
    await waitFor(
      "partition 1 marked unreadable",
      async () => (await rowStates(page)).join() === "0 ok,1 unreadable,2 ok,3 ok",
      10_000,
    );
    assert.match(
      await page.locator('#partitions tr[data-partition="1"]').innerText(),
      /unreadable: not valid JSON/,
    );
    await Deno.remove(join(dir, "partition-1.json"));
    const rest = pointCount(await monthsOnDisk(dir));
    await waitFor(
      "the charts without partition 1",
      async () => await page.locator("#temperature g.mark-symbol.role-mark path").count() === rest,
      10_000,
    );
    assert.equal(await page.evaluate(() => "p7Mark" in globalThis), true, "the page was reloaded");
    assert.deepEqual(problems, []);
  } finally {
    await close();
    const result = await dashboard.process.stop();
    assert.equal(result.code, 0, result.stderr);
  }
});

Deno.test({
  name: "a station and a measurement picked: charts, extremes and anomalies follow them",
  ignore: !installed,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const replayed = await run("producer.ts", [
    "--source",
    join(ROOT, "data", "nycflights13-weather.csv"),
    "--station-column",
    "origin",
    "--time-column",
    "time_hour",
    "--measure",
    "temperature=temp:F",
    "--measure",
    "humidity=humid:%",
    "--delay",
    "0",
  ]);
  assert.equal(replayed.code, 0, replayed.stderr);
  const dir = await tempDir();
  await consume(dir, [0, 1, 2, 3], ["--window", "1d"]);
  const dashboard = await startDashboard(["--dir", dir]);
  const { page, problems, close } = await openBrowser(dashboard.url);
  try {
    await page.goto(dashboard.url + "/");
    await page.locator("body[data-updates]").waitFor();
    assert.equal(await page.locator("#series-picker").isVisible(), true);
    const stations = await page.locator("#station option").evaluateAll((options) =>
      options.map((option) => option.textContent)
    );
    assert.deepEqual(stations, ["EWR", "JFK", "LGA"]);
    // The first station's temperature until something is picked.
    assert.match(
      await page.locator("#temperature-caption").innerText(),
      /temperature \(F\) at EWR/,
    );
    await page.selectOption("#station", "JFK");
    await page.locator("#temperature-caption", { hasText: "at JFK" }).waitFor();
    await page.selectOption("#measure", "humidity");
    await page.locator("#temperature-caption", { hasText: "humidity (%) at JFK" }).waitFor();
    assert.match(page.url(), /\?station=JFK&measure=humidity$/);
    // The file's numbers for JFK's humidity, month by month.
    const files = await readAll(dir);
    const jfk = files.map((file) =>
      (file.stations as Record<string, { measures: Record<string, unknown> }> | undefined)?.JFK
    ).find((station) => station !== undefined)!;
    const humidity = jfk.measures.humidity as Record<
      string,
      Record<string, Record<string, number>>
    >;
    const expected = MONTH_NAMES.map((month) => {
      const july = humidity[month]!["2013"]!;
      return `${month} 2013 ${july.min!.toFixed(1)} ${july.avg!.toFixed(1)} ${
        july.max!.toFixed(1)
      }`;
    });
    await waitFor("the extremes of JFK's humidity", async () => {
      const rows = await page.locator("#extremes tr").evaluateAll((rows) =>
        rows.map((row) => [...row.children].slice(0, 5).map((cell) => cell.textContent).join(" "))
      );
      return rows.join() === expected.join();
    }, 10_000);
    // One point per month of 2013; no month.svg bars for a station's series.
    assert.equal(await page.locator("#temperature g.mark-symbol.role-mark path").count(), 12);
    assert.equal(await page.locator("#months-figure").isVisible(), false);
    assert.equal(await page.locator("#anomalies-unit").innerText(), "%");
    await Deno.mkdir(join(ROOT, "test-artifacts"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-artifacts/dashboard-stations.png") });
    // The last 90 days of JFK's temperature from its daily windows, with the 7-day rolling
    // mean of the API beside the day's own mean; the last day is still open, so not shown.
    await page.selectOption("#measure", "temperature");
    await page.locator("#rolling-caption", { hasText: "temperature (F) at JFK" }).waitFor();
    const api =
      await (await fetch(`${dashboard.url}/api/rolling?station=JFK&measure=temperature&days=7`))
        .json();
    const last = api.points.at(-1);
    assert.equal(last.day, "2013-12-29");
    assert.equal(api.points.length, 363);
    const lines = await page.locator("#rolling g.mark-line.role-mark path").count();
    assert.equal(lines, 2, "the daily mean and the rolling mean");
    const description = (await page.locator("#rolling").getAttribute("aria-label"))!;
    assert.match(description, /for the 90 days from 2013-10-01 to 2013-12-29/);
    await page.locator("#rolling-figure").screenshot({
      path: join(ROOT, "test-artifacts/dashboard-rolling.png"),
    });
    // Back to the first station's temperature, then the address picks humidity at LGA.
    await page.goto(dashboard.url + "/?station=LGA&measure=humidity");
    await page.locator("#temperature-caption", { hasText: "humidity (%) at LGA" }).waitFor();
    assert.equal(await page.locator("#station").inputValue(), "LGA");
    assert.deepEqual(problems, []);
  } finally {
    await close();
    const result = await dashboard.process.stop();
    assert.equal(result.code, 0, result.stderr);
  }
});

Deno.test({
  name: "late values of a station behind its partition are on the page",
  ignore: !installed,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const work = await tempDir();
  const { replay } = await laggingCsv(work, 48);
  const replayed = await run("producer.ts", [...replay, "--delay", "0"]);
  assert.equal(replayed.code, 0, replayed.stderr);
  const dir = join(work, "files");
  await consume(dir, [0, 3], ["--window", "1h", "--grace", "1h"]);
  const dashboard = await startDashboard(["--dir", dir]);
  const { page, problems, close } = await openBrowser(dashboard.url);
  try {
    await page.goto(dashboard.url + "/?station=Behind&measure=temperature");
    await page.locator("#late-total", { hasText: "48 late values; the latest 20:" }).waitFor();
    const first = await page.locator("#late tr").first().evaluate((row) =>
      [...row.children].map((cell) => cell.textContent)
    );
    // Behind's last hour, three hours behind Ahead's: it missed its hour by an hour.
    assert.deepEqual(first, [
      "2013-07-02T20:00:00Z",
      "64.00",
      "1h from 2013-07-02T20:00:00Z",
      "2013-07-02T23:00:00Z",
      "3600 s",
      "0",
    ]);
    await page.selectOption("#station", "North");
    await page.locator("#late-total", { hasText: "No late value." }).waitFor();
    // Hourly windows only: no rolling mean, and the page says why.
    const rolling = await fetch(`${dashboard.url}/api/rolling?station=North&measure=temperature`);
    assert.equal(rolling.status, 404);
    assert.deepEqual(await rolling.json(), {
      error: "no daily windows of this series (consumer --window 1d)",
    });
    const bad = await fetch(`${dashboard.url}/api/rolling?days=0`);
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    assert.match(await page.locator("#rolling").innerText(), /No daily windows/);
    assert.deepEqual(problems, []);
  } finally {
    await close();
    const result = await dashboard.process.stop();
    assert.equal(result.code, 0, result.stderr);
  }
});
