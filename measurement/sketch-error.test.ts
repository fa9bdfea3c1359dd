import { describe, expect, it } from 'vitest';
import { HLL_REGISTERS, HyperLogLog } from '../kernel/adapters/embedded-store/hyperloglog.js';
import { SeededRandom } from '../kernel/util/random.js';
import { layerCorrectness } from './layer-correctness.js';
import type { MetricsSnapshot } from './measurement-api.js';
import { MetricsHistoryBuffer } from './metrics-history.js';
import type { LayerCell, LayerReadings } from './layer-values.js';
import { SKETCH_RECENT_MAX, sketchError, sketchStandardError } from './sketch-error.js';
import { truthCellKey } from './truth-count.js';
import type { TruthCell } from './truth-oracle.js';

const T0 = 1_800_000_000_000;
const W = 10_000;
const key = (campaign: string, i: number): string => truthCellKey(campaign, T0 + i * W);

describe('sketch error beside the theoretical band σ = 1.04/√m', () => {
  it('derives σ from the register count: 16,384 registers give 1.04/128 = 0.8125 %', () => {
    expect(HLL_REGISTERS).toBe(16_384);
    expect(sketchStandardError(HLL_REGISTERS)).toBeCloseTo(0.008125, 12);
    expect(sketchStandardError(4096)).toBeCloseTo(0.01625, 12);
  });

  it('counts the cells within 1σ, 2σ and 3σ of the exact count, from a known input', () => {
    // exact 16,000 per cell: σ = 0.008125 is 130 users; errors of 0.5σ, 0.9σ, 1σ, 1.5σ, 2.5σ, 3.5σ
    const errors = [65, -117, 130, 195, -325, 455];
    const truth = new Map<string, number>();
    const estimates = new Map<string, number>();
    errors.forEach((e, i) => {
      truth.set(key('c1', i), 16_000);
      estimates.set(key('c1', i), 16_000 + e);
    });
    truth.set(key('c2', 0), 16_000); // the sketch has no answer: missing, not a sketch error
    estimates.set(key('c2', 1), 500); // no truth: extra, not a sketch error
    truth.set(key('c1', 9), 16_000); // outside [from, to)
    estimates.set(key('c1', 9), 20_000);
    const f = sketchError(truth, estimates, T0, T0 + 9 * W, 16_384);
    expect(f.registers).toBe(16_384);
    expect(f.standardError).toBeCloseTo(0.008125, 12);
    expect(f.windows).toBe(6);
    expect(f.within1Sigma).toBeCloseTo(3 / 6, 12); // 0.5σ, 0.9σ and exactly 1σ
    expect(f.within2Sigma).toBeCloseTo(4 / 6, 12); // + 1.5σ
    expect(f.within3Sigma).toBeCloseTo(5 / 6, 12); // + 2.5σ; 3.5σ is outside
    const squares = errors.reduce((s, e) => s + (e / 16_000) ** 2, 0);
    expect(f.rmsRelError).toBeCloseTo(Math.sqrt(squares / 6), 12);
    expect(f.recent.map((p) => p.relError)).toEqual(errors.map((e) => e / 16_000));
    expect(f.recent.map((p) => p.window)).toEqual(errors.map((_, i) => T0 + i * W));
    expect(new Set(f.recent.map((p) => p.campaign_id))).toEqual(new Set(['c1']));
  });

  it('has no shares before a cell is judged, and keeps only the newest cells for the chart', () => {
    const empty = sketchError(new Map(), new Map(), T0, T0 + W, 16_384);
    expect(empty).toMatchObject({ windows: 0, rmsRelError: null, within1Sigma: null, within3Sigma: null });
    const truth = new Map<string, number>();
    for (let i = 0; i < SKETCH_RECENT_MAX + 50; i++) truth.set(key('c', i), 100);
    const f = sketchError(truth, truth, T0, T0 + 1000 * W, 16_384);
    expect(f.windows).toBe(SKETCH_RECENT_MAX + 50);
    expect(f.within1Sigma).toBe(1);
    expect(f.recent).toHaveLength(SKETCH_RECENT_MAX);
    expect(f.recent[0]!.window).toBe(T0 + 50 * W);
  });

  it('matches the theory on the lab’s own HyperLogLog: 80 windows of 12,000 distinct users', () => {
    const rnd = new SeededRandom(5);
    const truth = new Map<string, number>();
    const estimates = new Map<string, number>();
    for (let i = 0; i < 80; i++) {
      const hll = new HyperLogLog();
      const users = Array.from({ length: 12_000 }, () => rnd.uuid());
      hll.add(users);
      truth.set(key('c', i), users.length);
      estimates.set(key('c', i), hll.count());
    }
    const f = sketchError(truth, estimates, T0, T0 + 80 * W, HLL_REGISTERS);
    console.info(
      `HLL m=${f.registers}: σ ${(f.standardError * 100).toFixed(3)} %, rms ${((f.rmsRelError ?? 0) * 100).toFixed(3)} %, within 1σ/2σ/3σ ${f.within1Sigma}/${f.within2Sigma}/${f.within3Sigma}`,
    );
    // Below a few m distinct, Redis's (Ertl's) estimator errs less than 1.04/√m: the shares lie above
    // 68 / 95 / 99.7 %. 80 cells: the 1σ share has a binomial sd of ≈ 5 %; the bounds are ≥ 5 sd away.
    expect(f.within1Sigma!).toBeGreaterThan(0.5);
    expect(f.within2Sigma!).toBeGreaterThan(0.85);
    expect(f.within3Sigma!).toBeGreaterThan(0.97);
    expect(f.rmsRelError!).toBeGreaterThan(0.4 * f.standardError);
    expect(f.rmsRelError!).toBeLessThan(1.3 * f.standardError);
  });

  it('is attached to the speed layer’s distinct users only', () => {
    const truth = new Map<string, TruthCell>();
    const cells = new Map<string, LayerCell>();
    for (let i = 0; i < 3; i++) {
      const window = T0 + i * W;
      truth.set(key('c', i), {
        campaign: 'c',
        window,
        views: { 1: 20_000 },
        users: { 1: 16_000 },
        late: {},
        dropped: {},
      });
      cells.set(key('c', i), { views: 20_000, users: 16_000 + 130 * (i + 1), logicVersion: 1 }); // 1σ, 2σ, 3σ
    }
    const readings: LayerReadings = {
      boundary: null,
      batchLogicVersion: null,
      kappa: null,
      candidate: null,
      cells: { speed: cells, kappa: cells },
    };
    const figures = layerCorrectness(truth, readings, T0, T0 + 3 * W, 1, 16_384);
    const withSketch = figures.filter((f) => f.sketch);
    expect(withSketch.map((f) => [f.layer, f.metric])).toEqual([['speed', 'distinct_users']]);
    expect(withSketch[0]!.sketch).toMatchObject({ windows: 3, within1Sigma: 1 / 3, within2Sigma: 2 / 3 });
    expect(withSketch[0]!.sketch!.within3Sigma).toBeCloseTo(1, 12);
  });

  it('keeps the per-cell points in the newest snapshot of the history only', () => {
    const truth = new Map([[key('c', 0), 16_000]]);
    const snap = (at: number): MetricsSnapshot => ({
      at,
      closedBefore: T0 + W,
      correctness: [
        {
          layer: 'speed',
          metric: 'distinct_users',
          windows: 1,
          correct: 0,
          differ: 1,
          missing: 0,
          extra: 0,
          correctShare: 0,
          absError: 130,
          relError: 130 / 16_000,
          truthLogicVersion: 1,
          sketch: sketchError(truth, new Map([[key('c', 0), 16_130]]), T0, T0 + W, 16_384),
        },
      ],
      latency: [],
      batchBoundaryLagMs: null,
      servingLatency: { count: 0, p50: null, p90: null, p99: null, max: null },
      maintenance: [],
      ingested: 0,
    });
    const history = new MetricsHistoryBuffer(3);
    const first = snap(1);
    for (const s of [first, snap(2), snap(3), snap(4)]) history.add(s);
    const points = history.since().points;
    expect(points.map((p) => p.at)).toEqual([2, 3, 4]);
    expect(points.map((p) => p.correctness[0]!.sketch!.recent.length)).toEqual([0, 0, 1]);
    // the figures stay; the snapshot handed in (already sent on the stream) is not changed
    expect(points[0]!.correctness[0]!.sketch!.within1Sigma).toBe(1);
    expect(first.correctness[0]!.sketch!.recent).toHaveLength(1);
  });
});
