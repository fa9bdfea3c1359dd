/**
 * Partition choice, as Kafka's (and kafkajs's) default partitioner: an explicit partition wins,
 * else murmur2 of the key's UTF-8 bytes (positive part) modulo the partition count, else
 * round-robin. Using Kafka's hash means a key lands on the same partition number in the
 * embedded log and in Kafka.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) over UTF-8 bytes; signed 32-bit. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const asciiScratch = new Uint8Array(256);

/** Hashes of recent keys (YSB keys by ad_id: 1,000 of them); cleared when full. */
const hashCache = new Map<string, number>();
const HASH_CACHE_KEYS = 65_536;

/** Partition of a key: toPositive(murmur2(utf8(key))) % partitions. */
export function partitionForKey(key: string, partitions: number): number {
  let h = hashCache.get(key);
  if (h === undefined) {
    h = murmur2(utf8Bytes(key)) & 0x7fffffff;
    if (hashCache.size >= HASH_CACHE_KEYS) hashCache.clear();
    hashCache.set(key, h);
  }
  return h % partitions;
}

/** UTF-8 bytes of `key`; ASCII keys up to 256 chars reuse a scratch array (no allocation). */
function utf8Bytes(key: string): Uint8Array {
  const n = key.length;
  if (n <= asciiScratch.length) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      asciiScratch[i] = c;
    }
    if (ascii) return asciiScratch.subarray(0, n);
  }
  return Buffer.from(key, 'utf8');
}

/** Round-robin over partitions for records with neither a partition nor a key. */
export class RoundRobin {
  private next = 0;

  pick(partitions: number): number {
    const p = this.next % partitions;
    this.next = (this.next + 1) % 0x7fffffff;
    return p;
  }
}
