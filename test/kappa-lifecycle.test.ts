import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import {
  openEmbeddedEventLog,
  type EmbeddedEventLog,
} from '../kernel/adapters/embedded-log/embedded-event-log.js';
import { openEmbeddedRealtimeStore } from '../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { isLabError } from '../kernel/errors/lab-error.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import {
  appendCatchUp,
  catchUpEvents,
  catchUpRange,
  kappaSettings,
  ref,
  servedKappa,
  startKappa,
  type KappaRig,
} from '../test-support/kappa-harness.js';
import { recount, verdicts } from '../test-support/recount.js';
import { waitUntil } from '../kernel/util/wait-until.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-life-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function embeddedRig(
  topic: string,
  spec: { partitions: number; segmentBytes?: number; retentionBytes?: number; retentionMs?: number },
  settings = kappaSettings(),
): Promise<KappaRig & { log: EmbeddedEventLog; store: RealtimeStore }> {
  const dir = tempDir();
  const log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock, retentionCheckIntervalMs: 0 });
  await log.ensureTopic(topic, spec);
  const store = await openEmbeddedRealtimeStore({ clock: systemClock });
  cleanups.push(async () => {
    await log.close();
    await store.close();
  });
  const rig = await startKappa(log, store, topic, settings);
  cleanups.push(() => rig.kappa.stop());
  return { ...rig, log, store };
}

describe('Kappa replay pre-flight: the retention check', () => {
  it('refuses (409 LKL_ERR_KAPPA_HISTORY_INCOMPLETE) when retention raised a low offset above 0; force starts anyway with a warning on the job', async () => {
    const dir = tempDir();
    const lab: Lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          generator: { rate: 0 },
          log: { partitions: 2, segmentBytes: 4096, retentionBytes: 16_384 },
          batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
          speed: { flushIntervalMs: 60_000 },
          kappa: {
            autoSwitchover: false,
            catchUpDwellMs: 100,
            checkpointIntervalMs: 100,
            replayParallelism: 1,
          },
        },
      }),
    );
    cleanups.push(() => lab.close());
    await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, 3, 2_000, undefined, {}, 20);
    await lab.services.log.enforceRetention!();
    const offsets = await lab.services.log.offsets(AD_EVENTS_TOPIC);
    expect(offsets.every((p) => p.low > 0)).toBe(true);

    const refused = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 2 },
    });
    expect(refused.statusCode).toBe(409);
    const err = refused.json().error;
    expect(err.code).toBe('LKL_ERR_KAPPA_HISTORY_INCOMPLETE');
    expect(err.message).toContain(`partition 0 of ${AD_EVENTS_TOPIC} starts at offset ${offsets[0]!.low}`);
    expect(err.message).toContain('force');
    expect((await lab.app.inject({ url: '/api/kappa/jobs' })).json().jobs).toHaveLength(1);

    const forced = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 2, force: true },
    });
    expect(forced.statusCode, forced.body).toBe(202);
    const job = forced.json();
    expect(job).toMatchObject({ id: 2, state: 'replaying', force: true });
    expect(job.warnings.some((w: string) => w.startsWith('started with force although partition 0'))).toBe(
      true,
    );
    expect(job.warnings.some((w: string) => w.includes('retention.bytes'))).toBe(true);
    await lab.services.kappa.waitForState(2, ['caught-up'], 20_000);
    const runner = lab.services.kappa.runner(2)!;
    // What retention dropped is reported, not silently skipped.
    expect(runner.positions().reduce((s, p) => s + p.skipped, 0)).toBe(
      offsets.reduce((s, p) => s + p.low, 0),
    );
  }, 60_000);

  it('refuses when the time retention is shorter than the history needed (oldest record age + margin)', async () => {
    const rig = await embeddedRig('hist', { partitions: 1, retentionMs: 3_600_000 });
    const old = systemClock.now() - 55 * 60_000;
    await rig.log.append('hist', [{ value: '{}', timestamp: old, partition: 0 }]);
    const err = await rig.kappa.startReplay({ logicVersion: 2 }).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LKL_ERR_KAPPA_HISTORY_INCOMPLETE');
    expect((err as Error).message).toMatch(
      /keeps records for 3600000 ms \(retention\), shorter than the history this replay needs: the oldest record is \d+ ms old, plus 600000 ms/,
    );
    const check = await rig.kappa.preflight();
    expect(check.historyMs).toBeGreaterThanOrEqual(55 * 60_000);
    expect(check.partitions).toEqual([{ partition: 0, low: 0, end: 1 }]);
  });

  it('passes when the log holds everything and has no retention', async () => {
    const rig = await embeddedRig('full', { partitions: 2 });
    await appendCatchUp(rig.log, 'full', 1, 100);
    expect(await rig.kappa.preflight()).toMatchObject({
      ok: true,
      problems: [],
      warnings: [],
      retentionMs: null,
      retentionBytes: null,
    });
  });
});

