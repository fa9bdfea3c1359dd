import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { appendCatchUp, catchUpEvents, catchUpRange, ref } from '../test-support/kappa-harness.js';
import { cellKey, recount, verdicts, type Verdicts } from '../test-support/recount.js';

const N = 200_000;
const SEED = 11;
const KNOBS = { botShare: 0.1 };
const { from, to } = catchUpRange(N);

interface Answer {
  windows: Array<{
    campaign_id: string;
    window_start: number;
    value: number;
    source: string;
    version: number;
    logicVersion: number;
  }>;
}

function labConfig(dir: string, kappa: Record<string, unknown> = {}) {
  return loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      generator: { rate: 0 },
      batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
      speed: { flushIntervalMs: 60_000 },
      kappa: {
        checkpointIntervalMs: 200,
        catchUpDwellMs: 400,
        autoSwitchover: false,
        graceMs: 600_000,
        replayParallelism: 2,
        ...kappa,
      },
    },
  });
}

async function answer(lab: Lab, metric = 'views'): Promise<Answer & { map: Map<string, number> }> {
  const res = await lab.app.inject({ url: `/api/views?arch=kappa&metric=${metric}&from=${from}&to=${to}` });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as Answer;
  return {
    ...body,
    map: new Map(body.windows.map((w) => [cellKey(w.campaign_id, w.window_start), w.value])),
  };
}

const allCorrect = (n: number): Verdicts => ({ correct: n, differ: 0, missing: 0, extra: 0, examples: [] });

