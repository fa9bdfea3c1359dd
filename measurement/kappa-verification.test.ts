import { describe, expect, it } from 'vitest';
import { compareKappaTables, type VerificationInput, type WindowTable } from './kappa-verification.js';

const W0 = 1_700_000_000_000;
const W1 = W0 + 10_000;

const table = (cells: Record<number, Record<string, number>>): WindowTable =>
  new Map(Object.entries(cells).map(([w, c]) => [Number(w), new Map(Object.entries(c))]));

// The truth per logic version: v2 leaves out the bots' views (3 in W0/c1, 1 in W1/c2).
const TRUTH: Record<number, WindowTable> = {
  1: table({ [W0]: { c1: 10, c2: 5 }, [W1]: { c1: 4, c2: 6 } }),
  2: table({ [W0]: { c1: 7, c2: 5 }, [W1]: { c1: 4, c2: 5 } }),
};

const input = (over: Partial<VerificationInput>): VerificationInput => ({
  job: { id: 3, logicVersion: 2 },
  against: { id: 1, logicVersion: 1 },
  windowsRequested: 5,
  windows: [W0, W1],
  closedBefore: W1 + 10_000,
  expected: (v) => TRUTH[v]!,
  candidate: TRUTH[2]!,
  active: TRUTH[1]!,
  now: 0,
  ...over,
});

describe('compareKappaTables (the switchover gate rule)', () => {
  it('a logic change passes when its differences against job N are exactly what the change explains', () => {
    const v = compareKappaTables(input({}));
    expect(v.verdict).toBe('passed');
    expect(v.sameLogic).toBe(false);
    expect(v.windows.map((w) => [w.absDiffTruth, w.absDiffActive, w.unexplainedActive])).toEqual([
      [0, 3, 0],
      [0, 1, 0],
    ]);
    expect(v.windows[0]!.histogram).toEqual([2, 0, 0, 0, 0]);
    expect(v.reason).toContain('exactly the ones v1 → v2 explains');
  });

  it('fails, naming the window, when N+1 differs from the truth of its version (e.g. it double counts)', () => {
    const doubled = table({ [W0]: { c1: 14, c2: 10 }, [W1]: { c1: 4, c2: 5 } });
    const v = compareKappaTables(input({ candidate: doubled }));
    expect(v.verdict).toBe('failed');
    expect(v.failedWindows).toEqual([W0]);
    const w = v.windows[0]!;
    expect(w.absDiffTruth).toBe(12);
    expect(w.histogram).toEqual([0, 0, 2, 0, 0]); // |7| and |5|
    expect(w.unexplainedActive).toBe(12);
    expect(w.differing).toEqual([
      { campaign: 'c1', expected: 7, candidate: 14, active: 10, explained: -3 },
      { campaign: 'c2', expected: 5, candidate: 10, active: 5, explained: 0 },
    ]);
  });

  it('a v1 replay that leaves the bots out is wrong for v1, even though it equals the truth of v2', () => {
    const v = compareKappaTables(input({ job: { id: 2, logicVersion: 1 }, candidate: TRUTH[2]! }));
    expect(v.verdict).toBe('failed');
    expect(v.sameLogic).toBe(true);
    expect(v.failedWindows).toEqual([W0, W1]);
  });

  it('passes when N+1 is right and job N is the one off (the switch fixes it), and says so', () => {
    const offN = table({ [W0]: { c1: 10, c2: 5 }, [W1]: { c1: 4, c2: 9 } });
    const v = compareKappaTables(input({ active: offN }));
    expect(v.verdict).toBe('passed');
    expect(v.activeDeviates).toEqual([W1]);
    expect(v.windows[1]!.unexplainedActive).toBe(3);
    expect(v.windows[1]!.histogramActive).toEqual([1, 0, 1, 0, 0]);
    expect(v.reason).toContain('job 1 differs from the truth of its logic v1 in 1 of them');
  });

  it('without job N compares with the truth only', () => {
    const v = compareKappaTables(input({ against: undefined, active: undefined }));
    expect(v).toMatchObject({ verdict: 'passed', against: null, sameLogic: null });
    expect(v.windows[0]!.histogramActive).toBeNull();
  });
});
