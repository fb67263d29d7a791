/**
 * The partition the Java Kafka client's default partitioner picks for a keyed record:
 * murmur2 of the key bytes, made positive, modulo the partition count
 * (`org.apache.kafka.common.utils.Utils.murmur2` and `toPositive`).
 *
 * @module
 */

const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/**
 * Kafka's 32-bit murmur2 hash of a byte array, as a signed 32-bit integer like Java's.
 *
 * @example
 * ```ts
 * murmur2(new TextEncoder().encode("January")); // -1295925914
 * ```
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i]! & 0xff) | ((data[i + 1]! & 0xff) << 8) | ((data[i + 2]! & 0xff) << 16) |
      ((data[i + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The tail bytes fall through from 3 to 1, as in Kafka's switch statement.
  const tail = length % 4;
  if (tail === 3) h ^= (data[whole + 2]! & 0xff) << 16;
  if (tail >= 2) h ^= (data[whole + 1]! & 0xff) << 8;
  if (tail >= 1) {
    h ^= data[whole]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();

/**
 * The partition of a UTF-8 string key among `partitions`, exactly as the Java producer
 * chooses it.
 *
 * @example
 * ```ts
 * partitionFor("December", 4); // 2
 * ```
 */
export function partitionFor(key: string, partitions: number): number {
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
}