describe('Kappa logic change v1 → v2 by replay (embedded lab, API)', () => {
  let dir: string;
  let lab: Lab;
  const v1 = recount(catchUpEvents(SEED, N, undefined, KNOBS), ref);
  const v2 = recount(catchUpEvents(SEED, N, undefined, KNOBS), ref, { excludeBots: true });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-replay-'));
    lab = await createLab(labConfig(dir));
    await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, SEED, N, undefined, KNOBS);
    await lab.services.kappa.sync(1, 60_000);
  }, 120_000);
  afterAll(async () => {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the live job v1 answers the v1 truth, which differs from v2 (bots count in v1)', async () => {
    const a = await answer(lab);
    expect(verdicts(a.map, v1.views, from, to)).toEqual(allCorrect(v1.views.size));
    expect(verdicts(a.map, v2.views, from, to).differ).toBeGreaterThan(100);
    expect(new Set(a.windows.map((w) => `${w.source}/${w.version}/${w.logicVersion}`))).toEqual(
      new Set(['kappa/1/1']),
    );
  });

  it('rejects bad requests with 4xx and a message', async () => {
    const unknown = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 9 },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: 'LKL_ERR_KAPPA_LOGIC_UNKNOWN' });
    expect(unknown.json().error.message).toContain('available: v1, v2, v3 (');
    const noBody = await lab.app.inject({ method: 'POST', url: '/api/kappa/replays', payload: { logic: 2 } });
    expect(noBody.statusCode).toBe(400);
    const none = await lab.app.inject({ method: 'POST', url: '/api/kappa/switchover' });
    expect(none.statusCode).toBe(409);
    expect(none.json().error.code).toBe('LKL_ERR_KAPPA_NO_CANDIDATE');
    const noRollback = await lab.app.inject({ method: 'POST', url: '/api/kappa/rollback' });
    expect(noRollback.statusCode).toBe(409);
    expect(noRollback.json().error.code).toBe('LKL_ERR_KAPPA_NO_ROLLBACK');
    const abortActive = await lab.app.inject({ method: 'POST', url: '/api/kappa/replays/1/abort' });
    expect(abortActive.statusCode).toBe(409);
    expect(abortActive.json().error.code).toBe('LKL_ERR_KAPPA_JOB_ACTIVE');
    const abortUnknown = await lab.app.inject({ method: 'POST', url: '/api/kappa/replays/42/abort' });
    expect(abortUnknown.statusCode).toBe(404);
    expect(abortUnknown.json().error.code).toBe('LKL_ERR_KAPPA_JOB_UNKNOWN');
  });

  it('during the replay answers keep coming from v1; progress, rate and ETA are reported per partition', async () => {
    const res = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 2, rateLimit: 40_000 },
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = res.json();
    expect(job).toMatchObject({
      id: 2,
      logicVersion: 2,
      state: 'replaying',
      group: 'lklab-kappa-v2',
      rateLimit: 40_000,
      parallelism: 2,
    });
    expect(job.snapshot.reduce((s: number, p: { end: number }) => s + p.end, 0)).toBe(N);

    const again = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 2 },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('LKL_ERR_KAPPA_REPLAY_RUNNING');

    let sawProgress = false;
    let checks = 0;
    while (lab.services.kappa.job(2)!.state === 'replaying') {
      const jobs = (await lab.app.inject({ url: '/api/kappa/jobs' })).json();
      const j2 = jobs.jobs.find((j: { id: number }) => j.id === 2);
      expect(jobs.active).toBe(1);
      expect(j2.partitions).toHaveLength(4);
      const done = j2.partitions.reduce((s: number, p: { position: number }) => s + p.position, 0);
      if (done > 0 && done < N * 0.9) {
        const a = await answer(lab);
        expect(verdicts(a.map, v1.views, from, to)).toEqual(allCorrect(v1.views.size));
        expect(new Set(a.windows.map((w) => w.version))).toEqual(new Set([1]));
        for (const p of j2.partitions as Array<{
          progress: number;
          etaMs: number | null;
          rate: number;
          snapshotEnd: number;
          lag: number;
        }>) {
          expect(p.progress).toBeGreaterThanOrEqual(0);
          expect(p.progress).toBeLessThanOrEqual(1);
          expect(p.snapshotEnd).toBeGreaterThan(0);
          if (p.etaMs !== null) expect(p.etaMs).toBeGreaterThanOrEqual(0);
        }
        expect(j2.rate).toBeLessThan(40_000 * 1.5); // the rate limit holds
        if (
          j2.partitions.every(
            (p: { progress: number; etaMs: number | null; rate: number }) =>
              p.progress > 0 && p.progress < 1 && p.rate > 0 && p.etaMs !== null && p.etaMs > 0,
          )
        ) {
          expect(j2.etaMs).toBeGreaterThan(0);
          sawProgress = true;
        }
        const early = await lab.app.inject({ method: 'POST', url: '/api/kappa/switchover' });
        expect(early.statusCode).toBe(409);
        expect(early.json().error.code).toBe('LKL_ERR_KAPPA_NOT_CAUGHT_UP');
        checks++;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(checks).toBeGreaterThan(2);
    expect(sawProgress).toBe(true);
    expect(lab.services.kappa.job(2)!.state).toBe('caught-up');
  }, 60_000);

  it('after the switchover answers equal the v2 truth (views and distinct users), with job 2 as provenance', async () => {
    const res = await lab.app.inject({ method: 'POST', url: '/api/kappa/switchover' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ job: 2, logicVersion: 2, previous: 1 });
    const a = await answer(lab);
    expect(verdicts(a.map, v2.views, from, to)).toEqual(allCorrect(v2.views.size));
    expect(new Set(a.windows.map((w) => `${w.version}/${w.logicVersion}`))).toEqual(new Set(['2/2']));
    const d = await answer(lab, 'distinct_users');
    expect(verdicts(d.map, v2.distinct, from, to)).toEqual(allCorrect(v2.distinct.size));
    const jobs = (await lab.app.inject({ url: '/api/kappa/jobs' })).json();
    expect(jobs.active).toBe(2);
    expect(jobs.jobs.find((j: { id: number }) => j.id === 1)).toMatchObject({
      state: 'grace',
      active: false,
    });
    expect(jobs.jobs.find((j: { id: number }) => j.id === 2)).toMatchObject({ state: 'live', active: true });
  });

  it('rollback restores the v1 answers while job 1 still exists', async () => {
    const res = await lab.app.inject({ method: 'POST', url: '/api/kappa/rollback' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ job: 1, logicVersion: 1 });
    const a = await answer(lab);
    expect(verdicts(a.map, v1.views, from, to)).toEqual(allCorrect(v1.views.size));
    expect(new Set(a.windows.map((w) => w.version))).toEqual(new Set([1]));
    expect(lab.services.kappa.job(2)!.state).toBe('caught-up');
  });

  it('abort removes the candidate: its table, consumer group and offsets', async () => {
    const store = lab.services.store;
    expect((await store.keys('lklab:kappa:v2:')).length).toBeGreaterThan(100);
    expect(Object.keys(await store.readOffsets('kappa-v2'))).toHaveLength(4);
    expect(await lab.services.log.listGroups()).toContain('lklab-kappa-v2');
    const res = await lab.app.inject({ method: 'POST', url: '/api/kappa/replays/2/abort' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: 2, state: 'aborted' });
    expect(await store.keys('lklab:kappa:v2:')).toEqual([]);
    expect(await store.readOffsets('kappa-v2')).toEqual({});
    expect(await lab.services.log.listGroups()).not.toContain('lklab-kappa-v2');
    const a = await answer(lab);
    expect(verdicts(a.map, v1.views, from, to)).toEqual(allCorrect(v1.views.size));
    const again = await lab.app.inject({ method: 'POST', url: '/api/kappa/replays/2/abort' });
    expect(again.statusCode).toBe(404);
  });

  it('restarting the lab restores which jobs exist and which is active', async () => {
    await lab.close();
    lab = await createLab(labConfig(dir));
    const jobs = (await lab.app.inject({ url: '/api/kappa/jobs' })).json();
    expect(jobs.active).toBe(1);
    expect(jobs.jobs.map((j: { id: number; state: string }) => `${j.id}:${j.state}`)).toEqual([
      '2:aborted',
      '1:live',
    ]);
    await lab.services.kappa.sync(1, 30_000);
    const a = await answer(lab);
    expect(verdicts(a.map, v1.views, from, to)).toEqual(allCorrect(v1.views.size));
  }, 60_000);
});

