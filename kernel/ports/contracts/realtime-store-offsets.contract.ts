/**
 * Realtime-store contract, part of realtimeStoreContract() (realtime-store.contract.ts). Offsets
 * and lifecycle: offsets committed with the update, compare-and-set, reopening, calls after
 * close.
 */
import { expect, it } from 'vitest';
import { type RealtimeStore } from '../realtime-store.js';
import {
  members,
  rejection,
  type RealtimeStoreContractState,
  type RealtimeStoreHarness,
} from './realtime-store-contract-support.js';

export function realtimeStoreOffsetTests(state: RealtimeStoreContractState): void {
  let h: RealtimeStoreHarness;
  let store: RealtimeStore;
  /** A random key prefix per test. */
  let p: string;
  state.bind((t) => {
    h = t.harness;
    store = t.store;
    p = t.prefix;
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
}
