import assert from "node:assert/strict";
import { pyDict, pyFloat, pyStr } from "./pyrepr.ts";

Deno.test("pyFloat prints floats as Python's repr does", () => {
  // Each pair checked against CPython 3.11: repr(float(x)).
  const cases: [number, string][] = [
    [31.5235, "31.5235"],
    [1000000, "1000000.0"],
    [0, "0.0"],
    [-0, "-0.0"],
    [-12.25, "-12.25"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1e16, "1e+16"],
    [1.5e16, "1.5e+16"],
    [9999999999999998, "9999999999999998.0"],
    [1e-4, "0.0001"],
    [1e-5, "1e-05"],
    [1.25e-7, "1.25e-07"],
    [1e22, "1e+22"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [5e-324, "5e-324"],
    [NaN, "nan"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
  ];
  for (const [value, repr] of cases) assert.equal(pyFloat(value), repr, String(value));
});

Deno.test("pyStr quotes and escapes as Python's repr does", () => {
  assert.equal(pyStr("December"), "'December'");
  assert.equal(pyStr("it's"), `"it's"`);
  assert.equal(pyStr(`it's "x"`), `'it\\'s "x"'`);
  assert.equal(pyStr("a\\b\n\t\x01"), "'a\\\\b\\n\\t\\x01'");
  assert.equal(pyStr("é"), "'é'");
});

Deno.test("pyDict makes the debug line of the design", () => {
  assert.equal(
    pyDict({ partition: 2, key: "December", date: "2000-12-26", degrees: 31.5235 }, ["partition"]),
    "{'partition': 2, 'key': 'December', 'date': '2000-12-26', 'degrees': 31.5235}",
  );
  assert.equal(pyDict({ key: null, degrees: 1e6 }), "{'key': None, 'degrees': 1000000.0}");
});