describe('Kappa join change v1 → v3 by replay on worker threads (embedded lab, API)', () => {
  const M = 50_000;
  const SEED3 = 12;
  const range = catchUpRange(M);
  let dir: string;
  let lab: Lab;
  const events = [...catchUpEvents(SEED3, M, undefined, KNOBS)];
  const v2 = recount(events, ref, { excludeBots: true });
  const v3 = recount(events, ref, { excludeBots: true, joinMovedAds: true });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-replay-v3-'));
    lab = await createLab(labConfig(dir, { replayRateLimit: 0 }));
    await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, SEED3, M, undefined, KNOBS);
    await lab.services.kappa.sync(1, 60_000);
  }, 120_000);
  afterAll(async () => {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the v3 replay moves the reorganised ads to their new campaign: answers equal the v3 truth, not v2', async () => {
    const start = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 3 },
    });
    expect(start.statusCode, start.body).toBe(202);
    const deadline = Date.now() + 60_000;
    while (lab.services.kappa.job(2)!.state === 'replaying' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(lab.services.kappa.job(2)!.state).toBe('caught-up');
    const res = await lab.app.inject({ method: 'POST', url: '/api/kappa/switchover' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ job: 2, logicVersion: 3 });
    const got = await lab.app.inject({
      url: `/api/views?arch=kappa&metric=views&from=${range.from}&to=${range.to}`,
    });
    const map = new Map(
      (got.json() as Answer).windows.map((w) => [cellKey(w.campaign_id, w.window_start), w.value]),
    );
    expect(verdicts(map, v3.views, range.from, range.to)).toEqual(allCorrect(v3.views.size));
    // the join change is visible: against v2 many cells differ (or exist under one version only)
    const v2v = verdicts(map, v2.views, range.from, range.to);
    expect(v2v.differ + v2v.missing + v2v.extra).toBeGreaterThan(100);
  }, 90_000);
});
