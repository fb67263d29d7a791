import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import protobuf from "protobufjs";
import {
  decodeReport,
  encodeReport,
  monthOf,
  REPORT_DESCRIPTOR,
  validateRecord,
} from "./report.ts";
import { generateReports } from "../sources/weather.ts";

const generated = generateReports({ seed: 11, duplicateRate: 0.1 });

Deno.test("the embedded descriptor is proto/report.proto", async () => {
  const text = await Deno.readTextFile(new URL("../../proto/report.proto", import.meta.url));
  const parsed = protobuf.parse(text).root.toJSON();
  assert.deepEqual(parsed, REPORT_DESCRIPTOR);
});

Deno.test("encode and decode round-trip exactly", () => {
  for (
    const report of [
      { date: "2000-12-26", degrees: 31.5235 },
      { date: "1990-01-01", degrees: -40.0001 },
      { date: "2024-02-29", degrees: 1_000_000 },
      { date: "2016-07-04", degrees: 0 },
    ]
  ) {
    assert.deepEqual(decodeReport(encodeReport(report)), report);
  }
});

/** What protobufjs's own decoder makes of `bytes`: the report, or its error message. */
function reference(bytes: Uint8Array): unknown {
  const type = protobuf.Root.fromJSON(REPORT_DESCRIPTOR).lookupType("Report");
  try {
    const message = type.decode(bytes) as unknown as Record<string, unknown>;
    // The fields on the wire are the message's own properties; "" is no station or time.
    const present = Object.entries(message).filter(([, value]) => value !== "");
    return { date: message.date, degrees: message.degrees, ...Object.fromEntries(present) };
  } catch (error) {
    return (error as Error).message;
  }
}

function decoded(bytes: Uint8Array): unknown {
  try {
    return decodeReport(bytes);
  } catch (error) {
    return (error as Error).message;
  }
}

Deno.test("decoding gives what protobufjs gives, for encoder output and for odd layouts", () => {
  const cases: Uint8Array[] = [];
  for (const degrees of [31.5235, -0, 0, NaN, -Infinity, 1e6, 5e-324, -123.456789]) {
    cases.push(encodeReport({ date: "2000-12-26", degrees }));
  }
  const w = () => protobuf.Writer.create();
  cases.push(
    w().uint32(0x11).double(12.5).uint32(0x0a).string("2000-01-05").finish(), // reversed
    w().uint32(0x0a).string("2000-01-05").uint32(0x0a).string("2001-02-03").finish(), // repeated
    w().uint32(0x0a).string("2000-01-05").uint32(0x11).double(1).uint32(0x18).uint32(7).finish(),
    w().uint32(0x0a).string("2000-01-5").uint32(0x11).double(1).finish(), // 9 bytes
    w().uint32(0x0a).string("2000-01-0é").uint32(0x11).double(1).finish(), // non-ASCII
    w().uint32(0x0a).string("").uint32(0x11).double(1).finish(),
    w().uint32(0x11).double(1).finish(),
    w().uint32(0x2a).string("2000-01-05").uint32(0x11).double(1).finish(), // unknown field 5
    w().uint32(0x0a).string("2000-01-05").uint32(0x19).double(1).finish(), // unknown field 3
    w().uint32(0x0a).string("2000-01-05").uint32(0x11).double(1).finish().subarray(0, 20),
    new Uint8Array([0x0a, 0x0a, 0xff, 0xff]),
  );
  // Stations' layouts: every field, repeats, empties, non-ASCII, long strings, wrong types.
  const station = {
    date: "2013-07-04",
    degrees: 84.02,
    stationId: "JFK",
    time: "2013-07-04T13:00:00Z",
    temperature: 84.02,
    dewPoint: -3.5,
    humidity: 0,
    pressure: 1012.5,
    windSpeed: 10.35,
    windDirection: 270,
    windGust: 25.3,
    precipitation: 0.01,
    visibility: 10,
  };
  cases.push(encodeReport(station), encodeReport({ ...station, humidity: NaN, stationId: "" }));
  cases.push(
    w().uint32(0x1a).string("JFK").uint32(0x1a).string("LGA").uint32(0x29).double(1).finish(),
    w().uint32(0x1a).string("JFK").uint32(0x1a).string("").finish(),
    w().uint32(0x1a).string("Zürich").uint32(0x29).double(1).finish(),
    w().uint32(0x1a).string("x".repeat(200)).finish(),
    w().uint32(0x29).double(1).uint32(0x29).double(2).finish(),
    w().uint32(0x2a).string("12345678").finish(), // field 5 as a string
    w().uint32(0x22).string("2013-07-04T13:00:00Z").uint32(0x71).double(1).finish(), // field 14
    w().uint32(0x1a).string("JFK").uint32(0x49).double(1).finish().subarray(0, 9),
  );
  const bytes = w().uint32(0x0a).string("2000-01-05").uint32(0x11).double(2.5).finish();
  const inside = new Uint8Array(bytes.length + 7);
  inside.set(bytes, 3);
  cases.push(inside.subarray(3, 3 + bytes.length)); // a view into a larger buffer
  for (const bytes of cases) assert.deepEqual(decoded(bytes), reference(bytes), String(bytes));
  assert.deepEqual(decoded(bytes), { date: "2000-01-05", degrees: 2.5 });
});

