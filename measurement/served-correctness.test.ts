import { describe, expect, it } from 'vitest';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import {
  ServedCorrectness,
  compareCells,
  correctSince,
  fingerprint,
  type ServedArch,
  type ServedSources,
  type WindowValues,
} from './served-correctness.js';

const T0 = 1_700_000_000_000; // a window boundary
const truthOf = (w: number): WindowValues =>
  new Map([
    ['c1', 10 + ((w / WINDOW_MS) % 7)],
    ['c2', 5],
  ]);

/**
 * A lab in miniature: Kappa serves the truth as soon as a window closes; Lambda's speed layer
 * misses c2's last view until the batch view covers the window, 45 s after its close; the truth is
 * final 20 s after a window's close.
 */
function sources(now: () => number): ServedSources {
  return {
    async served(arch: ServedArch, from: number, to: number) {
      const out = new Map<number, WindowValues>();
      for (let w = from; w < to; w += WINDOW_MS) {
        if (w + WINDOW_MS > now()) continue; // open windows are not judged anyway
        const t = new Map(truthOf(w));
        if (arch === 'lambda' && now() - (w + WINDOW_MS) < 45_000) t.set('c2', 4);
        out.set(w, t);
      }
      return out;
    },
    finalBefore: () => now() - 20_000,
    async truth(from: number, to: number) {
      const out = new Map<number, WindowValues>();
      for (let w = from; w < to; w += WINDOW_MS) out.set(w, truthOf(w));
      return out;
    },
  };
}

describe('served correctness', () => {
  it('judges what was served at each age against the final truth, and the time-to-correct per window', async () => {
    const served = new ServedCorrectness({ maxTrackMs: 300_000, keepWindows: 100 });
    let now = T0 + 500;
    const src = sources(() => now);
    for (; now < T0 + 200_000; now += 1000) await served.sample(now, src);
    const [lambda, kappa] = served.figures();
    expect(lambda!.arch).toBe('lambda');
    // windows closing from T0 + 10 s on, judged once 60 s old: (200 − 10 − 60) / 10 ≈ 13
    expect(kappa!.timeToCorrect.windows).toBeGreaterThanOrEqual(12);
    expect(kappa!.byAge.map((a) => a.correctShare)).toEqual([1, 1, 1]);
    expect(kappa!.timeToCorrect.p90).toBeLessThanOrEqual(1000);
    expect(kappa!.timeToCorrect.neverCorrect).toBe(0);
    // Lambda: c1 right and c2 wrong at 1 s and 10 s (half the cells), all right at 60 s
    expect(lambda!.byAge.map((a) => a.correctShare)).toEqual([0.5, 0.5, 1]);
    expect(lambda!.byAge.map((a) => a.windowsCorrectShare)).toEqual([0, 0, 1]);
    expect(lambda!.timeToCorrect.p50).toBeGreaterThanOrEqual(45_000);
    expect(lambda!.timeToCorrect.p50).toBeLessThan(46_000);
    expect(lambda!.recent.length).toBe(lambda!.timeToCorrect.windows);
  });

  it('a window never served right is counted as such after the tracking time', async () => {
    const served = new ServedCorrectness({ maxTrackMs: 90_000, keepWindows: 100 });
    let now = T0 + 500;
    const base = sources(() => now);
    const src: ServedSources = {
      ...base,
      async served(arch, from, to) {
        const m = await base.served(arch, from, to);
        if (arch === 'kappa') for (const v of m.values()) v.set('c3', 1); // an extra campaign, for ever
        return m;
      },
    };
    for (; now < T0 + 150_000; now += 1000) await served.sample(now, src);
    const kappa = served.figures()[1]!;
    expect(kappa.timeToCorrect.windows).toBeGreaterThan(0);
    expect(kappa.timeToCorrect.neverCorrect).toBe(kappa.timeToCorrect.windows);
    expect(kappa.timeToCorrect.p50).toBeNull();
    expect(kappa.byAge[0]!.correctShare).toBeCloseTo(2 / 3);
  });

  it('compares answers cell by cell and by fingerprint', () => {
    const a = new Map([
      ['x', 1],
      ['y', 2],
      ['z', 0],
    ]);
    const b = new Map([
      ['y', 2],
      ['x', 1],
    ]);
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(compareCells(a, new Map([['x', 1]]))).toEqual({ cells: 2, correct: 1 });
    expect(
      correctSince(
        [
          { ageMs: 1, fp: 'a' },
          { ageMs: 2, fp: 't' },
          { ageMs: 3, fp: 'a' },
          { ageMs: 4, fp: 't' },
          { ageMs: 5, fp: 't' },
        ],
        't',
      ),
    ).toBe(4);
  });
});
