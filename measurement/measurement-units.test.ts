import { describe, expect, it } from 'vitest';
import { closedBefore, correctness, windowOfKey } from './correctness.js';
import { attributeCause, hyperLogLogTolerance, type CauseInput } from './divergence.js';
import { latencyFigures, percentile, SampleRing } from './latency-figures.js';
import { linesChanged, logicLines } from './logic-lines.js';
import { markOf } from './timeline.js';
import { LAB_EVENTS } from '../kernel/instrumentation/lab-events.js';

describe('logic lines and the line diff', () => {
  it('drops blank lines and comments (SQL --, TS //, block and JSDoc comments), keeps strings that look like comments', () => {
    const sql = "-- header\nSELECT a, -- trailing\n\n  b\nFROM t WHERE x = '--not a comment'\n";
    expect(logicLines(sql, 'sql')).toEqual(['SELECT a,', 'b', "FROM t WHERE x = '--not a comment'"]);
    const ts = [
      '/** JSDoc',
      ' * more */',
      'export const a = 1; // note',
      '/* one */ const b = "// kept";',
      '',
      '  // only a comment',
      'const c = /* inline */ 3;',
    ].join('\n');
    expect(logicLines(ts, 'ts')).toEqual(['export const a = 1;', 'const b = "// kept";', 'const c =  3;']);
  });

  it('counts added + removed lines', () => {
    expect(linesChanged(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(0);
    expect(linesChanged(['a', 'b', 'c'], ['a', 'x', 'b', 'c'])).toBe(1);
    expect(linesChanged(['a', 'b', 'c'], ['a', 'c'])).toBe(1);
    expect(linesChanged(['a', 'b', 'c'], ['a', 'B', 'c'])).toBe(2);
    expect(linesChanged([], ['a', 'b'])).toBe(2);
  });
});

describe('latency figures', () => {
  it('nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(latencyFigures([5, 1, 3])).toEqual({ count: 3, p50: 3, p90: 5, p99: 5, max: 5 });
    expect(latencyFigures([])).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
  });

  it('a ring keeps the newest samples', () => {
    const r = new SampleRing(3);
    for (const v of [1, 2, 3, 4, 5]) r.add(v);
    expect(r.values().sort()).toEqual([3, 4, 5]);
  });
});

describe('correctness', () => {
  it('reads the window of a cell key as Number() of the part after the last |', () => {
    for (const key of ['c1|1700000000000', 'a|b|20', 'c|0', 'c|-10000', 'c|', 'c|12x', '1700000000000'])
      expect(windowOfKey(key), key).toBe(Number(key.slice(key.lastIndexOf('|') + 1)));
  });

  it('closes a window when its end + lateness is at or below the watermark', () => {
    expect(closedBefore(null, 0)).toBeNull();
    expect(closedBefore(30_000, 0)).toBe(30_000); // [20 s, 30 s) closed, [30 s, 40 s) not
    expect(closedBefore(29_999, 0)).toBe(20_000);
    expect(closedBefore(95_000, 60_000)).toBe(30_000);
  });

  it('YSB verdicts and errors over [from, to)', () => {
    const truth = new Map([
      ['a|0', 10],
      ['b|0', 5],
      ['c|10000', 7],
      ['a|20000', 3], // outside
    ]);
    const served = new Map([
      ['a|0', 10],
      ['b|0', 8],
      ['x|10000', 2],
      ['a|20000', 99],
    ]);
    const f = correctness('speed', 'views', truth, served, 0, 20_000, 1);
    expect(f).toMatchObject({ windows: 4, correct: 1, differ: 1, missing: 1, extra: 1 });
    expect(f.absError).toBe(3 + 7 + 2);
    expect(f.signedError).toBe(3 + 2);
    expect(f.relError).toBeCloseTo(12 / 22);
    expect(f.correctShare).toBe(0.25);
    expect(correctness('batch', 'views', truth, served, 0, 0, 1)).toMatchObject({
      windows: 0,
      correctShare: null,
      relError: null,
    });
  });
});

describe('divergence causes', () => {
  const base: CauseInput = {
    layer: 'speed',
    metric: 'views',
    window: 100_000,
    value: 12,
    truth: 10,
    truthLogicVersion: 1,
    layerLogicVersion: 1,
    truthUnderLayerLogic: 10,
    lateViews: 0,
    droppedViews: 0,
    boundary: null,
    closedBefore: 200_000,
    atLeastOnceCrashes: 0,
  };

  it('no cause when the layer agrees, or when the speed layer has expired a window the batch view covers', () => {
    expect(attributeCause({ ...base, value: 10 })).toBeUndefined();
    expect(attributeCause({ ...base, value: null, boundary: 150_000 })).toBeUndefined();
  });

  it('open window first', () => {
    expect(attributeCause({ ...base, closedBefore: 100_000 })).toBe('window-open');
    expect(attributeCause({ ...base, closedBefore: null })).toBe('window-open');
  });

  it('not yet in batch: the batch layer (and Lambda below nothing) for windows at or above the boundary', () => {
    expect(attributeCause({ ...base, layer: 'batch', value: null, boundary: 100_000 })).toBe(
      'not-yet-in-batch',
    );
    expect(attributeCause({ ...base, layer: 'batch', value: null, boundary: null })).toBe('not-yet-in-batch');
  });

  it('logic versions differ when the layer holds the truth of its own version', () => {
    expect(
      attributeCause({ ...base, value: 12, truth: 10, truthLogicVersion: 2, truthUnderLayerLogic: 12 }),
    ).toBe('logic-versions-differ');
    // same truth under both versions for this cell: not the logic
    expect(
      attributeCause({ ...base, value: 12, truth: 10, truthLogicVersion: 2, truthUnderLayerLogic: 10 }),
    ).toBe('unknown');
  });

  it('a replay that has not caught up', () => {
    expect(attributeCause({ ...base, layer: 'kappa_candidate', value: 4, kappaState: 'replaying' })).toBe(
      'replay-not-caught-up',
    );
    expect(attributeCause({ ...base, layer: 'kappa_candidate', value: 4, kappaState: 'live' })).toBe(
      'unknown',
    );
  });

  it('HyperLogLog: distinct users from the speed layer within three standard errors', () => {
    const truth = 1000;
    const tol = hyperLogLogTolerance(truth);
    expect(tol).toBe(25); // 3 × 1.04/√16384 × 1000 = 24.4
    const d = { ...base, metric: 'distinct_users' as const, truth, truthUnderLayerLogic: truth };
    expect(attributeCause({ ...d, value: truth + tol })).toBe('hyperloglog-approximation');
    expect(attributeCause({ ...d, value: truth + tol + 1 })).toBe('unknown');
    // Lambda above the boundary answers from the speed layer: same cause
    expect(attributeCause({ ...d, layer: 'lambda', boundary: 50_000, value: truth - 1 })).toBe(
      'hyperloglog-approximation',
    );
    // Lambda below the boundary answers from the batch view: exact, so not the sketch
    expect(attributeCause({ ...d, layer: 'lambda', boundary: 150_000, value: truth - 1 })).toBe('unknown');
  });

  it('at-least-once duplicates: the speed side over-counts after a crash between flush and commit', () => {
    expect(attributeCause({ ...base, atLeastOnceCrashes: 1 })).toBe('at-least-once-duplicate');
    expect(attributeCause({ ...base, atLeastOnceCrashes: 0 })).toBe('unknown');
    expect(attributeCause({ ...base, layer: 'kappa', atLeastOnceCrashes: 1 })).toBe('unknown');
  });

  it('late events: a shortfall no larger than the late views (Kappa: the views later than the allowed lateness)', () => {
    expect(attributeCause({ ...base, layer: 'batch', boundary: 150_000, value: 8, lateViews: 2 })).toBe(
      'late-event',
    );
    expect(attributeCause({ ...base, layer: 'batch', boundary: 150_000, value: 7, lateViews: 2 })).toBe(
      'unknown',
    );
    expect(attributeCause({ ...base, layer: 'kappa', value: 9, lateViews: 5, droppedViews: 1 })).toBe(
      'late-event',
    );
    expect(attributeCause({ ...base, layer: 'kappa', value: 9, lateViews: 5, droppedViews: 0 })).toBe(
      'unknown',
    );
  });
});

describe('timeline marks', () => {
  it('marks batch runs, deploys, crashes and the Kappa recipe; not flushes or checkpoints', () => {
    expect(
      markOf({ name: LAB_EVENTS.SPEED_CRASH, at: 5, payload: { point: 'after-flush-before-commit' } }),
    ).toMatchObject({
      at: 5,
      kind: 'crash',
    });
    expect(
      markOf({ name: LAB_EVENTS.KAPPA_SWITCHOVER, at: 7, payload: { from: 1, to: 2, how: 'auto' } })?.label,
    ).toContain('job 1 → job 2');
    expect(markOf({ name: LAB_EVENTS.SPEED_FLUSH, at: 1, payload: {} })).toBeUndefined();
    expect(markOf({ name: LAB_EVENTS.KAPPA_CHECKPOINT, at: 1, payload: {} })).toBeUndefined();
  });
});
