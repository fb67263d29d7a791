// The dashboard page: draws the chart specs the server builds with vega-embed, fills the
// partition table, and redraws whenever the server reports a changed partition file or lag
// (server-sent events), so nothing polls.
/* global vega, vegaEmbed */
"use strict";

// Vega's expression interpreter instead of eval, as the server's content policy requires.
const EMBED_OPTIONS = { actions: false, renderer: "svg", ast: true };
const CHARTS = ["temperature", "months", "rolling", "lag"];
const STATES = {
  ok: "ok",
  missing: "no file yet",
  unreadable: "unreadable",
  ahead: "checkpoint beyond the topic's end",
  unknown: "not a partition of the topic",
};

/** The course's captions, shown while no station is picked. */
const CAPTIONS = {};
/** The station and measurement shown, or null for the course's single series. */
let pick = null;
const initial = new URLSearchParams(location.search);
if (initial.get("station") && initial.get("measure")) {
  pick = { station: initial.get("station"), measure: initial.get("measure") };
}

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
      tr.dataset.date = anomaly.time ?? anomaly.date;
      tr.className = anomaly.z > 0 ? "hot" : "cold";
      tr.append(
        cell("th", anomaly.time ?? anomaly.date, { scope: "row" }),
        cell("td", number(anomaly.degrees, 1)),
        cell("td", `${number(anomaly.mean, 1)} ± ${number(anomaly.std, 1)}`),
        cell("td", `${anomaly.z > 0 ? "+" : ""}${number(anomaly.z, 2)}`),
        cell("td", String(anomaly.partition)),
      );
      return tr;
    }),
  );
}

/** The late values of the series shown: how many, and the latest ones. */
function renderLate(body) {
  document.getElementById("late-total").textContent = body.total === 0
    ? "No late value."
    : `${body.total} late ${body.total === 1 ? "value" : "values"}` +
      (body.total > body.latest.length ? `; the latest ${body.latest.length}:` : ":");
  document.getElementById("late").replaceChildren(
    ...body.latest.map((late) => {
      const row = document.createElement("tr");
      row.append(
        cell("td", late.time),
        cell("td", number(late.value, 2)),
        cell("td", `${late.window.size} from ${late.window.start}`),
        cell("td", late.streamTime),
        cell("td", `${number(late.lateBy)} s`),
        cell("td", String(late.partition)),
      );
      return row;
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

/** The query naming the pick, for the API and the page's address. */
function pickQuery() {
  return pick === null
    ? ""
    : `?station=${encodeURIComponent(pick.station)}&measure=${encodeURIComponent(pick.measure)}`;
}

function option(value, text, selected) {
  const element = cell("option", text, { value });
  element.selected = selected;
  return element;
}

/**
 * The pickers: shown once the files hold stations, each station's measurements in the second.
 * Keeps the pick while it exists; else the first station (or the course's series, when the
 * files hold it too) and its temperature or first measurement.
 */
function renderPicker(stations, hasSeries) {
  const form = document.getElementById("series-picker");
  form.hidden = stations.length === 0;
  if (stations.length === 0) {
    pick = null;
    return;
  }
  const named = pick && stations.find((s) => s.station === pick.station);
  if (!named && (pick !== null || !hasSeries)) {
    const first = stations[0];
    const temperature = first.measures.find((m) => m.measure === "temperature");
    pick = { station: first.station, measure: (temperature ?? first.measures[0]).measure };
  }
  const station = pick && stations.find((s) => s.station === pick.station);
  if (station && !station.measures.some((m) => m.measure === pick.measure)) {
    pick.measure = station.measures[0].measure;
  }
  document.getElementById("station").replaceChildren(
    ...(hasSeries ? [option("", "single series (course)", pick === null)] : []),
    ...stations.map((s) => option(s.station, s.station, pick?.station === s.station)),
  );
  const measure = document.getElementById("measure");
  measure.disabled = pick === null;
  measure.replaceChildren(
    ...(station?.measures ?? []).map((m) =>
      option(m.measure, `${m.measure.replace("_", " ")} (${m.unit})`, m.measure === pick.measure)
    ),
  );
  const about = station?.measures.find((m) => m.measure === pick.measure);
  document.getElementById("series-about").textContent = about
    ? `${about.count} observations, ${about.first} to ${about.last}`
    : "";
}

/** The captions and headings of the series shown. */
function renderLabels(stations) {
  const ids = [
    "temperature-caption",
    "rolling-caption",
    "extremes-caption",
    "anomalies-when",
    "anomalies-unit",
  ];
  for (const id of ids) CAPTIONS[id] ??= document.getElementById(id).textContent;
  const station = pick && stations.find((s) => s.station === pick.station);
  const measure = station?.measures.find((m) => m.measure === pick.measure);
  document.getElementById("months-figure").hidden = measure !== undefined;
  if (measure === undefined) {
    for (const id of ids) document.getElementById(id).textContent = CAPTIONS[id];
    return;
  }
  const name = `${measure.measure.replace("_", " ")} (${measure.unit})`;
  document.getElementById("temperature-caption").textContent =
    `Average ${name} at ${pick.station} by year, one line per month`;
  document.getElementById("rolling-caption").textContent =
    `${name} at ${pick.station}, the last 90 days: each day's mean and its 7-day rolling mean`;
  document.getElementById("extremes-caption").textContent =
    `${pick.station}, ${name}: each month's latest year, its lowest, average and highest ` +
    `value; and the lowest and highest of any year`;
  document.getElementById("anomalies-when").textContent = "Time";
  document.getElementById("anomalies-unit").textContent = measure.unit;
}

async function draw() {
  const [files, { stations }] = await Promise.all(
    ["/api/partitions", "/api/stations"].map(getJson),
  );
  const hasSeries = files.partitions.some((entry) => Object.keys(entry.months ?? {}).length > 0);
  renderPicker(stations, hasSeries);
  renderLabels(stations);
  const query = pickQuery();
  const [lag, charts, extremes, anomalies, late] = await Promise.all(
    ["/api/lag", "/api/charts", "/api/extremes", "/api/anomalies", "/api/late"]
      .map((path, i) => getJson(i === 0 ? path : path + query)),
  );
  renderTable(files, lag);
  renderExtremes(extremes);
  renderAnomalies(anomalies);
  renderLate(late);
  const noData = files.partitions.length === 0
    ? "No partition files yet."
    : "No readable data yet.";
  const absent = {
    temperature: noData,
    months: noData,
    rolling: "No daily windows: count with consumer --window 1d.",
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

/** A new pick: the page redraws for it, and its address names it (to share or reload). */
function picked() {
  const station = document.getElementById("station").value;
  const measure = document.getElementById("measure").value;
  const changedStation = station !== (pick?.station ?? "");
  pick = station === "" ? null : { station, measure: changedStation ? "temperature" : measure };
  history.replaceState(null, "", location.pathname + pickQuery());
  refresh();
}
document.getElementById("station").addEventListener("change", picked);
document.getElementById("measure").addEventListener("change", picked);

const events = new EventSource("/events");
// Also on every reconnection: events sent while disconnected are lost.
events.addEventListener("open", refresh);
events.addEventListener("partition", refresh);
events.addEventListener("lag", refresh);
events.addEventListener("error", () => {
  document.getElementById("status").textContent = "Disconnected from the server; retrying…";
});
