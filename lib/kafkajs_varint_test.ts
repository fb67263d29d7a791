import assert from "node:assert/strict";
import Encoder from "kafkajs/src/protocol/encoder.js";
import { kafkajsWriteUVarInt, useFastVarints, writeUVarInt } from "./kafkajs_varint.ts";
import { mulberry32 } from "./weather.ts";

const VALUES = [0, 1, 63, 64, 127, 128, 255, 300, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28];
VALUES.push(2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, -1, -64, -65, -(2 ** 31));
const random = mulberry32(3);
for (let i = 0; i < 2000; i++) VALUES.push(Math.floor(random() * 2 ** 32) - 2 ** 31);

/** The bytes an encoder holds after `write` ran on it; it starts full, so it must grow. */
function bytes(write: (encoder: typeof Encoder.prototype) => void): string {
  const encoder = new Encoder();
  encoder.writeBytes(new Uint8Array(508));
  write(encoder);
  return Array.from(encoder.buffer as Uint8Array, (b) => b.toString(16)).join(" ");
}

Deno.test("writeUVarInt writes the bytes kafkajs's own writer writes", () => {
  for (const value of VALUES) {
    assert.equal(
      bytes((e) => writeUVarInt.call(e, value)),
      bytes((e) => kafkajsWriteUVarInt.call(e, value)),
      String(value),
    );
  }
});

Deno.test("useFastVarints puts it under every varint kafkajs writes, with the same bytes", () => {
  const before = VALUES.map((value) => bytes((e) => e.writeVarInt(value).writeUVarInt(value)));
  useFastVarints();
  assert.equal(new Encoder().writeUVarInt, writeUVarInt);
  const after = VALUES.map((value) => bytes((e) => e.writeVarInt(value).writeUVarInt(value)));
  assert.deepEqual(after, before);
  useFastVarints();
  assert.equal(new Encoder().writeUVarInt, writeUVarInt);
});
