import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, type YsbEvent } from '../kernel/events/ysb-event.js';
import { SKETCH_STANDARD_ERROR } from '../kernel/ports/realtime-store.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import { describeDistributed, kafkaBrokers, redisUrl } from '../test-support/infra.js';
import { cellKey, recount, verdicts } from '../test-support/recount.js';

const ref = buildReferenceData();
const T0 = 1_700_000_000_000;

interface Served {
  boundary: number | null;
  batchVersion: number | null;
  windows: Array<{
    campaign_id: string;
    window_start: number;
    value: number;
    source: string;
    version: number;
  }>;
}

async function query(lab: Lab, arch: string, metric: string, from: number, to: number): Promise<Served> {
  const res = await lab.app.inject({ url: `/api/views?arch=${arch}&metric=${metric}&from=${from}&to=${to}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Served;
}

function asMap(s: Served): Map<string, number> {
  return new Map(s.windows.map((w) => [cellKey(w.campaign_id, w.window_start), w.value]));
}

async function appendEvents(lab: Lab, events: YsbEvent[], values: string[]): Promise<void> {
  for (let i = 0; i < values.length; i += 20_000) {
    await lab.services.log.append(
      AD_EVENTS_TOPIC,
      values.slice(i, i + 20_000).map((value, j) => ({ key: events[i + j]!.ad_id, value })),
    );
  }
}

function lambdaSuite(mode: 'embedded' | 'distributed'): void {
  let lab: Lab;
  let dir: string;
  const N = 1_000_000;
  const gen = new YsbGenerator(ref, { seed: 5, mode: 'catch-up', rate: 0, startTime: T0 });
  const records = gen.take(N);
  const events = records.map((r) => r.event!);
  const truth = recount(events, ref);
  const end = T0 + N * 10;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-lambda-'));
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        generator: { rate: 0 },
        batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
        speed: { flushIntervalMs: 60_000 },
        ...(mode === 'distributed'
          ? {
              namespace: `t${randomUUID().slice(0, 8)}`,
              kafka: { brokers: kafkaBrokers()!, clientId: 'lklab-test' },
              redis: { url: redisUrl()! },
            }
          : {}),
      },
    });
    lab = await createLab(config, { roles: { kappa: false } }); // Kappa has its own suites
    await appendEvents(
      lab,
      events,
      records.map((r) => r.value),
    );
    await lab.services.speed.sync(240_000);
  }, 300_000);
  afterAll(async () => {
    if (lab && mode === 'distributed') {
      // Clean up through the systems' own APIs.
      await lab.services.store.deleteByPrefix('');
      await lab.services.queue.obliterate('lklab-batch');
    }
    await lab?.close();
    if (lab && mode === 'distributed') {
      const { createEventLog } = await import('../kernel/adapters/event-log-factory.js');
      const log = await createEventLog(lab.services.config, lab.services.clock);
      for (const t of await log.listTopics()) await log.deleteTopic(t.name);
      for (const g of await log.listGroups()) await log.deleteGroup(g);
      await log.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('before any batch run, lambda answers every window from the speed layer', async () => {
    const s = await query(lab, 'lambda', 'views', T0, end);
    expect(s.boundary).toBeNull();
    expect(s.windows.every((w) => w.source === 'speed')).toBe(true);
    const v = verdicts(asMap(s), truth.views, T0, end);
    expect(v).toMatchObject({ differ: 0, missing: 0, extra: 0 });
  });

  it(`runs in ${mode} mode`, async () => {
    const health = (await lab.app.inject({ url: '/api/health' })).json();
    expect(health.mode).toBe(mode);
    expect(health.dependencies.map((d: { kind: string }) => d.kind)).toEqual(
      mode === 'embedded' ? ['embedded', 'embedded', 'embedded'] : ['kafka', 'redis', 'bullmq'],
    );
  });

  it(
    'a batch run covers everything below its boundary: 100 % CORRECT views and exact distinct users, the rest from speed',
    { timeout: 300_000 },
    async () => {
      const run = await lab.app.inject({ method: 'POST', url: '/api/lambda/batch-runs', payload: {} });
      expect(run.statusCode).toBe(202);
      const id = run.json().id as number;
      const done = await lab.services.batch.waitForRun(id, 300_000);
      expect(done.state, done.error).toBe('completed');
      expect(done.events).toBe(N);
      expect(done.mapTasks).toBeGreaterThan(0);
      expect(done.reduceTasks).toBe(4);
      expect(Object.keys(done.phases).sort()).toEqual(['map', 'publish', 'reduce', 'shuffle']);
      const lastWindow = Math.floor((end - 10) / 10_000) * 10_000;
      expect(done.boundary).toBe(lastWindow);

      const views = await query(lab, 'lambda', 'views', T0, end);
      expect(views.boundary).toBe(lastWindow);
      expect(views.batchVersion).toBe(done.viewVersion);
      const fromBatch = views.windows.filter((w) => w.source === 'batch');
      const fromSpeed = views.windows.filter((w) => w.source === 'speed');
      expect(fromBatch.every((w) => w.window_start < lastWindow)).toBe(true);
      expect(fromSpeed.every((w) => w.window_start >= lastWindow)).toBe(true);
      expect(fromSpeed.length).toBeGreaterThan(0);
      const v = verdicts(asMap(views), truth.views, T0, end);
      expect(v, v.examples.join('\n')).toMatchObject({
        correct: truth.views.size,
        differ: 0,
        missing: 0,
        extra: 0,
      });

      const distinct = await query(lab, 'batch', 'distinct_users', T0, end);
      const dv = verdicts(asMap(distinct), truth.distinct, T0, lastWindow);
      expect(dv, dv.examples.join('\n')).toMatchObject({ differ: 0, missing: 0, extra: 0 });
      expect(dv.correct).toBeGreaterThan(0);
    },
  );

  it("speed layer's distinct users stay within 3 × 1.04/√m of the truth on average", async () => {
    const s = await query(lab, 'speed', 'distinct_users', T0, end);
    let sumRel = 0;
    let n = 0;
    for (const w of s.windows) {
      const t = truth.distinct.get(cellKey(w.campaign_id, w.window_start))?.size;
      if (!t) continue;
      sumRel += Math.abs(w.value - t) / t;
      n++;
    }
    expect(n).toBeGreaterThan(0);
    expect(sumRel / n).toBeLessThanOrEqual(3 * SKETCH_STANDARD_ERROR);
  });

  it('expires realtime windows only once a batch view covers them', async () => {
    const speed = await query(lab, 'speed', 'views', T0, end);
    const b = (await query(lab, 'lambda', 'views', T0, end)).boundary!;
    expect(speed.windows.every((w) => w.window_start >= b)).toBe(true);
    expect(speed.windows.length).toBeGreaterThan(0);
  });

  it('rejects bad queries with 400 and a message', async () => {
    const r1 = await lab.app.inject({ url: `/api/views?arch=kafka&from=0&to=10` });
    expect(r1.statusCode).toBe(400);
    expect(r1.json().error.message).toContain('arch');
    const r2 = await lab.app.inject({ url: `/api/views?arch=lambda&from=10&to=5` });
    expect(r2.statusCode).toBe(400);
    expect(r2.json().error.message).toContain('"to"');
    const r3 = await lab.app.inject({
      method: 'POST',
      url: '/api/lambda/deploy',
      payload: { layer: 'batch', logicVersion: 9 },
    });
    expect(r3.statusCode).toBe(400);
    expect(r3.json().error.message).toContain('available: v1, v2, v3.');
    const r4 = await lab.app.inject({ url: '/api/lambda/batch-runs/999' });
    expect(r4.statusCode).toBe(404);
  });
}

describe('Lambda, embedded: 1 M YSB events in catch-up mode', () => lambdaSuite('embedded'));
describeDistributed('Lambda, distributed on Kafka + Redis + BullMQ: 1 M YSB events', () =>
  lambdaSuite('distributed'),
);
