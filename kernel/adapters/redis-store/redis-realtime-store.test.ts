import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../clock/system-clock.js';
import { isLabError } from '../../errors/lab-error.js';
import { realtimeStoreContract, SKETCH_TOLERANCE } from '../../ports/contracts/realtime-store.contract.js';
import type { RealtimeStore } from '../../ports/realtime-store.js';
import { describeWithRedis, redisUrl } from '../../../test-support/infra.js';
import { openEmbeddedRealtimeStore } from '../embedded-store/embedded-realtime-store.js';
import { escapeGlob, openRedisRealtimeStore, redactUrl, RedisRealtimeStore } from './redis-realtime-store.js';

/** Deletes every key of a test namespace through Redis itself (SCAN + UNLINK). */
async function dropNamespace(url: string, prefix: string): Promise<void> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

describeWithRedis('Redis realtime store', () => {
  const url = redisUrl()!;

  realtimeStoreContract('redis', async () => {
    const prefix = `lkltest:${randomUUID()}:`;
    let current: RealtimeStore = await openRedisRealtimeStore({ url, prefix });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openRedisRealtimeStore({ url, prefix });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await dropNamespace(url, prefix);
      },
    };
  });

  it('gives exactly the counts of the embedded store for the same members (same hash and estimator)', async () => {
    const prefix = `lkltest:${randomUUID()}:`;
    const redis = await openRedisRealtimeStore({ url, prefix });
    const embedded = await openEmbeddedRealtimeStore({ clock: systemClock });
    try {
      const sizes = [1, 7, 100, 1_000, 3_000, 20_000, 150_000];
      for (const n of sizes) {
        const members = Array.from({ length: n }, (_, i) => `parity-${n}-${i}-ü`);
        for (let i = 0; i < n; i += 20_000) {
          const update = { sketches: [{ key: `s${n}`, members: members.slice(i, i + 20_000) }] };
          await redis.apply(update);
          await embedded.apply(update);
        }
      }
      const keys = sizes.map((n) => `s${n}`);
      const fromRedis = await redis.sketchCountMany(keys);
      expect(await embedded.sketchCountMany(keys)).toEqual(fromRedis);
      expect(await embedded.sketchUnionCount(keys)).toBe(await redis.sketchUnionCount(keys));
      console.info(`[parity] sizes ${sizes.join(', ')} → ${fromRedis.join(', ')} on both backends`);
    } finally {
      await redis.close();
      await embedded.close();
      await dropNamespace(url, prefix);
    }
  });

  it('keeps concurrent transactions from two connections on the same keys exact', async () => {
    const prefix = `lkltest:${randomUUID()}:`;
    const a = await openRedisRealtimeStore({ url, prefix });
    const b = await openRedisRealtimeStore({ url, prefix });
    try {
      const rounds = 200;
      const run = (s: RealtimeStore, ns: string) =>
        Promise.all(
          Array.from({ length: rounds }, (_, i) =>
            s.apply({
              increments: [{ key: 'hot', field: 'n', by: 1 }],
              sketches: [{ key: 'users', members: [`${ns}-${i}`] }],
              offsets: { namespace: ns, offsets: { 0: i + 1 } },
            }),
          ),
        );
      await Promise.all([run(a, 'a'), run(b, 'b')]);
      expect(await a.getFields('hot')).toEqual({ n: String(2 * rounds) });
      // 400 distinct members: approximate like every sketch, but every member landed.
      expect(Math.abs((await a.sketchCount('users')) - 2 * rounds) / (2 * rounds)).toBeLessThanOrEqual(
        SKETCH_TOLERANCE,
      );
      expect(await b.readOffsets('a')).toEqual({ 0: rounds });
      expect(await b.readOffsets('b')).toEqual({ 0: rounds });
    } finally {
      await a.close();
      await b.close();
      await dropNamespace(url, prefix);
    }
  });

  it('stays inside its key prefix', async () => {
    const prefix = `lkltest:${randomUUID()}:`;
    const other = `lkltest:${randomUUID()}:`;
    const a = await openRedisRealtimeStore({ url, prefix });
    const b = await openRedisRealtimeStore({ url, prefix: other });
    try {
      await a.apply({
        sets: [{ key: 'k', field: 'f', value: 'a' }],
        offsets: { namespace: 'job', offsets: { 0: 1 } },
      });
      await b.apply({ sets: [{ key: 'k', field: 'f', value: 'b' }] });
      expect(await b.deleteByPrefix('')).toBe(1);
      expect(await a.getFields('k')).toEqual({ f: 'a' });
      expect(await a.keys('')).toEqual(['k']);
      expect(await b.readOffsets('job')).toEqual({});
    } finally {
      await a.close();
      await b.close();
      await dropNamespace(url, prefix);
      await dropNamespace(url, other);
    }
  });
});

// Needs no server: it talks to a port where nothing listens.
describe('Redis realtime store without a reachable Redis', () => {
  const dead = 'redis://user:s3cret@127.0.0.1:1';

  it('fails to open with LKL_ERR_STORE_UNAVAILABLE (retriable), naming the URL without its password', async () => {
    const started = Date.now();
    const err = await openRedisRealtimeStore({ url: dead }).catch((e: unknown) => e);
    expect(isLabError(err)).toBe(true);
    const e = err as import('../../errors/lab-error.js').LabError;
    expect(e.code).toBe('LKL_ERR_STORE_UNAVAILABLE');
    expect(e.retriable).toBe(true);
    expect(e.httpStatus).toBe(503);
    expect(e.message).toContain('redis://127.0.0.1:1');
    expect(e.message).not.toContain('s3cret');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('rejects ping and apply with LKL_ERR_STORE_UNAVAILABLE', async () => {
    const store = new RedisRealtimeStore({ url: dead, prefix: 'x:' });
    try {
      for (const call of [
        () => store.ping(),
        () => store.apply({ increments: [{ key: 'k', field: 'n', by: 1 }] }),
        () => store.keys(''),
      ]) {
        const err = await call().catch((e: unknown) => e);
        expect(isLabError(err) && err.code).toBe('LKL_ERR_STORE_UNAVAILABLE');
      }
    } finally {
      await store.close();
    }
  });

  it('redacts credentials and escapes glob characters', () => {
    expect(redactUrl('redis://u:p@h:6379/2')).toBe('redis://h:6379/2');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
    expect(escapeGlob('a*b?c[d]\\e')).toBe('a\\*b\\?c\\[d\\]\\\\e');
  });
});
