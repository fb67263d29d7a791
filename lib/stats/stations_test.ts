import assert from "node:assert/strict";
import { encodeReport, type Report, validateRecord } from "../kafka/report.ts";
import { countReport, parseStats, type PartitionStats, statsEncoder } from "./stats.ts";
import { generateStationReports } from "../sources/station_weather.ts";
import { countStationReport, type StationTable } from "./stations.ts";

const at = (time: string, values: Partial<Report> = {}): Report => ({
  date: time.slice(0, 10),
  degrees: values.temperature ?? 0,
  stationId: "JFK",
  time,
  ...values,
});

Deno.test("a station's reports: each measurement counted apart, duplicates by the station's time", () => {
  const stations: StationTable = {};
  assert.deepEqual(
    countStationReport(stations, at("2013-07-04T13:00:00Z", { temperature: 80, humidity: 50 }))
      ?.map((info) => info.name),
    ["temperature", "humidity"],
  );
  // Not after the station's last time: a duplicate, whatever it measures.
  assert.equal(
    countStationReport(stations, at("2013-07-04T13:00:00Z", { pressure: 1000 })),
    undefined,
  );
  assert.deepEqual(
    countStationReport(stations, at("2013-07-04T14:00:00Z", { temperature: 90 }))?.map((info) =>
      info.name
    ),
    ["temperature"],
  );
  // Another station keeps its own time.
  assert.deepEqual(
    countStationReport(stations, {
      ...at("2013-07-04T12:00:00Z", { temperature: 1 }),
      stationId: "EWR",
    })?.map((info) => info.name),
    ["temperature"],
  );
  const jfk = (stations as StationTable).JFK!;
  assert.equal(jfk.last, "2013-07-04T14:00:00Z");
  assert.deepEqual(jfk.measures.temperature!.July!["2013"], {
    count: 2,
    sum: 170,
    avg: 85,
    start: "2013-07-04T13:00:00Z",
    end: "2013-07-04T14:00:00Z",
    min: 80,
    max: 90,
    sumsq: 14500,
  });
  assert.equal(jfk.measures.humidity!.July!["2013"]!.count, 1);
  assert.equal(jfk.measures.pressure, undefined, "the duplicate's pressure was not counted");
});

Deno.test("a file with stations is JSON.stringify's text and parses back; without, today's bytes", () => {
  const stats: PartitionStats = { partition: 1, offset: 3, months: {} };
  const encode = statsEncoder();
  const text = (s: PartitionStats) =>
    new TextDecoder().decode(new Uint8Array(encode(s).flatMap((p) => [...p])));
  assert.equal(text(stats), '{\n "partition": 1,\n "offset": 3\n}\n');
  stats.stations = {};
  countStationReport(stats.stations, at("2013-07-04T13:00:00Z", { temperature: 80, windGust: 0 }));
  countStationReport(stats.stations, at("2013-08-01T00:00:00Z", { temperature: 70 }));
  const written = text(stats);
  assert.equal(
    written,
    JSON.stringify({ partition: 1, offset: 3, stations: stats.stations }, null, 1) + "\n",
  );
  assert.deepEqual(parseStats(written, 1), stats);
  assert.throws(
    () =>
      parseStats(
        written.replace('"last": "2013-08-01T00:00:00Z"', '"last": "2013-07-01T00:00:00Z"'),
        1,
      ),
    /July 2013: end 2013-07-04T13:00:00Z is after last 2013-07-01T00:00:00Z/,
  );
  assert.throws(
    () => parseStats(written.replace('"wind_gust"', '"gusts"'), 1),
    /unknown measure "gusts"/,
  );
  assert.throws(
    () => parseStats(written.replace('"offset": 3', '"offset": 1'), 1),
    /counts 2 reports but its offset is only 1/,
  );
});

Deno.test("validateRecord checks a station's key, time and measurements", () => {
  const good = at("2013-07-04T13:00:00Z", { temperature: 80, humidity: 50 });
  assert.deepEqual(validateRecord("JFK", encodeReport(good)), { report: good });
  const reason = (key: string, report: Report) => {
    const verdict = validateRecord(key, encodeReport(report));
    return "reason" in verdict ? verdict.reason : "counted";
  };
  assert.equal(reason("LGA", good), 'key "LGA" does not match the station "JFK"');
  assert.equal(
    reason("JFK", { ...good, time: "2013-07-04 13:00" }),
    'impossible time "2013-07-04 13:00"',
  );
  assert.equal(
    reason("JFK", { ...good, time: "2013-02-30T13:00:00Z", date: "2013-02-30" }),
    'impossible date "2013-02-30"',
  );
  assert.equal(
    reason("JFK", { ...good, date: "2013-07-05" }),
    "date 2013-07-05 is not the UTC day of 2013-07-04T13:00:00Z",
  );
  assert.equal(reason("JFK", { ...good, humidity: 104 }), "humidity 104 % is above 100");
  assert.equal(reason("JFK", { ...good, windSpeed: -1 }), "wind_speed -1 mph is below 0");
});

Deno.test("the file's stations, written piece by piece as they change, are always JSON.stringify's text", () => {
  const encode = statsEncoder();
  const text = (s: PartitionStats) =>
    new TextDecoder().decode(new Uint8Array(encode(s).flatMap((p) => [...p])));
  const stats: PartitionStats = { partition: 0, offset: 0, months: {}, stations: {} };
  const expected = () =>
    JSON.stringify(
      { partition: 0, offset: stats.offset, ...stats.months, stations: stats.stations },
      null,
      1,
    ) + "\n";
  assert.equal(text(stats), expected());
  // An empty station and an empty measure, which no producer sends but a file may hold.
  stats.stations!.Empty = { last: "2000-01-01T00:00:00Z", measures: {} };
  stats.stations!.Bare = { last: "2000-01-01T00:00:00Z", measures: { humidity: {} } };
  assert.equal(text(stats), expected());
  const generator = generateStationReports({ seed: 3, stations: 3 });
  for (let batch = 0; batch < 60; batch++) {
    // Batches of 1 to 90 reports, each a whole day of three stations or part of one.
    const size = 1 + (batch * 37) % 90;
    for (let i = 0; i < size; i++) {
      const { report } = generator.next().value!;
      const values = batch % 7 === 0 ? { ...report, humidity: undefined } : report;
      countStationReport(stats.stations!, {
        ...values,
        time: `${report.date}T${String(i % 24).padStart(2, "0")}:00:00Z`,
      });
      stats.offset++;
    }
    if (batch === 30) countReport(stats.months, "January", { date: "2001-01-01", degrees: 3 });
    assert.equal(text(stats), expected(), `batch ${batch}`);
  }
});
