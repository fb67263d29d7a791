import assert from "node:assert/strict";
import Decoder from "kafkajs/src/protocol/decoder.js";
import Encoder from "kafkajs/src/protocol/encoder.js";
import {
  kafkajs,
  readVarLong,
  sizeOfVarLong,
  useFastVarints,
  writeUVarInt,
  writeVarLong,
} from "./kafkajs_varint.ts";
import { mulberry32 } from "../sources/weather.ts";

const VALUES = [0, 1, 63, 64, 127, 128, 255, 300, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28];
VALUES.push(2 ** 30 - 1, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53 - 1);
VALUES.push(-1, -64, -65, -(2 ** 30), -(2 ** 30) - 1, -(2 ** 31), -(2 ** 45));
const random = mulberry32(3);
for (let i = 0; i < 2000; i++) VALUES.push(Math.floor(random() * 2 ** 32) - 2 ** 31);
for (let i = 0; i < 200; i++) VALUES.push(Math.floor((random() - 0.5) * 2 ** 40));

/** The bytes an encoder holds after `write` ran on it; it starts full, so it must grow. */
function bytes(write: (encoder: typeof Encoder.prototype) => void): string {
  const encoder = new Encoder();
  encoder.writeBytes(new Uint8Array(508));
  write(encoder);
  return Array.from(encoder.buffer as Uint8Array, (b) => b.toString(16)).join(" ");
}

Deno.test("the writers write the bytes kafkajs's own writers write", () => {
  for (const value of VALUES) {
    if (Math.abs(value) < 2 ** 32) {
      assert.equal(
        bytes((e) => writeUVarInt.call(e, value)),
        bytes((e) => kafkajs.writeUVarInt.call(e, value)),
        `writeUVarInt ${value}`,
      );
    }
    assert.equal(
      bytes((e) => writeVarLong.call(e, value)),
      bytes((e) => kafkajs.writeVarLong.call(e, value)),
      `writeVarLong ${value}`,
    );
    assert.equal(sizeOfVarLong(value), kafkajs.sizeOfVarLong.call(Encoder, value), `size ${value}`);
  }
});

Deno.test("useFastVarints puts them under every varint kafkajs writes, with the same bytes", () => {
  const write = (e: typeof Encoder.prototype, value: number) =>
    e.writeVarInt(value | 0).writeUVarInt(value).writeVarLong(value).writeInt8(
      Encoder.sizeOfVarLong(value),
    );
  const before = VALUES.map((value) => bytes((e) => write(e, value)));
  useFastVarints();
  assert.equal(new Encoder().writeUVarInt, writeUVarInt);
  assert.equal(Encoder.sizeOfVarLong, sizeOfVarLong);
  assert.equal(new Decoder(new Uint8Array(1)).readVarLong, readVarLong);
  const after = VALUES.map((value) => bytes((e) => write(e, value)));
  assert.deepEqual(after, before);
});

Deno.test("readVarLong reads what kafkajs's own reader reads, and as far", () => {
  const encoder = new Encoder();
  for (const value of VALUES) kafkajs.writeVarLong.call(encoder, value);
  const mine = new Decoder(encoder.buffer);
  const theirs = new Decoder(encoder.buffer);
  for (const value of VALUES) {
    const read = readVarLong.call(mine);
    assert.equal(read.toString(), kafkajs.readVarLong.call(theirs).toString(), `${value}`);
    assert.equal(read.toString(), String(value));
    assert.equal(mine.offset, theirs.offset, `offset after ${value}`);
  }
  assert.equal(mine.offset, encoder.buffer.length);
});
