/**
 * Realtime-store contract, part of realtimeStoreContract() (realtime-store.contract.ts). Keys:
 * deleteKeys, keys() and deleteByPrefix() (literal glob characters, more than one batch),
 * memoryBytes().
 */
import { describe, expect, it } from 'vitest';
import { type RealtimeStore } from '../realtime-store.js';
import { members, type RealtimeStoreContractState } from './realtime-store-contract-support.js';

export function realtimeStoreKeyTests(state: RealtimeStoreContractState): void {
  let store: RealtimeStore;
  /** A random key prefix per test. */
  let p: string;
  state.bind((t) => {
    store = t.store;
    p = t.prefix;
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
      expect((await store.keys(`${p}view:`)).sort()).toEqual([`${p}view:1`, `${p}view:2`, `${p}view:users`]);
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
    // A sketch past its sparse phase holds its sketchRegisters six-bit registers (16,384: 12,288
    // bytes) and little more: the register count the measurement derives σ = 1.04/√m from is real.
    expect(store.sketchRegisters).toBe(16_384);
    const denseBytes = (store.sketchRegisters * 6) / 8;
    const sketchBytes = (await store.memoryBytes(`${p}mem:`)) - small;
    expect(sketchBytes).toBeGreaterThanOrEqual(denseBytes);
    expect(sketchBytes).toBeLessThan(denseBytes * 1.5);
    expect(await store.memoryBytes(`${p}nothing:`)).toBe(0);
  });
}
