/**
 * The cutover semantics lab (issue 17, item 3) on an embedded lab with the real truth oracle
 * (DuckDB): the same caught-up replay (job 2, logic v1, exact) is switched to three times — flip,
 * overlap, gate — from the same live job 1, rolled back in between, and GET /api/kappa/cutover
 * counts per window the events readers lost and got twice. Known input: 10,000 events
 * (event_time = T0 + n × 10 ms, 100 s), then 5,000 more after the switch so windows past T close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, WINDOW_MS } from '../kernel/events/ysb-event.js';
import type { CutoverReport } from '../kappa-reprocessor/index.js';
import { appendCatchUp, appendCatchUpTo, T0 } from '../test-support/kappa-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startLab(partitions: number): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-cutover-'));
  const lab = await createLab(
    loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        generator: { rate: 0 },
        log: { partitions },
        batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
        speed: { flushIntervalMs: 60_000 },
        measurement: { allowedLatenessMs: 1_000 },
        kappa: {
          autoSwitchover: false,
          catchUpDwellMs: 100,
          checkpointIntervalMs: 100,
          replayParallelism: 1,
          allowedLatenessMs: 5_000,
          overlapMs: 60_000,
          idleTimeoutMs: 20_000,
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

async function syncAll(lab: Lab, jobs: number[]): Promise<void> {
  for (const j of jobs) await lab.services.kappa.sync(j, 30_000);
  await lab.services.measurement.sync?.(30_000);
}

async function replayCaughtUp(lab: Lab): Promise<number> {
  const res = await lab.app.inject({
    method: 'POST',
    url: '/api/kappa/replays',
    payload: { logicVersion: 1 },
  });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().id as number;
  await lab.services.kappa.waitForState(id, ['caught-up'], 30_000);
  await lab.services.kappa.sync(id, 30_000);
  return id;
}

async function switchover(lab: Lab, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await lab.app.inject({ method: 'POST', url: '/api/kappa/switchover', payload });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function cutover(lab: Lab): Promise<{ defaultMode: string; last: CutoverReport | null }> {
  const res = await lab.app.inject({ url: '/api/kappa/cutover' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function rollback(lab: Lab): Promise<void> {
  expect((await lab.app.inject({ method: 'POST', url: '/api/kappa/rollback' })).statusCode).toBe(200);
}

describe('Kappa cutover semantics: flip, overlap, gate', () => {
  it('counts per window: overlap duplicates every event both jobs counted, gate and flip lose and duplicate none', async () => {
    const lab = await startLab(2);
    const { kappa, log } = lab.services;
    await appendCatchUp(log, AD_EVENTS_TOPIC, 7, 10_000);
    await syncAll(lab, [1]);
    expect(await cutover(lab)).toEqual({ defaultMode: 'flip', last: null });
    const j2 = await replayCaughtUp(lab);
    await syncAll(lab, [1, j2]);

    // overlap: both tables summed while it lasts — every closed window shows each event twice.
    const o = await switchover(lab, { mode: 'overlap' });
    expect(o).toMatchObject({ job: j2, previous: 1, cutover: { mode: 'overlap', from: 1, at: null } });
    const overlap = (await cutover(lab)).last!;
    expect(overlap.mode).toBe('overlap');
    expect(overlap.measured, overlap.measuredReason).toBe(true);
    expect(overlap.windows.length).toBeGreaterThanOrEqual(5);
    for (const w of overlap.windows) {
      expect(w.jobs).toEqual([1, j2]);
      expect(w.expected).toBeGreaterThan(0);
      expect(w.served).toBe(2 * w.expected);
      expect(w.duplicated).toBe(w.expected);
      expect(w.lost).toBe(0);
    }
    expect(overlap.duplicated).toBe(overlap.windows.reduce((s, w) => s + w.expected, 0));
    expect(overlap.duplicated).toBeGreaterThan(1_500); // ~330 views in each of ≥ 5 windows (2,982 over 9)
    // GET /api/views itself serves the sum during the overlap: the window's views are twice the truth's.
    const first = overlap.windows[0]!;
    const served = await lab.app.inject({
      url: `/api/views?arch=kappa&metric=views&from=${first.window}&to=${first.window + WINDOW_MS}`,
    });
    const rows = served.json().windows as Array<{ value: number; version: number }>;
    expect(rows.reduce((s, x) => s + x.value, 0)).toBe(2 * first.expected);
    expect(rows.every((x) => x.version === j2)).toBe(true);
    await rollback(lab);
    expect(kappa.activeJob).toBe(1);

    // gate: T = the first window job 1 has not finalized in both partitions; no loss, no duplicate.
    const g = await switchover(lab, { mode: 'gate' });
    const at = (g.cutover as { at: number }).at;
    expect(at).toBe(T0 - (T0 % WINDOW_MS) + 90_000); // newest event ≈ T0 + 100 s − 1 s disorder − 5 s lateness − the window
    await appendCatchUp(log, AD_EVENTS_TOPIC, 8, 5_000, T0 + 100_000);
    await syncAll(lab, [1, j2]);
    const gate = (await cutover(lab)).last!;
    expect(gate).toMatchObject({
      mode: 'gate',
      at,
      idlePartitions: [],
      measured: true,
      lost: 0,
      duplicated: 0,
    });
    const before = gate.windows.filter((w) => w.window < at);
    const after = gate.windows.filter((w) => w.window >= at);
    expect(before.length).toBeGreaterThanOrEqual(5);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(before.every((w) => w.jobs.join() === '1')).toBe(true);
    expect(after.every((w) => w.jobs.join() === String(j2))).toBe(true);
    expect(gate.windows.every((w) => w.served === w.expected && w.expected > 0)).toBe(true);
    await rollback(lab);

    // flip (the default): every window from job 2, which is complete — nothing lost or duplicated
    // in closed windows (the flip's risk is a replay that lags; caught up and synced it has none).
    await switchover(lab, {});
    const flip = (await cutover(lab)).last!;
    expect(flip).toMatchObject({
      mode: 'flip',
      from: 1,
      to: j2,
      at: null,
      measured: true,
      lost: 0,
      duplicated: 0,
    });
    expect(flip.windows.length).toBeGreaterThanOrEqual(5);
    expect(flip.windows.every((w) => w.jobs.join() === String(j2) && w.served === w.expected)).toBe(true);
  }, 180_000);

  it('gate with an idle partition: T is not held back by it, and nothing is lost or duplicated', async () => {
    const lab = await startLab(3);
    const { log } = lab.services;
    // 30 s into all three partitions, then 70 s into partitions 0 and 1 only: partition 2 goes idle.
    await appendCatchUpTo(log, 7, 3_000, T0, [0, 1, 2]);
    await appendCatchUpTo(log, 8, 7_000, T0 + 30_000, [0, 1]);
    await syncAll(lab, [1]);
    const j2 = await replayCaughtUp(lab);
    await syncAll(lab, [1, j2]);
    const g = await switchover(lab, { mode: 'gate' });
    const rec = g.cutoverRecord as CutoverReport;
    const base = T0 - (T0 % WINDOW_MS);
    expect(rec.idlePartitions).toEqual([2]);
    expect(rec.partitions.find((p) => p.partition === 2)).toMatchObject({ readToEnd: true, idle: true });
    // Held back by partition 2 it would be T0 + 20 s; without it T follows partitions 0 and 1.
    expect(rec.partitions.find((p) => p.partition === 2)!.finalizedBefore).toBe(base + 20_000);
    expect(rec.at).toBe(base + 90_000);
    expect(rec.reason).toContain('partition 2 idle');
    await appendCatchUpTo(log, 9, 5_000, T0 + 100_000, [0, 1]);
    await syncAll(lab, [1, j2]);
    const gate = (await cutover(lab)).last!;
    expect(gate.measured, gate.measuredReason).toBe(true);
    expect(gate.windows.filter((w) => w.window >= rec.at!).length).toBeGreaterThanOrEqual(3);
    expect(gate.windows.filter((w) => w.window < rec.at!).length).toBeGreaterThanOrEqual(5);
    expect(gate).toMatchObject({ lost: 0, duplicated: 0 });
    expect(gate.windows.every((w) => w.served === w.expected && w.expected > 0)).toBe(true);

    // A T later than job 1 has finalized is refused.
    await rollback(lab);
    const late = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/switchover',
      payload: { mode: 'gate', cutoverTime: T0 + 400_000 },
    });
    expect(late.statusCode).toBe(400);
    expect(late.json().error.message).toContain('later than the newest window job 1 has finalized');
  }, 180_000);
});
