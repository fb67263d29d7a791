import assert from "node:assert/strict";
import { murmur2, partitionFor } from "./partitioner.ts";

// Computed with the Java client itself (kafka-clients 4.4.0):
// Utils.murmur2(key.getBytes(UTF_8)) and Utils.toPositive(hash) % 4 and % 7.
const JAVA: [string, number, number, number][] = [
  ["January", -1295925914, 2, 6],
  ["February", -562065487, 1, 5],
  ["March", 1010819400, 0, 3],
  ["April", -988342754, 2, 2],
  ["May", 1874402751, 3, 4],
  ["June", -1098219722, 2, 4],
  ["July", 2019083669, 1, 1],
  ["August", -72511460, 0, 2],
  ["September", 490610772, 0, 1],
  ["October", 333040947, 3, 1],
  ["November", -398893377, 3, 1],
  ["December", 1061123546, 2, 0],
  ["", 275646681, 1, 2],
  [" ", -987232127, 1, 2],
  ["é", 186971271, 3, 4],
  ["key-with-ünïcode", 731739412, 0, 5],
  ["0123456789abcdef0", 1856781438, 2, 1],
];

Deno.test("murmur2 equals the Java client's hash for month names and odd keys", () => {
  for (const [key, hash] of JAVA) {
    assert.equal(murmur2(new TextEncoder().encode(key)), hash, key);
  }
});

Deno.test("partitionFor picks the Java client's partition for 4 and 7 partitions", () => {
  for (const [key, , four, seven] of JAVA) {
    assert.equal(partitionFor(key, 4), four, key);
    assert.equal(partitionFor(key, 7), seven, key);
  }
});
