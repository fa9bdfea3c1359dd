import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, WINDOW_MS, windowStart } from '../kernel/events/ysb-event.js';
import type { MetricsSnapshot } from '../measurement/measurement-api.js';
import { appendCatchUp, catchUpEvents } from '../test-support/kappa-harness.js';
import { describeDistributed, kafkaBrokers, redisUrl } from '../test-support/infra.js';
import { recount } from '../test-support/recount.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';

const ref = buildReferenceData();
const N = 30_000;
const SEED = 41;
/** Linted by the embedded suite (test/prometheus-exposition.test.ts, which requires it); here when present. */
const PROMTOOL = '/usr/bin/promtool';

describeDistributed('measurement on Kafka + Redis', () => {
  let lab: Lab | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lkl-meas-dist-'));
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
      for (const ns of ['kappa-v1']) await s.deleteOffsets(ns);
      await s.close();
      for (const g of ['lklab-truth', 'lklab-speed', 'lklab-batch-ingest', 'lklab-kappa-v1'])
        await l.deleteGroup(g).catch(() => undefined);
      for (const t of [AD_EVENTS_TOPIC, `${AD_EVENTS_TOPIC}-dead-letter`])
        await l.deleteTopic(t).catch(() => undefined);
      await l.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('the truth oracle reads Kafka; speed, merged and Kappa answers are measured against it', async () => {
    const config = loadConfig({
      env: {
        KAFKA_BROKERS: kafkaBrokers()!.join(','),
        REDIS_URL: redisUrl()!,
        LKLAB_NAMESPACE: `me${randomUUID().slice(0, 8)}`,
      },
      overrides: {
        dataDir: dir,
        generator: { rate: 0 },
        batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
        speed: { flushIntervalMs: 200 },
        kappa: { checkpointIntervalMs: 200 },
        measurement: { allowedLatenessMs: 0, horizonMs: 3_600_000, intervalMs: 60_000 },
      },
    });
    lab = await createLab(config);
    await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, SEED, N);
    await lab.services.speed.sync(120_000);
    await lab.services.kappa.sync(1, 120_000);
    await lab.services.measurement.sync!(120_000);
    const res = await lab.app.inject({ url: '/api/metrics' });
    expect(res.statusCode, res.body).toBe(200);
    const s = res.json() as MetricsSnapshot;
    const truth = recount(catchUpEvents(SEED, N), ref);
    const maxTime = 1_700_000_000_000 + (N - 1) * 10;
    const closed = windowStart(maxTime - WINDOW_MS) + WINDOW_MS;
    const cells = [...truth.views.keys()].filter((k) => Number(k.split('|')[1]) < closed).length;
    expect(s.truth).toMatchObject({ events: N, lag: 0 });
    for (const layer of ['speed', 'lambda', 'kappa'])
      expect(s.correctness.find((c) => c.layer === layer && c.metric === 'views')).toMatchObject({
        windows: cells,
        correct: cells,
      });
    expect(s.correctness.find((c) => c.layer === 'kappa' && c.metric === 'distinct_users')).toMatchObject({
      correct: cells,
    });
    const kappa = s.maintenance.find((m) => m.arch === 'kappa')!;
    expect(kappa.storage!.find((p) => p.part === 'log')!.bytes).toBeNull(); // not measurable on Kafka
    expect(kappa.storage!.find((p) => p.part === 'output tables')!.bytes).toBeGreaterThan(0);
    expect(kappa.runningComponents).toContain('event-log (kafka)');

    // GET /metrics on Kafka: consumer lag per partition from the broker's committed offsets
    const prom = await lab.app.inject({ url: '/metrics' });
    expect(prom.statusCode, prom.body).toBe(200);
    expect(prom.body).toContain(`lklab_events_ingested_total ${N}\n`);
    const speedLag = prom.body.match(
      /^lklab_consumer_lag_events\{group="lklab-speed",partition="\d+"\} \d+$/gm,
    );
    expect(speedLag?.length).toBeGreaterThan(0);
    if (existsSync(PROMTOOL)) {
      const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: prom.body, encoding: 'utf8' });
      expect(`${lint.stdout}${lint.stderr}`).toBe('');
      expect(lint.status).toBe(0);
    }
  }, 300_000);
});
