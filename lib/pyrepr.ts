/**
 * Python's `repr` of the few value types the debug consumer prints, so its lines read
 * exactly like the course's Python output: `{'partition': 2, 'key': 'December', …}`.
 *
 * @module
 */

/**
 * `repr(float)`: the shortest round-trip digits, always with a `.0` or exponent, scientific
 * when the decimal exponent is below -4 or 16 and above.
 *
 * @example
 * ```ts
 * pyFloat(1000000); // "1000000.0"
 * pyFloat(1e16);    // "1e+16"
 * ```
 */
export function pyFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exp] = value.toExponential().split("e") as [string, string];
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const text = String(value);
  return text.includes(".") ? text : `${text}.0`;
}

/**
 * `repr(str)`: single quotes unless the text has a single quote and no double quote,
 * with Python's escapes for backslashes, quotes and control characters.
 *
 * @example
 * ```ts
 * pyStr("December"); // "'December'"
 * ```
 */
export function pyStr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === quote || char === "\\") out += "\\" + char;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += char;
  }
  return out + quote;
}

/** A value the debug line holds. */
export type PyValue = string | number | null;

/**
 * `repr(dict)` of a flat dict of strings, integers (`number` that is an integer and listed
 * in `ints`), floats and `None`.
 *
 * @example
 * ```ts
 * pyDict({ partition: 2, degrees: 31.5 }, ["partition"]); // "{'partition': 2, 'degrees': 31.5}"
 * ```
 */
export function pyDict(entries: Record<string, PyValue>, ints: readonly string[] = []): string {
  const items = Object.entries(entries).map(([key, value]) => {
    let text: string;
    if (value === null) text = "None";
    else if (typeof value === "string") text = pyStr(value);
    else if (ints.includes(key)) text = String(value);
    else text = pyFloat(value);
    return `${pyStr(key)}: ${text}`;
  });
  return `{${items.join(", ")}}`;
}
