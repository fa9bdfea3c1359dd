/**
 * Realtime-store contract, part of realtimeStoreContract() (realtime-store.contract.ts). Fields
 * and atomicity: increments, sets, reading many keys, and apply() as all or nothing (invalid
 * updates, kind conflicts).
 */
import { describe, expect, it } from 'vitest';
import { type RealtimeStore, type StoreUpdate } from '../realtime-store.js';
import { members, rejection, type RealtimeStoreContractState } from './realtime-store-contract-support.js';

export function realtimeStoreFieldTests(state: RealtimeStoreContractState): void {
  let store: RealtimeStore;
  /** A random key prefix per test. */
  let p: string;
  state.bind((t) => {
    store = t.store;
    p = t.prefix;
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

  it("a record read before a write, delete or other key's write never hides the newer value; changing a read record changes nothing", async () => {
    await store.apply({ increments: [{ key: `${p}r`, field: 'views', by: 1 }] });
    const first = await store.getFields(`${p}r`);
    expect((await store.getManyFields([`${p}r`]))[0]).toEqual({ views: '1' });
    await store.apply({ increments: [{ key: `${p}r`, field: 'views', by: 1 }] });
    expect(await store.getFields(`${p}r`)).toEqual({ views: '2' });
    expect(first).toEqual({ views: '1' });
    await store.apply({ sets: [{ key: `${p}other`, field: 'x', value: 1 }] });
    expect(await store.getFields(`${p}r`)).toEqual({ views: '2' });
    await store.deleteKeys([`${p}r`]);
    expect(await store.getFields(`${p}r`)).toEqual({});
    // A reader that writes into what it read (a frozen record throws; a copy just changes) does
    // not change the store or what the next reader gets.
    await store.apply({ sets: [{ key: `${p}r`, field: 'views', value: 5 }] });
    const read = (await store.getFields(`${p}r`)) as Record<string, string>;
    try {
      read.views = 'changed';
    } catch {
      // frozen: the adapter shares its records
    }
    expect(await store.getFields(`${p}r`)).toEqual({ views: '5' });
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

  it('removes fields (missing ones ignored) before the sets of the same update; a hash without fields is gone', async () => {
    await store.apply({
      sets: [
        { key: `${p}w`, field: '0@1', value: 'a' },
        { key: `${p}w`, field: '1@1', value: 'b' },
        { key: `${p}w`, field: 'keep', value: 'c' },
        { key: `${p}x`, field: 'only', value: 'd' },
      ],
    });
    await store.apply({
      removals: [
        { key: `${p}w`, fields: ['0@1', '1@1', 'never-there'] },
        { key: `${p}missing`, fields: ['f'] },
      ],
      sets: [{ key: `${p}w`, field: '=', value: 'folded' }],
      offsets: { namespace: `${p}job`, offsets: { 0: 5 } },
    });
    expect(await store.getFields(`${p}w`)).toEqual({ keep: 'c', '=': 'folded' });
    expect(await store.readOffsets(`${p}job`)).toEqual({ 0: 5 });
    await store.apply({ removals: [{ key: `${p}x`, fields: ['only'] }] });
    expect(await store.getFields(`${p}x`)).toEqual({});
    expect((await store.keys(p)).sort()).toEqual([`${p}w`]);
    // Every field removed and new ones set in one update: the key holds the new ones.
    await store.apply({
      removals: [{ key: `${p}w`, fields: ['keep', '='] }],
      sets: [{ key: `${p}w`, field: 'new', value: 'e' }],
      increments: [{ key: `${p}w`, field: 'n', by: 2 }],
    });
    expect(await store.getFields(`${p}w`)).toEqual({ new: 'e', n: '2' });
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
        'the same field removed and set',
        (p) => ({
          sets: [{ key: `${p}other`, field: 'n', value: 5 }],
          removals: [{ key: `${p}other`, fields: ['n'] }],
        }),
      ],
      [
        'removal fields that are not strings',
        (p) => ({ removals: [{ key: `${p}c`, fields: ['label', 7 as unknown as string] }] }),
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

    it('rejects removing fields of a key that holds a sketch with LKL_ERR_STORE_CONFLICT and changes nothing', async () => {
      await store.apply(base(p));
      const before = await snapshot(p);
      const err = await rejection(
        store.apply({
          removals: [
            { key: `${p}c`, fields: ['label'] },
            { key: `${p}s`, fields: ['x'] },
          ],
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
}
