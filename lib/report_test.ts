import assert from "node:assert/strict";
import protobuf from "protobufjs";
import {
  decodeReport,
  encodeReport,
  monthOf,
  REPORT_DESCRIPTOR,
  validateRecord,
} from "./report.ts";

Deno.test("the embedded descriptor is proto/report.proto", async () => {
  const text = await Deno.readTextFile(new URL("../proto/report.proto", import.meta.url));
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
