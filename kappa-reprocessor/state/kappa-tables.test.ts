import { describe, expect, it } from 'vitest';
import { systemClock } from '../../kernel/clock/system-clock.js';
import { openEmbeddedRealtimeStore } from '../../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { KappaFoldCache, readKappaWindows, windowKey } from './kappa-tables.js';

const W = 1_700_000_000_000;
const delta = (t: number, cells: Array<[string, number, string[]]>): string =>
  JSON.stringify({ t, c: cells });

describe('readKappaWindows with a fold cache', () => {
  it('answers what an uncached read answers while fields are added and other windows change', async () => {
    const store = await openEmbeddedRealtimeStore({ clock: systemClock });
    const cache = new KappaFoldCache(8);
    const windows = [W, W + 10_000];
    const read = async () => {
      const cached = await readKappaWindows(store, 1, windows, { distinct: true, cache });
      // A fresh cache folds every window anew: what a read without any cache answers.
      const plain = await readKappaWindows(store, 1, windows, {
        distinct: true,
        cache: new KappaFoldCache(),
      });
      expect(cached).toEqual(plain);
      // The store's shared cache (no `cache` given), and a campaign filter over a cached fold.
      expect(await readKappaWindows(store, 1, windows, { distinct: true })).toEqual(plain);
      expect(await readKappaWindows(store, 1, windows, { distinct: true, campaign: 'c2' })).toEqual(
        plain.filter((r) => r.campaign === 'c2'),
      );
      return cached;
    };
    await store.apply({
      sets: [{ key: windowKey(1, W), field: '0@10', value: delta(5, [['c1', 3, ['u1', 'u2']]]) }],
    });
    expect(await read()).toEqual([{ campaign: 'c1', window: W, views: 3, distinctUsers: 2, timeUpdated: 5 }]);
    const first = cache.fold(windowKey(1, W), await store.getFields(windowKey(1, W)), true);
    // Another window changes: the first window's fold is reused as it is.
    await store.apply({
      sets: [{ key: windowKey(1, W + 10_000), field: '1@4', value: delta(7, [['c2', 1, ['u9']]]) }],
    });
    await read();
    expect(cache.fold(windowKey(1, W), await store.getFields(windowKey(1, W)), true)).toBe(first);
    // A new field of the first window: folded again, with the new delta in it.
    await store.apply({
      sets: [{ key: windowKey(1, W), field: '0@20', value: delta(9, [['c1', 2, ['u2', 'u3']]]) }],
    });
    expect((await read())[0]).toEqual({
      campaign: 'c1',
      window: W,
      views: 5,
      distinctUsers: 3,
      timeUpdated: 9,
    });
    expect(cache.fold(windowKey(1, W), await store.getFields(windowKey(1, W)), true)).not.toBe(first);
    await store.close();
  });

  it('keeps at most its bound of windows', async () => {
    const cache = new KappaFoldCache(3);
    for (let i = 0; i < 10; i++) cache.fold(`k${i}`, { f: delta(i, [['c', 1, ['u']]]) }, false);
    expect(cache.size).toBe(3);
  });
});
