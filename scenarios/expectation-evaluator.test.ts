import { describe, expect, it } from 'vitest';
import { flattenSnapshot, type Sample } from './lab-probe.js';
import { addDerived, compareValues, evaluate, tallyVerdicts } from './expectation-evaluator.js';
import type { MetricsSnapshot } from '../measurement/measurement-api.js';

const snapshot = (share: number | null, lag: number): MetricsSnapshot => ({
  at: 0,
  closedBefore: 10_000,
  correctness: [
    {
      layer: 'lambda',
      metric: 'views',
      windows: 10,
      correct: share === null ? 0 : share * 10,
      differ: 0,
      missing: 0,
      extra: 0,
      correctShare: share,
      absError: 0,
      relError: 0,
      truthLogicVersion: 1,
    },
  ],
  latency: [{ arch: 'kappa', finalEvent: { count: 3, p50: 700, p90: 900, p99: 1200, max: 1300 } }],
  batchBoundaryLagMs: lag,
  servingLatency: { count: 0, p50: null, p90: null, p99: null, max: null },
  maintenance: [
    {
      arch: 'lambda',
      implementations: 2,
      logicFiles: [],
      logicLines: 40,
      linesChangedV1toV2: 12,
      linesChanged: [{ from: 1, to: 2, lines: 12 }],
      runningComponents: ['batch', 'speed'],
      computeMs: { batch: 5, speed: 7 },
      workAmplification: 3,
      storageBytes: 100,
    },
  ],
  ingested: 1000,
});

const sample = (t: number, m: MetricsSnapshot): Sample => {
  const values = {};
  flattenSnapshot(m, values);
  return { t, at: t * 1000, source: 'measurement', values };
};

describe('expectation evaluator (over MetricsSnapshot values)', () => {
  const samples = [
    sample(0, snapshot(null, 0)),
    sample(10, snapshot(0.7, 5000)),
    sample(20, snapshot(1, 8000)),
  ];

  it('flattens a snapshot into the dotted paths scenarios use', () => {
    expect(samples[2]!.values).toMatchObject({
      'correctness.lambda.views.correctShare': 1,
      'latency.kappa.finalEvent.p99': 1200,
      batchBoundaryLagMs: 8000,
      'maintenance.lambda.implementations': 2,
      'maintenance.lambda.runningComponents': 2,
      'maintenance.lambda.computeMs': 12,
      ingested: 1000,
    });
  });

  it('checks at the end, at a time, and over a range with always / sometime / never', () => {
    const e = { name: 'x', metric: 'correctness.lambda.views.correctShare', op: '>=' as const, value: 1 };
    expect(evaluate({ ...e, at: 'end' }, samples, 20).status).toBe('pass');
    expect(evaluate({ ...e, at: 15 }, samples, 20)).toMatchObject({
      status: 'fail',
      observed: [{ t: 10, value: 0.7 }],
    });
    expect(evaluate({ ...e, at: { from: 5, to: 'end' } }, samples, 20).status).toBe('fail');
    expect(evaluate({ ...e, at: { from: 5, to: 'end', hold: 'sometime' } }, samples, 20).status).toBe('pass');
    expect(
      evaluate({ ...e, op: '<', at: { from: 'start', to: 20, hold: 'never' } }, samples, 20).status,
    ).toBe('fail');
    // null (no closed window yet) decides nothing under an ordering: not measured, never a pass
    expect(evaluate({ ...e, at: 0 }, samples, 20).status).toBe('not-measured');
    // a range whose first sample is null: decided on the others when they fail or it is `sometime`
    expect(evaluate({ ...e, at: { from: 'start', to: 'end', hold: 'sometime' } }, samples, 20).status).toBe(
      'pass',
    );
    expect(evaluate({ ...e, at: { from: 'start', to: 15 } }, samples, 20).status).toBe('fail');
  });

  it('compares with another metric times a factor', () => {
    const v = evaluate(
      {
        name: 'lag',
        metric: 'batchBoundaryLagMs',
        op: '>',
        than: 'latency.kappa.finalEvent.p99',
        factor: 5,
        at: 'end',
      },
      samples,
      20,
    );
    expect(v).toMatchObject({ status: 'pass', observed: [{ value: 8000, against: 6000 }] });
  });

  it('says not-measured, never pass, when a metric is missing', () => {
    const v = evaluate(
      { name: 'm', metric: 'maintenance.kappa.implementations', op: '==', value: 1, at: 'end' },
      samples,
      20,
    );
    expect(v.status).toBe('not-measured');
    expect(v.detail).toMatch(/^not measured: .*maintenance\.kappa\.implementations/);
  });

  it('says not-measured when an ordering meets a null value or no sample, and tallies it apart', () => {
    const blank: Sample[] = [
      { t: 5, at: 5000, source: 'measurement', values: { 'correctness.speed.views.correctShare': null } },
    ];
    const v = evaluate(
      { name: 'speed', metric: 'correctness.speed.views.correctShare', op: '>=', value: 0.99, at: 'end' },
      blank,
      5,
    );
    expect(v.status).toBe('not-measured');
    expect(v.detail).toContain('was null at 5 s');
    const none = evaluate({ name: 'n', metric: 'ingested', op: '>', value: 0, at: 3 }, [], 5);
    expect(none.status).toBe('not-measured');
    expect(tallyVerdicts([v, none, { status: 'pass' }, { status: 'fail' }, { status: 'pending' }])).toEqual({
      passed: 1,
      failed: 1,
      notMeasured: 2,
    });
  });

  it('compares with floating-point slack and only numbers with < and >', () => {
    expect(compareValues(0.1 + 0.2, '==', 0.3)).toBe(true);
    expect(compareValues(null, '<', 1)).toBe(false);
    expect(compareValues('failed', '==', 'failed')).toBe(true);
    expect(compareValues(1, '!=', 1)).toBe(false);
  });

  it('derives the time to correct answers after an intended logic change', () => {
    const xs = [
      sample(0, snapshot(1, 0)),
      sample(10, snapshot(0.5, 0)),
      sample(20, snapshot(1, 0)),
      sample(30, snapshot(1, 0)),
    ];
    addDerived(xs, 5);
    expect(xs.at(-1)!.values['derived.timeToCorrect.lambda.views']).toBe(15);
  });
});
