import { describe, expect, it } from 'vitest';
import {
  JAVA_PRODUCER,
  kappaScaleOutLine,
  OURS_ONE_THREAD,
  overloadLine,
  poolLabel,
  reportGaps,
  type DistributedCapacityReport,
  type OverloadFigure,
} from './lib/distributed-capacity-report.js';
import type { KappaScaleOutResult } from './lib/kappa-scale-out.js';
import { fmt } from './lib/measure.js';

const step = (arch: string, targetRate: number) => ({
  arch,
  targetRate,
  achievedRate: targetRate,
  p50: 400,
  p99: 900,
  maxBacklogEvents: 10_000,
  sustained: true,
  loadAverage: [2, 2, 2],
});

const overload = (arch: string): OverloadFigure => ({
  ...step(arch, 150_000),
  achievedRate: 52_000,
  p99: 1_800,
  sustained: false,
  maxLagLimit: 200_000,
  maxCommittedLagEvents: 61_000,
  produced: 1_040_000,
  processed: 1_040_000,
  lost: 0,
});

const kappa = (over: Partial<KappaScaleOutResult> = {}): KappaScaleOutResult => ({
  events: 3_000_000,
  partitions: 4,
  oneProcessEventsPerSec: 150_000,
  rebalanceMs: 4_000,
  twoProcessesEventsPerSec: [90_000, 80_000],
  twoProcessesTotalEventsPerSec: 170_000,
  backlogLeftAtEnd: 400_000,
  exact: true,
  views: { correct: 290_000, differ: 0, missing: 0, extra: 0 },
  processed: 3_000_000,
  ...over,
});

function complete(): DistributedCapacityReport {
  const produce = [
    [JAVA_PRODUCER, 220_000],
    [OURS_ONE_THREAD, 39_000],
    [poolLabel(1), 60_000],
    [poolLabel(2), 71_000],
  ].map(([what, eventsPerSec]) => ({
    what: what as string,
    eventsPerSec: eventsPerSec as number,
    cpuEventsPerSec: undefined,
    ratioToJava: (eventsPerSec as number) / 220_000,
  }));
  return {
    bench: 'distributed-capacity',
    args: { archs: ['lambda', 'kappa'], workers: 2 },
    produce,
    consumerPerfEventsPerSec: 650_000,
    steps: [step('lambda', 50_000), step('kappa', 50_000)],
    highestSustainedStep: { lambda: 50_000, kappa: 50_000 },
    overload: [overload('lambda'), overload('kappa')],
    scaleOut: {
      events: 3_000_000,
      partitions: 4,
      oneProcessEventsPerSec: 83_000,
      rebalanceMs: 4_100,
      twoProcessesEventsPerSec: [40_000, 24_000],
      twoProcessesTotalEventsPerSec: 64_000,
      backlogLeftAtEnd: 1_400_000,
    },
    kappaScaleOut: kappa(),
  };
}

describe('the distributed capacity report (one run, issue 19)', () => {
  it('a run with every part has no gaps', () => {
    expect(reportGaps(complete())).toEqual([]);
  });

  it('names each missing part: a producer figure, a step or overload step per architecture, each scale-out', () => {
    const r = complete();
    r.produce = r.produce.filter((f) => f.what !== poolLabel(2));
    r.steps = r.steps.filter((s) => s.arch !== 'kappa');
    r.overload = r.overload.filter((o) => o.arch !== 'lambda');
    r.kappaScaleOut = null;
    expect(reportGaps(r)).toEqual([
      'our producer pool of N > 1 threads',
      'overload step, lambda',
      'load steps, kappa',
      'Kappa workers scale-out',
    ]);
    const s = complete();
    s.produce[0]!.eventsPerSec = 0; // ProducerPerformance failed to report
    s.args.workers = 1; // pools of 1 and 1: N was not measured
    s.consumerPerfEventsPerSec = 0;
    s.scaleOut = null;
    expect(reportGaps(s)).toEqual([
      'ProducerPerformance',
      'ConsumerPerformance',
      'our producer pool of N > 1 threads',
      'speed-layer scale-out',
    ]);
  });

  it('the overload line shows the achieved rate, the latency, the lag against the producers’ limit and what was lost', () => {
    expect(overloadLine(overload('kappa'), fmt)).toBe(
      "overload kappa 150,000/s asked: achieved 52,000/s, p50 400 ms, p99 1,800 ms; largest lag 10,000 events (the job's position), 61,000 committed (what the producers see; they wait past 400,000); produced 1,040,000, processed 1,040,000, lost 0; load average 2 2 2",
    );
  });

  it('the Kappa scale-out line says whether the replay was exact and whether the backlog lasted', () => {
    expect(kappaScaleOutLine(kappa(), fmt)).toContain(
      '1 process 150,000/s; rebalance 4,000 ms; 2 processes 90,000 + 80,000 = 170,000/s; backlog left 400,000; replay exact (290,000 cells correct',
    );
    const off = kappaScaleOutLine(
      kappa({ exact: false, backlogLeftAtEnd: 0, views: { correct: 10, differ: 2, missing: 1, extra: 0 } }),
      fmt,
    );
    expect(off).toContain('backlog left 0 (ran out: the two-process rate is understated');
    expect(off).toContain('replay NOT exact (10 cells correct, 2 differ, 1 missing, 0 extra');
  });
});
