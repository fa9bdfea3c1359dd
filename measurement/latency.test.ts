import { describe, expect, it } from 'vitest';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { updatedKey } from '../speed-layer/realtime-views.js';
import { FinalEventLatency } from './latency.js';

const W = 1_700_000_000_000;

/** The speed layer's updated times of two windows (campaigns c1, c2), no Kappa job. */
const updated = new Map<string, Record<string, string>>([
  [updatedKey(W), { c1: String(W + WINDOW_MS + 400), c2: String(W + WINDOW_MS + 900) }],
  [updatedKey(W + WINDOW_MS), { c1: String(W + 2 * WINDOW_MS + 700) }],
]);
const store = {
  getManyFields: async (keys: string[]) => keys.map((k) => updated.get(k) ?? {}),
  getFields: async () => ({}),
} as unknown as RealtimeStore;

describe('final-event latency samples', () => {
  it('tells each listener every sample once, and a failing listener changes nothing', async () => {
    const latency = new FinalEventLatency(store, 3_000);
    const seen: Array<[string, number]> = [];
    latency.onSample(() => {
      throw new Error('exporter down');
    });
    const off = latency.onSample((arch, ms) => seen.push([arch, ms]));
    const final = W + WINDOW_MS + 3_000;
    await latency.sample([W], final - 1); // not final yet
    expect(latency.figures()[0]!.finalEvent.count).toBe(0);
    expect(seen).toEqual([]);
    await latency.sample([W], final);
    await latency.sample([W], final + 1_000); // sampled once
    expect(seen).toEqual([
      ['lambda', 400],
      ['lambda', 900],
    ]);
    expect(latency.figures().find((f) => f.arch === 'lambda')!.finalEvent).toMatchObject({
      count: 2,
      p50: 400,
      max: 900,
    });
    off();
    await latency.sample([W, W + WINDOW_MS], final + WINDOW_MS);
    expect(seen).toHaveLength(2);
    expect(latency.figures().find((f) => f.arch === 'lambda')!.finalEvent.count).toBe(3);
  });
});
