import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedEventLog, type EmbeddedEventLog } from '../adapters/embedded-log/embedded-event-log.js';
import { systemClock } from '../clock/system-clock.js';
import { DeadLetterWriter } from './dead-letter.js';
import { GeneratorRunner } from '../workload/generator-runner.js';
import { buildReferenceData } from '../workload/reference-data.js';
import { YsbGenerator } from '../workload/ysb-generator.js';
import { LagMonitor } from './lag-monitor.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function openLog(): Promise<EmbeddedEventLog> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lkl-lag-'));
  const log = await openEmbeddedEventLog({ dataDir, clock: systemClock });
  cleanups.push(async () => {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await log.ensureTopic('t', { partitions: 2 });
  return log;
}

const records = (n: number, partition: number): Array<{ value: string; partition: number }> =>
  Array.from({ length: n }, (_, i) => ({ value: `r${i}`, partition }));

describe('LagMonitor', () => {
  it('measures in-memory positions against the log end and saturates past the limit', async () => {
    const log = await openLog();
    await log.append('t', [...records(30, 0), ...records(10, 1)]);
    const at = new Map([
      [0, 5],
      [1, 10],
    ]);
    const m = new LagMonitor(log, 't', systemClock, { maxLagEvents: 20, refreshMs: 50 });
    m.add({ name: 'a', group: () => 'g', position: (p) => at.get(p) });
    let snap = await m.refresh();
    expect(snap.consumers).toEqual([{ name: 'a', group: 'g', lag: 25, from: 'memory' }]);
    expect(snap.maxLag).toBe(25);
    expect(m.saturated()).toBe(true);
    at.set(0, 20);
    snap = await m.refresh();
    expect(snap.maxLag).toBe(10);
    expect(m.saturated()).toBe(false);
  });

  it('falls back to committed offsets (with one limit of slack) when the consumer runs elsewhere', async () => {
    const log = await openLog();
    await log.append('t', records(100, 0));
    const m = new LagMonitor(log, 't', systemClock, { maxLagEvents: 30, refreshMs: 50 });
    m.add({ name: 'remote', group: () => 'g', position: () => undefined });
    m.add({ name: 'never ran', group: () => 'other' });
    let snap = await m.refresh();
    expect(snap.consumers.map((c) => [c.name, c.lag, c.from])).toEqual([
      ['remote', 0, 'none'],
      ['never ran', 0, 'none'],
    ]);
    await log.commitOffsets('g', 't', [{ partition: 0, offset: 50 }]);
    snap = await m.refresh();
    expect(snap.consumers[0]).toMatchObject({ lag: 50, from: 'committed' });
    expect(snap.saturated).toBe(false); // 50 ≤ 2 × 30
    await log.commitOffsets('g', 't', [{ partition: 0, offset: 20 }]);
    expect((await m.refresh()).saturated).toBe(true); // 80 > 60
  });

  it('is off with a limit of 0', async () => {
    const log = await openLog();
    await log.append('t', records(10, 0));
    const m = new LagMonitor(log, 't', systemClock, { maxLagEvents: 0, refreshMs: 50 });
    m.add({ name: 'a', group: () => 'g', position: () => 0 });
    expect((await m.refresh()).saturated).toBe(false);
  });
});

describe('generator back-pressure', () => {
  it('appends nothing while saturated, then resumes; skips ahead past maxScheduleLagMs', async () => {
    const log = await openLog();
    await log.ensureTopic('ad-events', { partitions: 2 });
    const dead = new DeadLetterWriter(log, systemClock);
    await dead.ensureTopic();
    let saturated = true;
    let throttles = 0;
    const gen = new GeneratorRunner(log, dead, buildReferenceData(), systemClock, {
      rate: 10_000,
      mode: 'live',
      seed: 1,
      tickMs: 10,
      knobs: {},
      backpressure: { saturated: () => saturated, noteThrottled: () => throttles++ },
      maxScheduleLagMs: 200,
    });
    gen.start();
    await systemClock.sleep(500);
    expect(gen.status.produced).toBe(0);
    expect(gen.status.throttled).toBe(true);
    expect(gen.status.throttledMs).toBeGreaterThanOrEqual(300);
    expect(throttles).toBe(1);
    // ~300 ms of the 500 ms schedule were skipped rather than piled up.
    expect(gen.status.shed).toBeGreaterThanOrEqual(2500);
    saturated = false;
    await systemClock.sleep(300);
    await gen.stop();
    const produced = gen.status.produced;
    const end = (await log.offsets('ad-events')).reduce((s, p) => s + p.end, 0);
    expect(end).toBe(produced);
    // Resumed with at most maxScheduleLagMs of backlog: ~2,000 + 3,000 events, not the 8,000 scheduled.
    expect(produced).toBeGreaterThan(2000);
    expect(produced).toBeLessThan(6500);
  });

  it('YsbGenerator.skipBehind moves the schedule, keeping the draws', () => {
    const ref = buildReferenceData();
    const a = new YsbGenerator(ref, { seed: 3, mode: 'live', rate: 100, startTime: 0 });
    const b = new YsbGenerator(ref, { seed: 3, mode: 'live', rate: 100, startTime: 0 });
    expect(a.skipBehind(1000)).toBe(100);
    expect(a.scheduledTime(0)).toBe(1000);
    expect(a.skipBehind(500)).toBe(0);
    const [ra] = a.until(1001);
    const [rb] = b.until(1);
    expect(ra!.event!.user_id).toBe(rb!.event!.user_id);
    expect(ra!.event!.event_time).toBe('1000');
  });
});
