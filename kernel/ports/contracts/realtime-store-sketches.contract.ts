/**
 * Realtime-store contract, part of realtimeStoreContract() (realtime-store.contract.ts). Sketches
 * (HyperLogLog): accuracy at several sizes, small sets, missing sketches, unions.
 */
import { describe, expect, it } from 'vitest';
import { type RealtimeStore } from '../realtime-store.js';
import {
  SKETCH_TOLERANCE,
  members,
  type RealtimeStoreContractState,
} from './realtime-store-contract-support.js';

/** `name` is the adapter's name in the suite, for the accuracy lines the tests print. */
export function realtimeStoreSketchTests(state: RealtimeStoreContractState, name: string): void {
  let store: RealtimeStore;
  /** A random key prefix per test. */
  let p: string;
  state.bind((t) => {
    store = t.store;
    p = t.prefix;
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
}