describe('Kappa automatic switchover and grace period', () => {
  it('switches readers over once caught up, keeps job N for graceMs, then deletes its table, group and offsets', async () => {
    const N = 50_000;
    const { from, to } = catchUpRange(N);
    const rig = await embeddedRig(
      'auto',
      { partitions: 3 },
      kappaSettings({
        autoSwitchover: true,
        graceMs: 1_500,
        catchUpDwellMs: 300,
        checkpointIntervalMs: 100,
        replayParallelism: 2,
      }),
    );
    await appendCatchUp(rig.log, 'auto', 5, N, undefined, { botShare: 0.2 });
    await rig.kappa.sync(1, 20_000);
    expect((await rig.store.keys('lklab:kappa:v1:')).length).toBeGreaterThan(0);
    await rig.kappa.startReplay({ logicVersion: 2 });
    const live = await rig.kappa.waitForState(2, ['live'], 30_000);
    expect(live.caughtUpAt).not.toBeNull();
    expect(rig.kappa.activeJob).toBe(2);
    expect(rig.kappa.job(1)!.state).toBe('grace');
    const served = await servedKappa(rig.store, 'views', from, to);
    const v2 = recount(catchUpEvents(5, N, undefined, { botShare: 0.2 }), ref, { excludeBots: true });
    expect(verdicts(served.values, v2.views, from, to)).toMatchObject({
      correct: v2.views.size,
      differ: 0,
      missing: 0,
      extra: 0,
    });
    expect([...served.jobs]).toEqual([2]);
    // The replay's engine (worker threads) is replaced by the live one after the switchover.
    expect(rig.kappa.runner(2)!.status.engine).toBe('inline');
    // Restarted at the log's end with nothing new to read, it reports every partition there.
    const ends = await rig.log.offsets('auto');
    expect(
      rig.kappa
        .runner(2)!
        .positions()
        .map((p) => [p.partition, p.next]),
    ).toEqual(ends.map((e) => [e.partition, e.end]));

    await rig.kappa.waitForState(1, ['retired'], 10_000);
    expect(await rig.store.keys('lklab:kappa:v1:')).toEqual([]);
    expect(await rig.store.readOffsets('kappa-v1')).toEqual({});
    expect(await rig.log.listGroups()).not.toContain('lklab-kappa-v1');
    expect(rig.kappa.job(1)!.endReason).toBe('grace period of 1500 ms over');
    const err = await rig.kappa.rollback().catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LKL_ERR_KAPPA_NO_ROLLBACK');
    // New events still reach the new live job.
    await rig.log.append('auto', [
      { value: [...catchUpEvents(99, 1, to)].map((e) => JSON.stringify(e))[0]!, partition: 0 },
    ]);
    await rig.kappa.sync(2, 10_000);
  }, 60_000);
});

describe('Kappa replay interrupted in the middle of its history', () => {
  it('a replay stopped mid-way resumes from its checkpointed offsets (worker threads skip to them in the segment files) and stays exact', async () => {
    const N = 600_000;
    const { from, to } = catchUpRange(N);
    const settings = kappaSettings({
      autoSwitchover: true,
      catchUpDwellMs: 200,
      checkpointIntervalMs: 100,
      replayParallelism: 2,
    });
    const rig = await embeddedRig('resume', { partitions: 4 }, settings);
    await appendCatchUp(rig.log, 'resume', 8, N, undefined, { botShare: 0.1 });
    await rig.kappa.sync(1, 60_000);
    await rig.kappa.startReplay({ logicVersion: 2 });
    await waitUntil(
      async () =>
        Object.values(await rig.store.readOffsets('kappa-v2')).reduce((s, o) => s + o, 0) > N * 0.15,
      { what: 'the replay to commit 15 % of the log', timeoutMs: 30_000, intervalMs: 5 },
    );
    await rig.kappa.stop();
    const stoppedAt = Object.values(await rig.store.readOffsets('kappa-v2')).reduce((s, o) => s + o, 0);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(N); // stopped mid-way (else the test proves nothing)
    const again = await startKappa(rig.log, rig.store, 'resume', settings);
    cleanups.push(() => again.kappa.stop());
    expect(again.kappa.job(2)!.state).toBe('replaying');
    await again.kappa.waitForState(2, ['live'], 60_000);
    const truth = recount(catchUpEvents(8, N, undefined, { botShare: 0.1 }), ref, { excludeBots: true });
    const views = await servedKappa(rig.store, 'views', from, to);
    expect(verdicts(views.values, truth.views, from, to)).toMatchObject({
      correct: truth.views.size,
      differ: 0,
      missing: 0,
      extra: 0,
    });
    const distinct = await servedKappa(rig.store, 'distinct_users', from, to);
    expect(verdicts(distinct.values, truth.distinct, from, to)).toMatchObject({
      correct: truth.distinct.size,
      differ: 0,
      missing: 0,
      extra: 0,
    });
    expect(Number((await rig.store.getFields('lklab:kappa:v2:meta')).processed)).toBe(N);
  }, 120_000);
});
