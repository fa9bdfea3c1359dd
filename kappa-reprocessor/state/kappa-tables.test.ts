import { describe, expect, it } from 'vitest';
import { systemClock } from '../../kernel/clock/system-clock.js';
import { openEmbeddedRealtimeStore } from '../../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { FOLDED_FIELD, foldUpdate, KappaFoldCache, readKappaWindows, windowKey } from './kappa-tables.js';

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

describe('folding a final window', () => {
  it('answers what the deltas answered, in one field that names the deltas it holds', async () => {
    const store = await openEmbeddedRealtimeStore({ clock: systemClock });
    const key = windowKey(1, W);
    await store.apply({
      sets: [
        {
          key,
          field: '0@10',
          value: delta(5, [
            ['c1', 3, ['u1', 'u2']],
            ['c2', 1, ['u1']],
          ]),
        },
        { key, field: '1@7', value: delta(8, [['c1', 2, ['u2', 'u3']]]) },
        { key, field: '0@20', value: delta(6, [['c1', 1, ['u4']]]) },
      ],
    });
    const before = await readKappaWindows(store, 1, [W], { distinct: true, cache: new KappaFoldCache() });
    expect(before).toEqual([
      { campaign: 'c1', window: W, views: 6, distinctUsers: 4, timeUpdated: 8 },
      { campaign: 'c2', window: W, views: 1, distinctUsers: 1, timeUpdated: 5 },
    ]);
    const fold = foldUpdate(key, await store.getFields(key))!;
    expect(fold.remove.sort()).toEqual(['0@10', '0@20', '1@7']);
    expect(JSON.parse(String(fold.set.value))).toEqual({
      o: { 0: 20, 1: 7 },
      c: [
        ['c1', 6, 4, 8],
        ['c2', 1, 1, 5],
      ],
    });
    await store.apply({ removals: [{ key, fields: fold.remove }], sets: [fold.set] });
    expect(Object.keys(await store.getFields(key))).toEqual([FOLDED_FIELD]);
    for (const distinct of [true, false]) {
      const after = await readKappaWindows(store, 1, [W], { distinct, cache: new KappaFoldCache() });
      expect(after).toEqual(
        before.map((r) => ({ ...r, distinctUsers: distinct ? r.distinctUsers : undefined })),
      );
    }
    // Nothing left to fold.
    expect(foldUpdate(key, await store.getFields(key))).toBeUndefined();

    // A delta the fold already holds (a checkpoint written again) is not counted twice; a newer
    // one is counted, and folded again with the folded field.
    await store.apply({
      sets: [
        { key, field: '0@20', value: delta(6, [['c1', 1, ['u4']]]) },
        { key, field: '1@9', value: delta(9, [['c2', 2, ['u9']]]) },
      ],
    });
    const revised = await readKappaWindows(store, 1, [W], { distinct: true, cache: new KappaFoldCache() });
    expect(revised).toEqual([
      { campaign: 'c1', window: W, views: 6, distinctUsers: 4, timeUpdated: 8 },
      { campaign: 'c2', window: W, views: 3, distinctUsers: 2, timeUpdated: 9 },
    ]);
    const again = foldUpdate(key, await store.getFields(key))!;
    expect(JSON.parse(String(again.set.value)).o).toEqual({ 0: 20, 1: 9 });
    await store.apply({ removals: [{ key, fields: again.remove }], sets: [again.set] });
    expect(await readKappaWindows(store, 1, [W], { distinct: true, cache: new KappaFoldCache() })).toEqual(
      revised,
    );
    await store.close();
  });
});
