import { describe, expect, it } from 'vitest';
import { LAB_EVENTS, LabEventBus } from '../kernel/instrumentation/lab-events.js';
import { latencyFigures } from './latency-figures.js';
import type { ArchName } from './measurement-api.js';
import { BASELINE_MS, ReplayInterference } from './replay-interference.js';

/** Final-event samples: (arch, window end, ms). */
const samples: Array<[ArchName, number, number]> = [];
const between = (arch: ArchName, from: number, to: number) =>
  latencyFigures(samples.filter(([a, end]) => a === arch && end >= from && end < to).map(([, , ms]) => ms));

describe('replay interference meter', () => {
  it('derives the replay rate and the live readers’ p99 before and during each replay from the lab’s events', () => {
    const start = 1_000_000;
    // baseline minute: speed layer 200 ms, Kappa job 1 150 ms; during the replay 900 / 600 ms
    for (let end = start - BASELINE_MS; end < start; end += 10_000) {
      samples.push(['lambda', end, 200], ['kappa', end, 150]);
    }
    samples.push(['lambda', start - BASELINE_MS - 10_000, 5_000]); // before the baseline: left out
    for (let end = start; end < start + 30_000; end += 10_000)
      samples.push(['lambda', end, 900], ['kappa', end, 600]);

    const bus = new LabEventBus();
    const meter = new ReplayInterference();
    meter.attach(bus);
    bus.emit(LAB_EVENTS.KAPPA_REPLAY_STARTED, start, { job: 2, logicVersion: 2, rateLimit: 20_000 });
    bus.emit(LAB_EVENTS.KAPPA_CHECKPOINT, start + 1_000, { job: 1, events: 999 }); // the live job: not the replay
    for (let t = 1; t <= 20; t++)
      bus.emit(LAB_EVENTS.KAPPA_CHECKPOINT, start + t * 1_000, { job: 2, events: 20_000 });

    const running = meter.figures(start + 20_000, between);
    expect(running.replaying).toBe(2);
    const r = running.replays[0]!;
    expect(r).toMatchObject({ job: 2, logicVersion: 2, rateLimit: 20_000, events: 400_000, endedAt: null });
    expect(r.replayRate).toBe(20_000);
    expect(r.currentRate).toBe(20_000); // 5 checkpoints of 20,000 in the last 5 s
    expect(r.lambda.before).toMatchObject({ count: 6, p99: 200 });
    expect(r.lambda.during).toMatchObject({ count: 2, p99: 900 }); // windows ended at +0 and +10 s so far
    expect(r.kappa.p99Ratio).toBe(4);

    bus.emit(LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP, start + 40_000, { job: 2, lag: 0 });
    bus.emit(LAB_EVENTS.KAPPA_CHECKPOINT, start + 41_000, { job: 2, events: 5 }); // after the catch-up: live work
    const done = meter.figures(start + 60_000, between);
    expect(done.replaying).toBeNull();
    const d = done.replays[0]!;
    expect(d).toMatchObject({
      ended: 'caught-up',
      endedAt: start + 40_000,
      events: 400_000,
      currentRate: null,
    });
    expect(d.replayRate).toBe(10_000); // 400,000 events in 40 s
    expect(d.lambda.during).toMatchObject({ count: 3, p99: 900 });
    expect(d.lambda.p99Ratio).toBe(4.5);

    bus.emit(LAB_EVENTS.KAPPA_REPLAY_STARTED, start + 70_000, { job: 3, logicVersion: 1, rateLimit: 0 });
    bus.emit(LAB_EVENTS.KAPPA_REPLAY_ABORTED, start + 71_000, { job: 3 });
    const both = meter.figures(start + 80_000, between);
    expect(both.replays.map((x) => [x.job, x.ended])).toEqual([
      [3, 'aborted'],
      [2, 'caught-up'],
    ]);
    expect(both.replays[0]!.kappa.during.count).toBe(0);
    expect(both.replays[0]!.kappa.p99Ratio).toBeNull();
    meter.detach();
  });
});
