import { describe, expect, it } from 'vitest';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { flushUpdate } from '../speed-layer/index.js';
import { FinalEventLatency } from './latency.js';

const W = 1_700_000_000_000;

/** What the speed layer's flushes set, each one (campaign, window) at `now`; no Kappa job. */
function flushedStore(...flushes: Array<{ now: number; window: number; campaign: string }>): RealtimeStore {
  const hashes = new Map<string, Record<string, string>>();
  for (const { now, window, campaign } of flushes) {
    const counts = new Map([[window, new Map([[campaign, { views: 1, users: new Set(['u1']) }]])]]);
    for (const set of flushUpdate(counts, now, 0, 1).sets ?? [])
      hashes.set(set.key, { ...hashes.get(set.key), [set.field]: String(set.value) });
  }
  return {
    getManyFields: async (keys: string[]) => keys.map((k) => hashes.get(k) ?? {}),
    getFields: async () => ({}),
  } as unknown as RealtimeStore;
}

/** The speed layer's updated times of two windows (campaigns c1, c2). */
const store = flushedStore(
  { now: W + WINDOW_MS + 400, window: W, campaign: 'c1' },
  { now: W + WINDOW_MS + 900, window: W, campaign: 'c2' },
  { now: W + 2 * WINDOW_MS + 700, window: W + WINDOW_MS, campaign: 'c1' },
);

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
