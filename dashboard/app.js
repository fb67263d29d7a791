// The dashboard page: draws the chart specs the server builds with vega-embed, fills the
// partition table, and redraws whenever the server reports a changed partition file or lag
// (server-sent events), so nothing polls.
/* global vega, vegaEmbed */
"use strict";

// Vega's expression interpreter instead of eval, as the server's content policy requires.
const EMBED_OPTIONS = { actions: false, renderer: "svg", ast: true };
const CHARTS = ["temperature", "months", "lag"];
const STATES = {
  ok: "ok",
  missing: "no file yet",
  unreadable: "unreadable",
  ahead: "checkpoint beyond the topic's end",
  unknown: "not a partition of the topic",
};

/** Per chart: the view on screen and its spec without data, to tell a data change apart. */
const shown = new Map();
let busy = false;
let again = false;

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  // /api/lag answers 503 with {error} when Kafka is unreachable.
  if (!response.ok && response.status !== 503) throw new Error(`${path}: ${response.status}`);
  return await response.json();
}

function number(value, digits = 0) {
  return value === null || value === undefined ? "–" : value.toFixed(digits);
}

function cell(tag, text, attributes = {}) {
  const element = document.createElement(tag);
  element.textContent = text;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

function renderTable(files, lag) {
  const rows = new Map();
  for (const entry of files.partitions) {
    rows.set(entry.partition, {
      partition: entry.partition,
      file: entry.file,
      state: "error" in entry ? "unreadable" : "ok",
      error: entry.error,
      checkpoint: entry.offset ?? null,
    });
  }
  for (const row of lag.partitions ?? []) {
    rows.set(row.partition, { ...rows.get(row.partition), ...row });
  }
  const body = document.getElementById("partitions");
  body.replaceChildren(
    ...[...rows.values()].sort((a, b) => a.partition - b.partition).map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.partition = String(row.partition);
      tr.dataset.state = row.state;
      if (row.state !== "ok") tr.className = "problem";
      const state = row.state === "unreadable" ? `unreadable: ${row.error}` : STATES[row.state];
      tr.append(
        cell("th", String(row.partition), { scope: "row" }),
        cell("td", row.file),
        cell("td", state),
        cell("td", number(row.end)),
        cell("td", number(row.checkpoint)),
        cell("td", number(row.lag)),
        cell("td", number(row.producedPerSec, 1)),
        cell("td", number(row.consumedPerSec, 1)),
      );
      return tr;
    }),
  );
  const error = document.getElementById("lag-error");
  error.hidden = lag.error === undefined;
  error.textContent = lag.error === undefined ? "" : `Lag unknown: ${lag.error}`;
  document.getElementById("empty").hidden = files.partitions.length > 0;
  document.getElementById("empty-dir").textContent = files.dir;
}

function renderExtremes(body) {
  document.getElementById("extremes").replaceChildren(
    ...body.months.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.month = row.month;
      tr.append(
        cell("th", row.month, { scope: "row" }),
        cell("td", row.year),
        cell("td", number(row.min, 1)),
        cell("td", number(row.avg, 1)),
        cell("td", number(row.max, 1)),
        cell("td", `${number(row.low.degrees, 1)} (${row.low.year})`),
        cell("td", `${number(row.high.degrees, 1)} (${row.high.year})`),
      );
      return tr;
    }),
  );
}

function renderAnomalies(body) {
  const shown = body.latest.length;
  document.getElementById("anomalies-total").textContent = body.total === 0
    ? "No anomaly yet."
    : `${body.total} ${body.total === 1 ? "anomaly" : "anomalies"} in all; the latest ${shown}:`;
  document.getElementById("anomalies").replaceChildren(
    ...body.latest.map((anomaly) => {
      const tr = document.createElement("tr");
      tr.dataset.date = anomaly.date;
      tr.className = anomaly.z > 0 ? "hot" : "cold";
      tr.append(
        cell("th", anomaly.date, { scope: "row" }),
        cell("td", number(anomaly.degrees, 1)),
        cell("td", `${number(anomaly.mean, 1)} ± ${number(anomaly.std, 1)}`),
        cell("td", `${anomaly.z > 0 ? "+" : ""}${number(anomaly.z, 2)}`),
        cell("td", String(anomaly.partition)),
      );
      return tr;
    }),
  );
}

async function renderChart(name, spec, absent) {
  const element = document.getElementById(name);
  const old = shown.get(name);
  if (spec === null) {
    old?.result.finalize();
    shown.delete(name);
    element.replaceChildren(cell("p", absent, { class: "absent" }));
    return;
  }
  const values = spec.data.values;
  const shape = JSON.stringify({ ...spec, data: null });
  if (old !== undefined && old.shape === shape) {
    // Same chart, new numbers: change its data in place instead of drawing it anew.
    const changes = vega.changeset().remove(() => true).insert(values);
    await old.result.view.change("values", changes).runAsync();
    return;
  }
  old?.result.finalize();
  const named = { ...spec, data: { name: "values", values } };
  shown.set(name, { shape, result: await vegaEmbed(element, named, EMBED_OPTIONS) });
}

async function draw() {
  const [files, lag, charts, extremes, anomalies] = await Promise.all(
    ["/api/partitions", "/api/lag", "/api/charts", "/api/extremes", "/api/anomalies"].map(getJson),
  );
  renderTable(files, lag);
  renderExtremes(extremes);
  renderAnomalies(anomalies);
  const noData = files.partitions.length === 0
    ? "No partition files yet."
    : "No readable data yet.";
  const absent = {
    temperature: noData,
    months: noData,
    lag: lag.error === undefined ? "No partition yet." : "Lag unknown: Kafka did not answer.",
  };
  for (const name of CHARTS) await renderChart(name, charts[name], absent[name]);
  const time = new Date().toLocaleTimeString();
  document.getElementById("status").textContent = `Live. Updated at ${time}.`;
  document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
}

/** Redraws, once more after the current drawing when events came in meanwhile. */
async function refresh() {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  try {
    do {
      again = false;
      await draw();
    } while (again);
  } catch (error) {
    document.getElementById("status").textContent = `Update failed: ${error.message}`;
  } finally {
    busy = false;
  }
}

const events = new EventSource("/events");
// Also on every reconnection: events sent while disconnected are lost.
events.addEventListener("open", refresh);
events.addEventListener("partition", refresh);
events.addEventListener("lag", refresh);
events.addEventListener("error", () => {
  document.getElementById("status").textContent = "Disconnected from the server; retrying…";
});