Deno.test("encoding gives protobufjs's bytes, as a Buffer kafkajs sends as bytes", () => {
  const type = protobuf.Root.fromJSON(REPORT_DESCRIPTOR).lookupType("Report");
  const reports = [...Array(3000)].map(() => generated.next().value!.report);
  for (const degrees of [NaN, -0, 0, Infinity, 5e-324, 1e6, -40.0001]) {
    reports.push({ date: "2000-02-29", degrees });
  }
  for (const date of ["", "2000-1-01", "2000-01-010", "2000-01-0é", "2000-01-0\u{1F600}"]) {
    reports.push({ date, degrees: 1.5 });
  }
  for (const report of reports) {
    const bytes = encodeReport(report);
    assert.ok(Buffer.isBuffer(bytes), JSON.stringify(report));
    assert.deepEqual([...bytes], [...type.encode(report).finish()], JSON.stringify(report));
  }
});

Deno.test("encoding matches protoc's bytes for a known report", () => {
  // protoc --encode=Report proto/report.proto <<< 'date: "2000-12-26" degrees: 31.5235'
  const bytes = encodeReport({ date: "2000-12-26", degrees: 31.5235 });
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(hex, "0a0a323030302d31322d3236" + "11" + "bc74931804863f40");
});

Deno.test("monthOf knows real dates only", () => {
  assert.equal(monthOf("2000-02-29"), "February");
  assert.equal(monthOf("2001-02-29"), undefined);
  assert.equal(monthOf("1900-02-29"), undefined);
  assert.equal(monthOf("2000-13-01"), undefined);
  assert.equal(monthOf("2000-00-10"), undefined);
  assert.equal(monthOf("2000-1-10"), undefined);
  assert.equal(monthOf(""), undefined);
  assert.equal(monthOf("2000-12-31"), "December");
  assert.equal(monthOf("2004-02-29"), "February");
  assert.equal(monthOf("2100-02-29"), undefined);
  assert.equal(monthOf("2000-04-31"), undefined);
  assert.equal(monthOf("2000-1a-10"), undefined);
  assert.equal(monthOf("2000/01/10"), undefined);
  assert.equal(monthOf("20000-01-10"), undefined);
});

Deno.test("validateRecord accepts a good record and says why it rejects bad ones", () => {
  const good = encodeReport({ date: "2000-01-05", degrees: 12.5 });
  assert.deepEqual(validateRecord("January", good), {
    report: { date: "2000-01-05", degrees: 12.5 },
  });
  assert.deepEqual(validateRecord("January", null), { reason: "null value" });
  assert.deepEqual(validateRecord("January", new Uint8Array()), { reason: "empty value" });
  assert.deepEqual(validateRecord("March", good), {
    reason: 'key "March" does not match the month of 2000-01-05 (January)',
  });
  assert.deepEqual(validateRecord(null, good), {
    reason: "key null does not match the month of 2000-01-05 (January)",
  });
  const impossible = encodeReport({ date: "2001-02-30", degrees: 1 });
  assert.deepEqual(validateRecord("February", impossible), {
    reason: 'impossible date "2001-02-30"',
  });
  const nan = encodeReport({ date: "2000-01-05", degrees: NaN });
  assert.deepEqual(validateRecord("January", nan), { reason: "degrees is NaN" });
  const inf = encodeReport({ date: "2000-01-05", degrees: -Infinity });
  assert.deepEqual(validateRecord("January", inf), { reason: "degrees is -Infinity" });
  const garbage = validateRecord("January", new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
  assert.ok(
    "reason" in garbage && garbage.reason.startsWith("not a Report protobuf"),
    JSON.stringify(garbage),
  );
});

Deno.test("a station's report round-trips, absent measurements stay absent, zero stays zero", () => {
  const report = {
    date: "2013-07-04",
    degrees: 84.02,
    stationId: "JFK",
    time: "2013-07-04T13:00:00Z",
    temperature: 84.02,
    humidity: 55.5,
    precipitation: 0,
    windSpeed: 0,
  };
  const decoded = decodeReport(encodeReport(report));
  assert.deepEqual(decoded, report);
  assert.equal("pressure" in decoded, false);
  // protobufjs's own reading of the same bytes has every field sent and no other.
  const type = protobuf.Root.fromJSON(REPORT_DESCRIPTOR).lookupType("Report");
  assert.deepEqual(type.toObject(type.decode(encodeReport(report))), report);
});

Deno.test("today's two-field reader reads a station's date and degrees", () => {
  const old = protobuf.parse(
    'syntax = "proto3"; message Report { string date = 1; double degrees = 2; }',
  ).root.lookupType("Report");
  const bytes = encodeReport({
    date: "2013-01-01",
    degrees: 39.02,
    stationId: "EWR",
    time: "2013-01-01T06:00:00Z",
    temperature: 39.02,
    pressure: 1012,
  });
  const read = old.decode(bytes) as unknown as { date: string; degrees: number };
  assert.deepEqual({ date: read.date, degrees: read.degrees }, {
    date: "2013-01-01",
    degrees: 39.02,
  });
});
