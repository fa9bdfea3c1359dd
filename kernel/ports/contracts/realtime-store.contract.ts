/**
 * Conformance suite of the realtime-store port. Every adapter runs it (embedded-realtime-store.test.ts,
 * redis-realtime-store.test.ts); it uses nothing but the port.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLabError } from '../../errors/lab-error.js';
import { SKETCH_STANDARD_ERROR, type RealtimeStore, type StoreUpdate } from '../realtime-store.js';

export interface RealtimeStoreHarness {
  store: RealtimeStore;
  /** Closes `store` and opens it again on the same data (embedded: from its checkpoint). */
  reopen?: () => Promise<RealtimeStore>;
  /** Closes whatever is open and removes the data. */
  cleanup: () => Promise<void>;
}

/** Relative error the sketch tests accept: three standard errors (99.7 % of runs). */
export const SKETCH_TOLERANCE = 3 * SKETCH_STANDARD_ERROR;

async function rejection(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; retriable: boolean; details: unknown }> {
  try {
    await p;
  } catch (err) {
    if (isLabError(err))
      return { code: err.code, message: err.message, retriable: err.retriable, details: err.details };
    throw err;
  }
  throw new Error('expected a rejection, but the call resolved');
}

function members(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}-user-${i}`);
}

export function realtimeStoreContract(name: string, factory: () => Promise<RealtimeStoreHarness>): void {
  describe(`RealtimeStore contract: ${name}`, () => {
    let h: RealtimeStoreHarness;
    let store: RealtimeStore;
    /** A random key prefix per test. */
    let p: string;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
      p = `t-${randomUUID().slice(0, 8)}:`;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('accumulates increments, within and across updates, negative ones included', async () => {
      await store.apply({
        increments: [
          { key: `${p}c1`, field: 'views', by: 2 },
          { key: `${p}c1`, field: 'views', by: 3 },
          { key: `${p}c1`, field: 'clicks', by: 1 },
        ],
      });
      await store.apply({
        increments: [
          { key: `${p}c1`, field: 'views', by: -1 },
          { key: `${p}c2`, field: 'views', by: 7 },
        ],
      });
      expect(await store.getFields(`${p}c1`)).toEqual({ views: '4', clicks: '1' });
      expect(await store.getFields(`${p}c2`)).toEqual({ views: '7' });
    });

    it('overwrites on set and stores numbers as strings', async () => {
      await store.apply({
        sets: [
          { key: `${p}w`, field: 'state', value: 'open' },
          { key: `${p}w`, field: 'ratio', value: 1.5 },
        ],
      });
      await store.apply({ sets: [{ key: `${p}w`, field: 'state', value: 'closed' }] });
      expect(await store.getFields(`${p}w`)).toEqual({ state: 'closed', ratio: '1.5' });
    });

    it('increments a field that was set to an integer', async () => {
      await store.apply({ sets: [{ key: `${p}k`, field: 'n', value: 40 }] });
      await store.apply({ increments: [{ key: `${p}k`, field: 'n', by: 2 }] });
      expect(await store.getFields(`${p}k`)).toEqual({ n: '42' });
    });

    it('reads many keys in order, {} for a missing key', async () => {
      await store.apply({
        sets: [
          { key: `${p}a`, field: 'x', value: '1' },
          { key: `${p}c`, field: 'x', value: '3' },
        ],
      });
      expect(await store.getManyFields([`${p}c`, `${p}missing`, `${p}a`])).toEqual([
        { x: '3' },
        {},
        { x: '1' },
      ]);
      expect(await store.getManyFields([])).toEqual([]);
    });

    describe('apply is all or nothing', () => {
      const base = (p: string): StoreUpdate => ({
        increments: [{ key: `${p}c`, field: 'n', by: 1 }],
        sets: [{ key: `${p}c`, field: 'label', value: 'v1' }],
        sketches: [{ key: `${p}s`, members: ['u1', 'u2', 'u3'] }],
        offsets: { namespace: `${p}job`, offsets: { 0: 10, 1: 20 } },
      });

      async function snapshot(p: string) {
        return {
          fields: await store.getFields(`${p}c`),
          other: await store.getFields(`${p}other`),
          sketch: await store.sketchCount(`${p}s`),
          offsets: await store.readOffsets(`${p}job`),
        };
      }

      const invalidItems: Array<[string, (p: string) => StoreUpdate]> = [
        [
          'a NaN increment',
          (p) => ({
            increments: [
              { key: `${p}other`, field: 'n', by: 1 },
              { key: `${p}c`, field: 'n', by: Number.NaN },
            ],
          }),
        ],
        [
          'an infinite increment',
          (p) => ({ increments: [{ key: `${p}c`, field: 'n', by: Number.POSITIVE_INFINITY }] }),
        ],
        ['a fractional increment', (p) => ({ increments: [{ key: `${p}c`, field: 'n', by: 0.5 }] })],
        ['a non-finite set value', (p) => ({ sets: [{ key: `${p}other`, field: 'v', value: Number.NaN }] })],
        [
          'an empty key',
          (p) => ({
            sets: [
              { key: `${p}other`, field: 'v', value: 'x' },
              { key: '', field: 'v', value: 'x' },
            ],
          }),
        ],
        [
          'a non-string member',
          (p) => ({ sketches: [{ key: `${p}s`, members: ['u9', 42 as unknown as string] }] }),
        ],
        ['a negative offset', (p) => ({ offsets: { namespace: `${p}job`, offsets: { 0: 99, 1: -1 } } })],
        [
          'a non-integer partition',
          (p) => ({ offsets: { namespace: `${p}job`, offsets: { 1.5: 3 } as Record<number, number> } }),
        ],
        [
          'the same field incremented and set',
          (p) => ({
            increments: [{ key: `${p}other`, field: 'n', by: 1 }],
            sets: [{ key: `${p}other`, field: 'n', value: 5 }],
          }),
        ],
        [
          'one key used for fields and a sketch',
          (p) => ({
            sets: [{ key: `${p}other`, field: 'v', value: 'x' }],
            sketches: [{ key: `${p}other`, members: ['a'] }],
          }),
        ],
      ];

      for (const [what, bad] of invalidItems) {
        it(`rejects an update with ${what} with LKL_ERR_STORE_UPDATE_INVALID and changes nothing`, async () => {
          await store.apply(base(p));
          const before = await snapshot(p);
          const good = base(p);
          const mixed: StoreUpdate = { ...bad(p) };
          // Valid items ride along in the same update; none of them may land.
          mixed.increments = [...(good.increments ?? []), ...(mixed.increments ?? [])];
          mixed.sets = [{ key: `${p}c`, field: 'label', value: 'v2' }, ...(mixed.sets ?? [])];
          mixed.sketches = [{ key: `${p}s`, members: members(50, 'ride') }, ...(mixed.sketches ?? [])];
          mixed.offsets ??= { namespace: `${p}job`, offsets: { 0: 11 } };
          const err = await rejection(store.apply(mixed));
          expect(err.code).toBe('LKL_ERR_STORE_UPDATE_INVALID');
          expect(err.message).toMatch(/nothing was applied/i);
          expect(await snapshot(p)).toEqual(before);
          expect(before).toEqual({
            fields: { n: '1', label: 'v1' },
            other: {},
            sketch: 3,
            offsets: { 0: 10, 1: 20 },
          });
        });
      }

      it('rejects a sketch on a key that holds fields with LKL_ERR_STORE_CONFLICT and changes nothing', async () => {
        await store.apply(base(p));
        const before = await snapshot(p);
        const err = await rejection(
          store.apply({
            increments: [{ key: `${p}other`, field: 'n', by: 5 }],
            sketches: [
              { key: `${p}s`, members: ['new'] },
              { key: `${p}c`, members: ['x'] },
            ],
            offsets: { namespace: `${p}job`, offsets: { 0: 12 } },
          }),
        );
        expect(err.code).toBe('LKL_ERR_STORE_CONFLICT');
        expect(await snapshot(p)).toEqual(before);
      });

      it('rejects fields on a key that holds a sketch with LKL_ERR_STORE_CONFLICT and changes nothing', async () => {
        await store.apply(base(p));
        const before = await snapshot(p);
        const err = await rejection(
          store.apply({
            increments: [
              { key: `${p}c`, field: 'n', by: 5 },
              { key: `${p}s`, field: 'n', by: 1 },
            ],
          }),
        );
        expect(err.code).toBe('LKL_ERR_STORE_CONFLICT');
        expect(await snapshot(p)).toEqual(before);
      });

      it('rejects incrementing a field that holds text with LKL_ERR_STORE_CONFLICT and changes nothing', async () => {
        await store.apply(base(p));
        const before = await snapshot(p);
        const err = await rejection(
          store.apply({
            increments: [
              { key: `${p}c`, field: 'n', by: 5 },
              { key: `${p}c`, field: 'label', by: 1 },
            ],
            offsets: { namespace: `${p}job`, offsets: { 0: 13 } },
          }),
        );
        expect(err.code).toBe('LKL_ERR_STORE_CONFLICT');
        expect(err.message).toContain('label');
        expect(await snapshot(p)).toEqual(before);
      });

      it('rejects reading a sketch as fields and fields as a sketch', async () => {
        await store.apply(base(p));
        expect((await rejection(store.getFields(`${p}s`))).code).toBe('LKL_ERR_STORE_CONFLICT');
        expect((await rejection(store.sketchCount(`${p}c`))).code).toBe('LKL_ERR_STORE_CONFLICT');
      });
    });

    it('commits offsets with the update, per namespace, and reads them back', async () => {
      await store.apply({
        increments: [{ key: `${p}c`, field: 'n', by: 1 }],
        offsets: { namespace: `${p}job-1`, offsets: { 0: 100, 3: 7 } },
      });
      await store.apply({ offsets: { namespace: `${p}job-1`, offsets: { 0: 150 } } });
      await store.apply({ offsets: { namespace: `${p}job-2`, offsets: { 0: 1 } } });
      expect(await store.readOffsets(`${p}job-1`)).toEqual({ 0: 150, 3: 7 });
      expect(await store.readOffsets(`${p}job-2`)).toEqual({ 0: 1 });
      expect(await store.readOffsets(`${p}never`)).toEqual({});
      // Offsets are not data keys.
      expect(await store.keys(p)).toEqual([`${p}c`]);
      expect(await store.deleteByPrefix(p)).toBe(1);
      expect(await store.readOffsets(`${p}job-1`)).toEqual({ 0: 150, 3: 7 });
      await store.deleteOffsets(`${p}job-1`);
      expect(await store.readOffsets(`${p}job-1`)).toEqual({});
      expect(await store.readOffsets(`${p}job-2`)).toEqual({ 0: 1 });
    });

    it('compare-and-set on offsets: applies only while the stored offsets are the expected ones', async () => {
      const ns = `${p}cas`;
      // null = nothing stored yet
      await store.apply({
        increments: [{ key: `${p}cas-c`, field: 'n', by: 1 }],
        offsets: { namespace: ns, offsets: { 0: 10 }, expected: { 0: null } },
      });
      // Another member moved partition 0 to 20; a writer still expecting 10 is refused whole.
      await store.apply({ offsets: { namespace: ns, offsets: { 0: 20 }, expected: { 0: 10 } } });
      const err = await rejection(
        store.apply({
          increments: [{ key: `${p}cas-c`, field: 'n', by: 5 }],
          sets: [{ key: `${p}cas-c`, field: 'late', value: 'x' }],
          offsets: { namespace: ns, offsets: { 0: 30, 1: 4 }, expected: { 0: 10, 1: null } },
        }),
      );
      expect(err.code).toBe('LKL_ERR_STORE_CONFLICT');
      expect(err.details).toMatchObject({
        reason: 'offsets-moved',
        moved: [{ partition: 0, expected: 10, stored: 20 }],
      });
      expect(await store.getFields(`${p}cas-c`)).toEqual({ n: '1' });
      expect(await store.readOffsets(ns)).toEqual({ 0: 20 });
      // The same update expecting what is stored goes through.
      await store.apply({
        increments: [{ key: `${p}cas-c`, field: 'n', by: 5 }],
        offsets: { namespace: ns, offsets: { 0: 30, 1: 4 }, expected: { 0: 20, 1: null } },
      });
      expect(await store.getFields(`${p}cas-c`)).toEqual({ n: '6' });
      expect(await store.readOffsets(ns)).toEqual({ 0: 30, 1: 4 });
      const bad = await rejection(
        store.apply({ offsets: { namespace: ns, offsets: { 0: 31 }, expected: { 0: -1 } } }),
      );
      expect(bad.code).toBe('LKL_ERR_STORE_UPDATE_INVALID');
      await store.deleteOffsets(ns);
    });

    describe('sketches (HyperLogLog, 16,384 registers)', () => {
      for (const n of [10_000, 100_000]) {
        it(`counts ${n.toLocaleString('en')} distinct members within 3 × 1.04/√16384 (${(SKETCH_TOLERANCE * 100).toFixed(2)} %)`, async () => {
          // Fixed members: the hash is deterministic, so the measured error is reproducible.
          const all = members(n, 'contract');
          for (let i = 0; i < n; i += 10_000)
            await store.apply({ sketches: [{ key: `${p}users`, members: all.slice(i, i + 10_000) }] });
          // Re-adding members never raises the count.
          await store.apply({ sketches: [{ key: `${p}users`, members: all.slice(0, 5_000) }] });
          const count = await store.sketchCount(`${p}users`);
          const relErr = (count - n) / n;
          console.info(
            `[${name}] HLL ${n} distinct → ${count} (relative error ${(relErr * 100).toFixed(3)} %)`,
          );
          expect(Math.abs(relErr)).toBeLessThanOrEqual(SKETCH_TOLERANCE);
        });
      }

      it('is exact within ±1 for small sets', async () => {
        const sizes = [1, 2, 3, 5, 10, 25, 50, 75, 100];
        await store.apply({
          sketches: sizes.map((n) => ({ key: `${p}small-${n}`, members: members(n, `small${n}`) })),
        });
        const counts = await store.sketchCountMany(sizes.map((n) => `${p}small-${n}`));
        counts.forEach((c, i) =>
          expect(Math.abs(c - sizes[i]!), `n=${sizes[i]} counted ${c}`).toBeLessThanOrEqual(1),
        );
      });

      it('counts 0 for a missing or empty sketch and ignores duplicates', async () => {
        await store.apply({
          sketches: [
            { key: `${p}empty`, members: [] },
            { key: `${p}dup`, members: ['a', 'a', 'b', 'a', 'b'] },
          ],
        });
        expect(await store.sketchCountMany([`${p}missing`, `${p}empty`, `${p}dup`])).toEqual([0, 0, 2]);
        expect(await store.sketchCount(`${p}missing`)).toBe(0);
      });

      it('counts the union of sketches (distinct users across windows)', async () => {
        await store.apply({
          sketches: [
            { key: `${p}w1`, members: members(3_000, 'u').slice(0, 2_000) },
            { key: `${p}w2`, members: members(3_000, 'u').slice(1_000, 3_000) },
          ],
        });
        const union = await store.sketchUnionCount([`${p}w1`, `${p}w2`, `${p}missing`]);
        expect(Math.abs(union - 3_000) / 3_000).toBeLessThanOrEqual(SKETCH_TOLERANCE);
        expect(await store.sketchUnionCount([])).toBe(0);
        // The union does not change the inputs.
        const [w1, w2] = await store.sketchCountMany([`${p}w1`, `${p}w2`]);
        expect(Math.abs(w1! - 2_000) / 2_000).toBeLessThanOrEqual(SKETCH_TOLERANCE);
        expect(Math.abs(w2! - 2_000) / 2_000).toBeLessThanOrEqual(SKETCH_TOLERANCE);
      });
    });

    describe('deleteKeys', () => {
      it('deletes exactly the keys named, fields and sketches alike, and counts only those that existed', async () => {
        await store.apply({
          increments: [
            { key: `${p}dk:a`, field: 'x', by: 1 },
            { key: `${p}dk:b`, field: 'x', by: 2 },
          ],
          sketches: [{ key: `${p}dk:s`, members: ['u1', 'u2'] }],
        });
        expect(await store.deleteKeys([`${p}dk:a`, `${p}dk:s`, `${p}dk:missing`])).toBe(2);
        expect(await store.getFields(`${p}dk:a`)).toEqual({});
        expect(await store.sketchCount(`${p}dk:s`)).toBe(0);
        expect(await store.getFields(`${p}dk:b`)).toEqual({ x: '2' });
        expect(await store.deleteKeys([])).toBe(0);
      });
    });

    describe('keys and deleteByPrefix', () => {
      it('list and delete only the keys under the prefix', async () => {
        await store.apply({
          sets: [
            { key: `${p}view:1`, field: 'a', value: '1' },
            { key: `${p}view:2`, field: 'a', value: '1' },
            { key: `${p}viewer`, field: 'a', value: '1' },
            { key: `${p}other:1`, field: 'a', value: '1' },
          ],
          sketches: [{ key: `${p}view:users`, members: ['x'] }],
        });
        expect((await store.keys(`${p}view:`)).sort()).toEqual([
          `${p}view:1`,
          `${p}view:2`,
          `${p}view:users`,
        ]);
        expect(await store.deleteByPrefix(`${p}view:`)).toBe(3);
        expect(await store.keys(`${p}view:`)).toEqual([]);
        expect((await store.keys(p)).sort()).toEqual([`${p}other:1`, `${p}viewer`]);
        expect(await store.getFields(`${p}viewer`)).toEqual({ a: '1' });
        expect(await store.deleteByPrefix(`${p}nothing:`)).toBe(0);
      });

      it('take glob characters in a prefix literally', async () => {
        await store.apply({
          sets: [
            { key: `${p}a*[1]?`, field: 'f', value: '1' },
            { key: `${p}a*[1]?x`, field: 'f', value: '1' },
            { key: `${p}aZ1Q`, field: 'f', value: '1' },
          ],
        });
        expect((await store.keys(`${p}a*[1]?`)).sort()).toEqual([`${p}a*[1]?`, `${p}a*[1]?x`]);
        expect(await store.deleteByPrefix(`${p}a*`)).toBe(2);
        expect(await store.keys(p)).toEqual([`${p}aZ1Q`]);
      });

      it('handle more keys than one scan/delete batch', async () => {
        const n = 2_500;
        await store.apply({
          increments: Array.from({ length: n }, (_, i) => ({ key: `${p}many:${i}`, field: 'n', by: i })),
        });
        expect((await store.keys(`${p}many:`)).length).toBe(n);
        expect(await store.deleteByPrefix(`${p}many:`)).toBe(n);
        expect(await store.keys(`${p}many:`)).toEqual([]);
      });
    });

    it('reports memory used under a prefix when it supports memoryBytes', async () => {
      if (!store.memoryBytes) return;
      expect(await store.memoryBytes(`${p}mem:`)).toBe(0);
      await store.apply({
        increments: Array.from({ length: 100 }, (_, i) => ({ key: `${p}mem:${i}`, field: 'views', by: 1 })),
      });
      const small = await store.memoryBytes(`${p}mem:`);
      expect(small).toBeGreaterThan(100 * 8);
      await store.apply({ sketches: [{ key: `${p}mem:users`, members: members(20_000, 'm') }] });
      // A sketch past its sparse phase holds 16,384 six-bit registers: at least 12,288 bytes.
      expect((await store.memoryBytes(`${p}mem:`)) - small).toBeGreaterThanOrEqual(12_288);
      expect(await store.memoryBytes(`${p}nothing:`)).toBe(0);
    });

    it('keeps fields, sketches and offsets across a reopen', async () => {
      if (!h.reopen) return;
      await store.apply({
        increments: [{ key: `${p}c`, field: 'n', by: 41 }],
        sets: [{ key: `${p}c`, field: 'label', value: 'ü€ text' }],
        sketches: [
          { key: `${p}small`, members: members(50, 'r') },
          { key: `${p}big`, members: members(30_000, 'r') },
        ],
        offsets: { namespace: `${p}job`, offsets: { 0: 5, 2: 9 } },
      });
      const counts = await store.sketchCountMany([`${p}small`, `${p}big`]);
      store = await h.reopen();
      expect(await store.getFields(`${p}c`)).toEqual({ n: '41', label: 'ü€ text' });
      expect(await store.sketchCountMany([`${p}small`, `${p}big`])).toEqual(counts);
      expect(await store.readOffsets(`${p}job`)).toEqual({ 0: 5, 2: 9 });
      expect((await store.keys(p)).sort()).toEqual([`${p}big`, `${p}c`, `${p}small`]);
      // Still writable after the reopen, and sketches keep accumulating.
      await store.apply({
        increments: [{ key: `${p}c`, field: 'n', by: 1 }],
        sketches: [{ key: `${p}small`, members: ['r-user-0', 'new'] }],
      });
      expect(await store.getFields(`${p}c`)).toEqual({ n: '42', label: 'ü€ text' });
      expect(await store.sketchCount(`${p}small`)).toBe(counts[0]! + 1);
    });

    it('rejects calls after close with LKL_ERR_STORE_UNAVAILABLE', async () => {
      await store.close();
      const err = await rejection(store.getFields(`${p}c`));
      expect(err.code).toBe('LKL_ERR_STORE_UNAVAILABLE');
      expect((await rejection(store.apply({ sets: [{ key: `${p}c`, field: 'a', value: 1 }] }))).code).toBe(
        'LKL_ERR_STORE_UNAVAILABLE',
      );
    });
  });
}
