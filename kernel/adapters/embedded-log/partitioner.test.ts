import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { RoundRobin, murmur2, partitionForKey } from './partitioner.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: string | Buffer,
) => number;

describe('partitioner', () => {
  it("matches Kafka's murmur2 test vectors", () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) expect([key, murmur2(Buffer.from(key))]).toEqual([key, hash]);
  });

  it('puts every key on the same partition as kafkajs does (ASCII and non-ASCII keys)', () => {
    const keys = [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'user-42',
      'ünïcødé',
      '日本語のキー',
      '😀 emoji',
      'x'.repeat(300),
    ];
    for (let i = 0; i < 500; i++) keys.push(`key-${i}-${(i * 7919).toString(36)}`);
    for (const key of keys) {
      for (const n of [1, 3, 4, 12]) {
        expect(partitionForKey(key, n)).toBe((kafkajsMurmur2(key) & 0x7fffffff) % n);
      }
    }
  });

  it('round-robin cycles over the partitions', () => {
    const rr = new RoundRobin();
    expect(Array.from({ length: 7 }, () => rr.pick(3))).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });
});
