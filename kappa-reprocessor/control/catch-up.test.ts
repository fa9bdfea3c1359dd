import { describe, expect, it } from 'vitest';
import { CatchUpDetector } from './catch-up.js';
import { etaMs, ProgressTracker } from './progress.js';

const pos = (...p: number[]) => new Map(p.map((v, i) => [i, v]));
const ends = (...e: number[]) => e.map((end, partition) => ({ partition, end }));

describe('catch-up detection', () => {
  it('needs every partition past its snapshot and the lag under the threshold for the dwell time', () => {
    const d = new CatchUpDetector(100, 1_000);
    const snapshot = ends(1_000, 1_000);
    expect(d.observe(0, { positions: pos(1_000, 500), snapshot, ends: ends(1_000, 1_000) })).toMatchObject({
      passedSnapshot: false,
      behindSnapshot: [1],
      caughtUp: false,
    });
    expect(
      d.observe(100, { positions: pos(1_000, 1_000), snapshot, ends: ends(1_050, 1_040) }),
    ).toMatchObject({ passedSnapshot: true, lag: 90, heldMs: 0, caughtUp: false });
    expect(
      d.observe(700, { positions: pos(1_040, 1_050), snapshot, ends: ends(1_100, 1_060) }),
    ).toMatchObject({ lag: 70, heldMs: 600, caughtUp: false });
    // The lag jumps above the threshold: the dwell starts over.
    expect(
      d.observe(900, { positions: pos(1_040, 1_050), snapshot, ends: ends(1_300, 1_060) }),
    ).toMatchObject({ lag: 270, heldMs: 0, caughtUp: false });
    expect(
      d.observe(1_000, { positions: pos(1_290, 1_060), snapshot, ends: ends(1_300, 1_060) }),
    ).toMatchObject({ lag: 10, heldMs: 0 });
    expect(
      d.observe(2_000, { positions: pos(1_300, 1_060), snapshot, ends: ends(1_300, 1_060) }),
    ).toMatchObject({ lag: 0, heldMs: 1_000, caughtUp: true });
  });

  it('is not blocked by idle partitions (no data, or no new data)', () => {
    const d = new CatchUpDetector(0, 0);
    const snapshot = ends(500, 0, 300);
    // Partition 1 never had data and never gets a checkpoint; partition 2 got nothing new.
    expect(
      d.observe(0, {
        positions: new Map([
          [0, 500],
          [2, 300],
        ]),
        snapshot,
        ends: ends(500, 0, 300),
      }),
    ).toMatchObject({ passedSnapshot: true, lag: 0, caughtUp: true });
  });
});

describe('progress', () => {
  it('rates per partition and ETA = lag / (rate − arrival)', () => {
    const t = new ProgressTracker(5_000);
    t.add({ at: 0, positions: pos(0, 0), ends: pos(10_000, 10_000) });
    t.add({ at: 2_000, positions: pos(4_000, 1_000), ends: pos(10_200, 10_000) });
    expect(t.rates()).toEqual([
      { partition: 0, rate: 2_000, arrival: 100 },
      { partition: 1, rate: 500, arrival: 0 },
    ]);
    expect(etaMs(6_200, 2_000, 100)).toBe(Math.round((6_200 / 1_900) * 1000));
    expect(etaMs(100, 50, 60)).toBeNull();
    expect(etaMs(0, 0, 0)).toBe(0);
  });
});
