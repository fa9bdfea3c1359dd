/**
 * Conformance suite of the realtime-store port. Every adapter runs it (embedded-realtime-store.test.ts,
 * redis-realtime-store.test.ts); it uses nothing but the port.
 *
 * The tests live in one file per topic (realtime-store-fields/-offsets/-sketches/-keys.contract.ts)
 * over one per-test setup (realtime-store-contract-support.ts); this entry registers them all.
 */
import { describe } from 'vitest';
import {
  SKETCH_TOLERANCE,
  useRealtimeStoreHarness,
  type RealtimeStoreHarness,
} from './realtime-store-contract-support.js';
import { realtimeStoreFieldTests } from './realtime-store-fields.contract.js';
import { realtimeStoreKeyTests } from './realtime-store-keys.contract.js';
import { realtimeStoreOffsetTests } from './realtime-store-offsets.contract.js';
import { realtimeStoreSketchTests } from './realtime-store-sketches.contract.js';

export { SKETCH_TOLERANCE, type RealtimeStoreHarness };

export function realtimeStoreContract(name: string, factory: () => Promise<RealtimeStoreHarness>): void {
  describe(`RealtimeStore contract: ${name}`, () => {
    const state = useRealtimeStoreHarness(factory);
    realtimeStoreFieldTests(state);
    realtimeStoreOffsetTests(state);
    realtimeStoreSketchTests(state, name);
    realtimeStoreKeyTests(state);
  });
}
