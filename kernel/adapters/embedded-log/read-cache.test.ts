import { describe, expect, it } from 'vitest';
import { ChunkCache, type Chunk } from './read-cache.js';
import type { Segment } from './segment.js';

const segA = { path: 'a' } as unknown as Segment;
const segB = { path: 'b' } as unknown as Segment;

function chunk(segment: Segment, position: number, length: number): Chunk {
  return { segment, position, length, data: Promise.resolve(Buffer.alloc(0)), frameEnd: undefined };
}

describe('ChunkCache', () => {
  it('finds the chunk holding a position in its own segment, preferring the one that reaches furthest', () => {
    const cache = new ChunkCache(1 << 20);
    const a0 = cache.add(chunk(segA, 0, 100));
    const a1 = cache.add(chunk(segA, 100, 50));
    const aLong = cache.add(chunk(segA, 100, 300));
    cache.add(chunk(segB, 0, 1000));
    expect(cache.find(segA, 0)).toBe(a0);
    expect(cache.find(segA, 99)).toBe(a0);
    expect(cache.find(segA, 120)).toBe(aLong);
    expect(cache.find(segA, 399)).toBe(aLong);
    expect(cache.find(segA, 400)).toBeUndefined();
    expect(cache.find(segB, 500)?.segment).toBe(segB);
    expect(a1.position).toBe(100);
  });

  it('finds chunks added out of order', () => {
    const cache = new ChunkCache(1 << 20);
    const late = cache.add(chunk(segA, 500, 100));
    const early = cache.add(chunk(segA, 0, 100));
    expect(cache.find(segA, 550)).toBe(late);
    expect(cache.find(segA, 50)).toBe(early);
    expect(cache.find(segA, 200)).toBeUndefined();
  });

  it('evicts the oldest chunks past the byte budget and past the chunk budget', () => {
    const bytes = new ChunkCache(250);
    const first = bytes.add(chunk(segA, 0, 100));
    bytes.add(chunk(segA, 100, 100));
    bytes.add(chunk(segA, 200, 100));
    expect(bytes.find(segA, 50)).toBeUndefined();
    expect(bytes.find(segA, 150)).toBeDefined();
    expect(bytes.size).toBe(2);
    expect(first.position).toBe(0);

    const count = new ChunkCache(1 << 30, 100);
    for (let i = 0; i < 10_000; i++) count.add(chunk(segA, i * 10, 10));
    expect(count.size).toBe(100);
    expect(count.find(segA, 9_899 * 10)).toBeUndefined();
    expect(count.find(segA, 9_900 * 10)?.position).toBe(99_000);
    expect(count.find(segA, 99_995)?.position).toBe(99_990);
  });

  it('evicts chunks added longer ago than its age limit at the next add, keeping the young ones', async () => {
    const cache = new ChunkCache(1 << 30, 256, 30);
    cache.add(chunk(segA, 0, 100));
    cache.add(chunk(segB, 0, 100));
    cache.drop(segB);
    await new Promise((r) => setTimeout(r, 60));
    const young = cache.add(chunk(segA, 100, 100));
    cache.add(chunk(segA, 200, 100));
    expect(cache.find(segA, 50)).toBeUndefined();
    expect(cache.find(segA, 150)).toBe(young);
    expect(cache.find(segA, 250)?.position).toBe(200);
    expect(cache.size).toBe(2);
    // The last chunk stays, however old: a reader may still be walking it.
    const only = new ChunkCache(1 << 30, 256, 30);
    only.add(chunk(segA, 0, 10));
    await new Promise((r) => setTimeout(r, 60));
    only.add(chunk(segA, 10, 10));
    expect(only.size).toBe(1);
    expect(only.find(segA, 15)?.position).toBe(10);
  });

  it('forgets a dropped segment and keeps evicting correctly afterwards', () => {
    const cache = new ChunkCache(300);
    cache.add(chunk(segA, 0, 100));
    const b = cache.add(chunk(segB, 0, 100));
    cache.drop(segA);
    expect(cache.find(segA, 0)).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.add(chunk(segA, 0, 100));
    cache.add(chunk(segA, 100, 100));
    expect(cache.find(segB, 0)).toBe(b);
    cache.add(chunk(segA, 200, 100));
    expect(cache.find(segB, 0)).toBeUndefined();
    expect(cache.size).toBe(3);
  });
});
