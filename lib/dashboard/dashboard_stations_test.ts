import assert from "node:assert/strict";
import type { Anomaly } from "../stats/anomaly.ts";
import type { StatsFile } from "../checkpoint.ts";
import { rollingSpan, seriesAnomalies, seriesPick, stationsBody } from "./dashboard_stations.ts";
import { seriesBody } from "../stats/series.ts";
import type { PartitionStats } from "../stats/stats.ts";
import { countStationReport } from "../stats/stations.ts";

function file(partition: number, reports: [string, string, Record<string, number>][]): StatsFile {
  const stats: PartitionStats = { partition, offset: reports.length, months: {}, stations: {} };
  for (const [station, time, values] of reports) {
    countStationReport(stats.stations!, {
      date: time.slice(0, 10),
      degrees: 0,
      stationId: station,
      time,
      ...values,
    });
  }
  return { partition, path: `partition-${partition}.json`, stats };
}

const files = [
  file(0, [["LGA", "2013-07-01T00:00:00Z", { temperature: 80, humidity: 50 }], [
    "LGA",
    "2013-08-01T00:00:00Z",
    { humidity: 60 },
  ]]),
  file(1, [["JFK", "2012-12-31T23:00:00Z", { pressure: 1000 }]]),
  { partition: 2, path: "partition-2.json", error: "not valid JSON" },
];

Deno.test("stationsBody lists each station's measurements, in field order, with counts and times", () => {
  assert.deepEqual(stationsBody(files), {
    stations: [
      {
        station: "JFK",
        partition: 1,
        measures: [{
          measure: "pressure",
          unit: "hPa",
          count: 1,
          first: "2012-12-31T23:00:00Z",
          last: "2012-12-31T23:00:00Z",
        }],
      },
      {
        station: "LGA",
        partition: 0,
        measures: [
          {
            measure: "temperature",
            unit: "F",
            count: 1,
            first: "2013-07-01T00:00:00Z",
            last: "2013-07-01T00:00:00Z",
          },
          {
            measure: "humidity",
            unit: "%",
            count: 2,
            first: "2013-07-01T00:00:00Z",
            last: "2013-08-01T00:00:00Z",
          },
        ],
      },
    ],
  });
});

Deno.test("seriesBody: one station's measurement by year and month; absent is undefined", () => {
  const body = seriesBody(files, { station: "LGA", measure: "humidity" })!;
  assert.deepEqual(body.months.map((m) => [m.month, m.year, m.avg]), [["July", "2013", 50], [
    "August",
    "2013",
    60,
  ]]);
  assert.equal(body.unit, "%");
  assert.equal(seriesBody(files, { station: "LGA", measure: "pressure" }), undefined);
});

Deno.test("seriesPick reads the query; anomalies follow the pick", () => {
  assert.equal(seriesPick(new URLSearchParams("")), undefined);
  assert.deepEqual(seriesPick(new URLSearchParams("station=JFK&measure=humidity")), {
    station: "JFK",
    measure: "humidity",
  });
  assert.deepEqual(seriesPick(new URLSearchParams("station=JFK")), {
    error: "give both station and measure",
  });
  assert.deepEqual(seriesPick(new URLSearchParams("station=JFK&measure=heat")), {
    error: 'no measurement "heat"',
  });
  const base = { date: "2013-07-01", degrees: 1, mean: 0, std: 1, z: 1, partition: 0, offset: 0 };
  const anomalies: Anomaly[] = [base, {
    ...base,
    station: "JFK",
    measure: "humidity",
    time: "2013-07-01T00:00:00Z",
  }];
  assert.deepEqual(seriesAnomalies(anomalies, undefined), [base]);
  assert.deepEqual(seriesAnomalies(anomalies, { station: "JFK", measure: "humidity" }), [
    anomalies[1],
  ]);
  assert.deepEqual(seriesAnomalies(anomalies, { station: "JFK", measure: "pressure" }), []);
});

Deno.test("rollingSpan: 7 days unless asked, 1 to 366", () => {
  const span = (query: string) => rollingSpan(new URLSearchParams(query));
  assert.equal(span(""), 7);
  assert.equal(span("days=30"), 30);
  assert.deepEqual(span("days=0"), { error: 'days "0" is not a number of days from 1 to 366' });
  assert.deepEqual(span("days=1e3"), { error: 'days "1e3" is not a number of days from 1 to 366' });
});
