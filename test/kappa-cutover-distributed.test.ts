/**
 * The cutover semantics lab on Kafka + Redis (the wiring users run distributed): the gate with an
 * idle partition (T not held back, nothing lost or duplicated) and the overlap (every event served
 * twice), counted by the truth oracle reading Kafka. Known input: 3,000 events into three
 * partitions, then 7,000 into partitions 0 and 1 only, then 5,000 more after the switch.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, WINDOW_MS } from '../kernel/events/ysb-event.js';
import type { CutoverReport } from '../kappa-reprocessor/index.js';
import { describeDistributed, kafkaBrokers, redisUrl } from '../test-support/infra.js';
import { appendCatchUpTo, T0 } from '../test-support/kappa-harness.js';

describeDistributed('Kappa cutover semantics on Kafka + Redis', () => {
  let lab: Lab | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lkl-cutover-dist-'));
  afterAll(async () => {
    if (lab) {
      await lab.close();
      // The lab closed its own clients: clean up through fresh ones of the same namespace.
      const { createEventLog } = await import('../kernel/adapters/event-log-factory.js');
      const { createRealtimeStore } = await import('../kernel/adapters/store-factory.js');
      const { systemClock } = await import('../kernel/clock/system-clock.js');
      const config = lab.services.config;
      const l = await createEventLog(config, systemClock);
      const s = await createRealtimeStore(config, systemClock);
      await s.deleteByPrefix('');
      for (const ns of ['kappa-v1', 'kappa-v2']) await s.deleteOffsets(ns);
      await s.close();
      for (const g of [
        'lklab-truth',
        'lklab-speed',
        'lklab-batch-ingest',
        'lklab-kappa-v1',
        'lklab-kappa-v2',
      ])
        await l.deleteGroup(g).catch(() => undefined);
      for (const t of [AD_EVENTS_TOPIC, `${AD_EVENTS_TOPIC}-dead-letter`])
        await l.deleteTopic(t).catch(() => undefined);
      await l.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('gate with an idle partition loses and duplicates nothing; overlap duplicates every event', async () => {
    lab = await createLab(
      loadConfig({
        env: {
          KAFKA_BROKERS: kafkaBrokers()!.join(','),
          REDIS_URL: redisUrl()!,
          LKLAB_NAMESPACE: `co${randomUUID().slice(0, 8)}`,
        },
        overrides: {
          dataDir: dir,
          generator: { rate: 0 },
          log: { partitions: 3 },
          batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
          speed: { flushIntervalMs: 1_000 },
          measurement: { allowedLatenessMs: 1_000 },
          kappa: {
            autoSwitchover: false,
            catchUpDwellMs: 300,
            checkpointIntervalMs: 200,
            replayParallelism: 1,
            allowedLatenessMs: 5_000,
            overlapMs: 60_000,
            idleTimeoutMs: 20_000,
          },
        },
      }),
    );
    const { kappa, measurement, log } = lab.services;
    expect(lab.services.mode).toBe('distributed');
    expect(log.kind).toBe('kafka');
    const syncAll = async (jobs: number[]): Promise<void> => {
      for (const j of jobs) await kappa.sync(j, 60_000);
      await measurement.sync?.(60_000);
    };
    const inject = async (method: 'GET' | 'POST', url: string, payload?: object) => {
      const res = await lab!.app.inject({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json();
    };
    await appendCatchUpTo(log, 7, 3_000, T0, [0, 1, 2]);
    await appendCatchUpTo(log, 8, 7_000, T0 + 30_000, [0, 1]);
    await syncAll([1]);
    const j2 = (await inject('POST', '/api/kappa/replays', { logicVersion: 1 })).id as number;
    await kappa.waitForState(j2, ['caught-up'], 60_000);
    await syncAll([1, j2]);

    const g = await inject('POST', '/api/kappa/switchover', { mode: 'gate' });
    const rec = g.cutoverRecord as CutoverReport;
    const base = T0 - (T0 % WINDOW_MS);
    expect(rec.idlePartitions).toEqual([2]);
    expect(rec.at).toBe(base + 90_000);
    await appendCatchUpTo(log, 9, 5_000, T0 + 100_000, [0, 1]);
    await syncAll([1, j2]);
    const gate = (await inject('GET', '/api/kappa/cutover')).last as CutoverReport;
    expect(gate.measured, gate.measuredReason).toBe(true);
    expect(gate.windows.filter((w) => w.window >= rec.at!).length).toBeGreaterThanOrEqual(3);
    expect(gate.windows.filter((w) => w.window < rec.at!).length).toBeGreaterThanOrEqual(5);
    expect(gate).toMatchObject({ lost: 0, duplicated: 0 });
    expect(gate.windows.every((w) => w.served === w.expected && w.expected > 0)).toBe(true);

    await inject('POST', '/api/kappa/rollback');
    await inject('POST', '/api/kappa/switchover', { mode: 'overlap' });
    const overlap = (await inject('GET', '/api/kappa/cutover')).last as CutoverReport;
    expect(overlap.measured, overlap.measuredReason).toBe(true);
    expect(overlap.lost).toBe(0);
    for (const w of overlap.windows)
      expect(w).toMatchObject({ served: 2 * w.expected, duplicated: w.expected });
    expect(overlap.duplicated).toBeGreaterThan(1_500);
  }, 240_000);
});
