import assert from "node:assert/strict";
import kafkajsCrc32c from "kafkajs/src/protocol/recordBatch/crc32C/index.js";
import { crc32c } from "./crc32c.ts";
import { mulberry32 } from "../sources/weather.ts";

Deno.test("crc32c: the standard check values", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assert.equal(crc32c(text("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
});

Deno.test("crc32c: kafkajs's value for every length and offset", () => {
  const random = mulberry32(9);
  const bytes = Uint8Array.from({ length: 600 }, () => Math.floor(random() * 256));
  for (let length = 0; length <= 70; length++) {
    for (const start of [0, 1, 3, 7, 8, 100]) {
      const part = bytes.subarray(start, start + length);
      assert.equal(crc32c(bytes, start, start + length), kafkajsCrc32c(part), `${start}+${length}`);
      assert.equal(crc32c(part), kafkajsCrc32c(part));
    }
  }
  assert.equal(crc32c(bytes), kafkajsCrc32c(bytes));
});
