/**
 * The switchover gate (issue 17, item 1) on an embedded lab with the real truth oracle (DuckDB):
 * a replay whose table is corrupted through the store is refused with the windows that differ, a
 * switch with skipVerification goes through and says so, and a right replay of a logic change
 * (v1 → v2: the bots' views are the whole difference) is accepted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { waitUntil } from '../kernel/util/wait-until.js';
import { deltaField, windowKey } from '../kappa-reprocessor/state/index.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { LAB_EVENTS } from '../kernel/instrumentation/lab-events.js';
import type { KappaVerification } from '../kappa-reprocessor/index.js';
import { appendCatchUp, ref, T0 } from '../test-support/kappa-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const EVENTS = 10_000; // event_time = T0 + n × 10 ms: 100 s, ten windows

async function startLab(autoSwitchover = false): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-verify-'));
  const lab = await createLab(
    loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        generator: { rate: 0 },
        log: { partitions: 2 },
        batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
        speed: { flushIntervalMs: 60_000 },
        measurement: { allowedLatenessMs: 1_000 },
        kappa: {
          autoSwitchover,
          catchUpDwellMs: 100,
          checkpointIntervalMs: 100,
          replayParallelism: 1,
          allowedLatenessMs: 5_000,
          verifyWindows: 5,
        },
      },
    }),
  );
  cleanups.push(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return lab;
}

async function replayCaughtUp(lab: Lab, logicVersion: number): Promise<number> {
  const res = await lab.app.inject({ method: 'POST', url: '/api/kappa/replays', payload: { logicVersion } });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().id as number;
  await lab.services.kappa.waitForState(id, ['caught-up'], 30_000);
  await lab.services.kappa.sync(id, 30_000);
  return id;
}

async function verification(lab: Lab, job?: number): Promise<KappaVerification> {
  const res = await lab.app.inject({
    url: `/api/kappa/verification${job === undefined ? '' : `?job=${job}`}`,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as KappaVerification;
}

describe('Kappa switchover gated on verified output', () => {
  it('refuses a corrupted N+1 (409 naming the window), switches with skipVerification, accepts a right v2 replay', async () => {
    const lab = await startLab();
    const { kappa, measurement, store } = lab.services;
    await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, 7, EVENTS, undefined, { botShare: 0.1 });
    await kappa.sync(1, 30_000);
    await measurement.sync(30_000);

    // Job 2: same logic as job 1 (v1); right at first.
    const j2 = await replayCaughtUp(lab, 1);
    const clean = await verification(lab, j2);
    expect(clean.verdict, clean.reason).toBe('passed');
    expect(clean).toMatchObject({ job: j2, against: 1, sameLogic: true, windowsRequested: 5 });
    expect(clean.windows).toHaveLength(5);
    // Every cell is in bucket "0", against the truth and against job 1.
    for (const w of clean.windows) {
      expect(w.cells).toBeGreaterThan(0);
      expect(w.histogram).toEqual([w.cells, 0, 0, 0, 0]);
      expect(w.histogramActive).toEqual([w.cells, 0, 0, 0, 0]);
      expect(w.candidateViews).toBe(w.expectedViews);
      expect(w.activeViews).toBe(w.expectedViews);
    }
    const views = clean.windows.reduce((s, w) => s + w.expectedViews, 0);
    expect(views).toBeGreaterThan(1_000);

    // Corrupt job 2's table through the store: 7 extra views of one campaign in one verified window.
    const bad = clean.windows[2]!.window;
    const campaign = ref.campaigns[0]!;
    await store.apply({
      sets: [
        {
          key: windowKey(j2, bad),
          field: deltaField(0, 999_999_999), // a checkpoint that never happened
          value: JSON.stringify({ t: Date.now(), c: [[campaign, 7, []]] }),
        },
      ],
    });
    const wrong = await verification(lab); // default: the replay in progress
    expect(wrong.verdict).toBe('failed');
    expect(wrong.job).toBe(j2);
    expect(wrong.failedWindows).toEqual([bad]);
    const w = wrong.windows.find((x) => x.window === bad)!;
    expect(w.absDiffTruth).toBe(7);
    expect(w.unexplainedActive).toBe(7);
    expect(w.histogram[2]).toBe(1); // the "2-9" bucket
    expect(w.histogram[0]).toBe(w.cells - 1);
    expect(w.differing).toEqual([
      expect.objectContaining({ campaign, candidate: expect.any(Number), explained: 0 }),
    ]);
    expect(w.differing[0]!.candidate - w.differing[0]!.expected).toBe(7);

    const refused = await lab.app.inject({ method: 'POST', url: '/api/kappa/switchover' });
    expect(refused.statusCode).toBe(409);
    const err = refused.json().error;
    expect(err.code).toBe('LKL_ERR_KAPPA_VERIFICATION_FAILED');
    expect(err.message).toContain(new Date(bad).toISOString());
    expect(err.message).toContain('skipVerification');
    expect(err.message).toContain(`/api/kappa/replays/${j2}/abort`);
    expect(err.details.verification.failedWindows).toEqual([bad]);
    expect(kappa.activeJob).toBe(1);

    // skipVerification: the switch goes through, the answer shows the verdict it overrode.
    const forced = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/switchover',
      payload: { skipVerification: true },
    });
    expect(forced.statusCode, forced.body).toBe(200);
    expect(forced.json()).toMatchObject({
      job: j2,
      previous: 1,
      verification: { verdict: 'failed', skipped: true, failedWindows: [bad] },
    });
    expect((await lab.app.inject({ method: 'POST', url: '/api/kappa/rollback' })).statusCode).toBe(200);
    expect(kappa.activeJob).toBe(1);
    expect((await lab.app.inject({ method: 'POST', url: `/api/kappa/replays/${j2}/abort` })).statusCode).toBe(
      200,
    );

    // Job 3: logic v2 (without bots). Its table differs from job 1's by exactly the bots' views.
    const j3 = await replayCaughtUp(lab, 2);
    const v2 = await verification(lab, j3);
    expect(v2.verdict, v2.reason).toBe('passed');
    expect(v2).toMatchObject({
      job: j3,
      logicVersion: 2,
      against: 1,
      againstLogicVersion: 1,
      sameLogic: false,
    });
    const botViews = v2.windows.reduce((s, x) => s + x.absDiffActive!, 0);
    expect(botViews).toBeGreaterThan(0); // the change does differ from job 1 ...
    expect(v2.windows.every((x) => x.unexplainedActive === 0)).toBe(true); // ... exactly as v1 → v2 explains
    expect(v2.windows.every((x) => x.absDiffTruth === 0)).toBe(true);
    expect(v2.reason).toContain('exactly the ones v1 → v2 explains');

    const ok = await lab.app.inject({ method: 'POST', url: '/api/kappa/switchover', payload: {} });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({
      job: j3,
      logicVersion: 2,
      previous: 1,
      verification: { verdict: 'passed' },
    });
    expect(kappa.activeJob).toBe(j3);
  }, 120_000);

  it('gates the automatic switchover too: refused once per window while wrong, switched once right', async () => {
    const lab = await startLab(true);
    const { kappa, measurement, store, bus } = lab.services;
    await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, 7, EVENTS, undefined, { botShare: 0.1 });
    await measurement.sync(30_000);
    const refusals: Array<{ at: number; failedWindows: unknown }> = [];
    bus.on(LAB_EVENTS.KAPPA_SWITCHOVER_REFUSED, (e) =>
      refusals.push({ at: e.at, failedWindows: e.payload.failedWindows }),
    );
    // A slow replay (2,000 events/s: ~5 s), its table corrupted while it runs.
    const res = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 2, rateLimit: 2_000 },
    });
    expect(res.statusCode, res.body).toBe(202);
    const j2 = res.json().id as number;
    // The verified windows end at T0 + 90 s (10 s windows, 1 s + 5 s lateness, 1 s out of order).
    const bad = T0 + 80_000;
    const delta = (views: number, next: number) =>
      store.apply({
        sets: [
          {
            key: windowKey(j2, bad),
            field: deltaField(0, next),
            value: JSON.stringify({ t: Date.now(), c: [['c-auto', views, []]] }),
          },
        ],
      });
    await delta(7, 999_999_998);
    await kappa.waitForState(j2, ['caught-up'], 30_000);
    await waitUntil(() => refusals.length > 0, {
      what: () => 'a refused automatic switchover',
      timeoutMs: 10_000,
    });
    expect(refusals[0]!.failedWindows).toEqual([bad]);
    expect(kappa.activeJob).toBe(1);
    expect(kappa.job(j2)!.state).toBe('caught-up');
    expect(kappa.lastError).toMatch(/^Switchover refused: job 2 \(logic v2\)/);
    // No polling loop: over the next 3 s (12 monitor ticks) the gate is not asked again.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(refusals).toHaveLength(1);

    await delta(-7, 999_999_999); // undo: the next retry (≤ 10 s after the refusal) switches
    await kappa.waitForState(j2, ['live'], 20_000);
    expect(kappa.activeJob).toBe(j2);
    expect(refusals).toHaveLength(1);
    const switched = bus.recent(1000).filter((e) => e.name === LAB_EVENTS.KAPPA_SWITCHOVER);
    expect(switched.map((e) => [e.payload.how, e.payload.verdict])).toEqual([['auto', 'passed']]);
  }, 90_000);

  it('is unavailable, and says why, before any window closed; the switch then happens', async () => {
    const lab = await startLab();
    await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, 7, 200); // 2 s of event time: no closed window
    await lab.services.measurement.sync(30_000);
    const j2 = await replayCaughtUp(lab, 1);
    const v = await verification(lab, j2);
    expect(v.verdict).toBe('unavailable');
    expect(v.reason).toMatch(/^no closed window yet/);
    const res = await lab.app.inject({ method: 'POST', url: '/api/kappa/switchover' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().verification).toMatchObject({ verdict: 'unavailable', job: j2 });
  }, 60_000);
});
