import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, type YsbEvent } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator, type GeneratedRecord } from '../kernel/workload/ysb-generator.js';
import { cellKey, recount, verdicts } from '../test-support/recount.js';

const ref = buildReferenceData();
const T0 = 1_700_000_000_000;

interface Answer {
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

const labs: Array<{ lab: Lab; dir: string }> = [];
afterEach(async () => {
  for (const { lab, dir } of labs.splice(0)) {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function newLab(): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-lf-'));
  const lab = await createLab(
    loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        generator: { rate: 0 },
        batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
        speed: { flushIntervalMs: 60_000 },
      },
    }),
    { roles: { kappa: false } }, // Kappa has its own suites
  );
  labs.push({ lab, dir });
  return lab;
}

async function append(lab: Lab, records: GeneratedRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 20_000) {
    await lab.services.log.append(
      AD_EVENTS_TOPIC,
      records.slice(i, i + 20_000).map((r) => ({ key: r.event!.ad_id, value: r.value })),
    );
  }
}

async function query(lab: Lab, arch: string, from: number, to: number): Promise<Answer> {
  const res = await lab.app.inject({ url: `/api/views?arch=${arch}&metric=views&from=${from}&to=${to}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Answer;
}

const asMap = (a: Answer, source?: string): Map<string, number> =>
  new Map(
    a.windows
      .filter((w) => !source || w.source === source)
      .map((w) => [cellKey(w.campaign_id, w.window_start), w.value]),
  );

async function batchRun(lab: Lab): Promise<number> {
  const run = lab.services.batch.requestRun('test');
  const done = await lab.services.batch.waitForRun(run.id, 120_000);
  expect(done.state, done.error).toBe('completed');
  return done.boundary!;
}

function viewsIn(events: YsbEvent[]): number {
  return events.filter((e) => e.event_type === 'view').length;
}

describe('Lambda failure modes (embedded)', () => {
  it('a speed-layer crash after flush, before commit over-counts exactly the re-read views; the next batch run repairs them', async () => {
    const lab = await newLab();
    const gen = new YsbGenerator(ref, { seed: 21, mode: 'catch-up', rate: 0, startTime: T0 });
    const first = gen.take(30_000);
    const second = gen.take(30_000);
    const events = [...first, ...second].map((r) => r.event!);
    const truth = recount(events, ref);
    const end = T0 + 60_000 * 10;

    await append(lab, first);
    await lab.services.speed.sync(60_000);
    await append(lab, second);
    await lab.services.speed.waitProcessed(60_000);
    await lab.services.speed.crash('after-flush-before-commit');
    await lab.services.speed.start(); // restart: resumes at the last committed offset
    await lab.services.speed.sync(60_000);

    const speed = await query(lab, 'speed', T0, end);
    const served = asMap(speed);
    let overCount = 0;
    for (const [k, t] of truth.views) overCount += (served.get(k) ?? 0) - t;
    expect(overCount).toBe(viewsIn(second.map((r) => r.event!)));
    expect(verdicts(served, truth.views, T0, end).differ).toBeGreaterThan(0);

    const boundary = await batchRun(lab);
    const lambda = await query(lab, 'lambda', T0, end);
    const repaired = verdicts(asMap(lambda, 'batch'), truth.views, T0, boundary);
    expect(repaired, repaired.examples.join('\n')).toMatchObject({ differ: 0, missing: 0 });
    expect(repaired.correct).toBeGreaterThan(0);
    // At and above the boundary the realtime view (with its duplicates) still answers until a later run covers it.
    const above = verdicts(asMap(lambda, 'speed'), truth.views, boundary, end);
    expect(above.missing).toBe(0);
  });

  it('a partial logic deploy (v2 to batch only) makes the layers diverge: batch windows follow v2, speed windows v1', async () => {
    const lab = await newLab();
    const gen = new YsbGenerator(ref, {
      seed: 22,
      mode: 'catch-up',
      rate: 0,
      startTime: T0,
      knobs: { botShare: 0.3 },
    });
    const records = gen.take(40_000);
    const events = records.map((r) => r.event!);
    const v1 = recount(events, ref);
    const v2 = recount(events, ref, { excludeBots: true });
    const end = T0 + 40_000 * 10;
    const deploy = await lab.app.inject({
      method: 'POST',
      url: '/api/lambda/deploy',
      payload: { layer: 'batch', logicVersion: 2 },
    });
    expect(deploy.json()).toMatchObject({ batchLogicVersion: 2, speedLogicVersion: 1 });
    await append(lab, records);
    await lab.services.speed.sync(60_000);
    const boundary = await batchRun(lab);

    const lambda = await query(lab, 'lambda', T0, end);
    const batchSide = verdicts(asMap(lambda, 'batch'), v2.views, T0, boundary);
    expect(batchSide).toMatchObject({ differ: 0, missing: 0 });
    const speedSide = asMap(lambda, 'speed');
    expect(verdicts(speedSide, v1.views, boundary, end)).toMatchObject({ differ: 0, missing: 0 });
    const divergent = verdicts(speedSide, v2.views, boundary, end);
    expect(divergent.differ).toBeGreaterThan(0); // the speed layer still counts bots
    expect(lambda.windows.find((w) => w.source === 'batch')?.version).toBe(lambda.batchVersion);

    // Deploying v2 to the speed layer too ends the divergence for new data.
    await lab.app.inject({
      method: 'POST',
      url: '/api/lambda/deploy',
      payload: { layer: 'speed', logicVersion: 2 },
    });
    expect(lab.services.speed.logicVersion).toBe(2);
  });

  it('the boundary split never double counts or leaves a gap, and every answer holds one batch version, even while views swap', async () => {
    const lab = await newLab();
    const gen = new YsbGenerator(ref, { seed: 23, mode: 'catch-up', rate: 0, startTime: T0 });
    const all: YsbEvent[] = [];
    const chunk = async (): Promise<void> => {
      const r = gen.take(25_000);
      all.push(...r.map((x) => x.event!));
      await append(lab, r);
      await lab.services.speed.sync(60_000);
    };
    await chunk();
    await batchRun(lab);
    await chunk();
    const end = T0 + 50_000 * 10;
    const truth = recount(all, ref);

    // Query continuously while another batch run publishes a new version and expires realtime windows.
    const run = lab.services.batch.requestRun('test');
    const versions = new Set<number | null>();
    let checked = 0;
    const check = (a: Answer): void => {
      versions.add(a.batchVersion);
      checked++;
      const v = verdicts(asMap(a), truth.views, T0, end);
      expect(v, `answer pinned to v${a.batchVersion}: ${v.examples.join('; ')}`).toMatchObject({
        differ: 0,
        missing: 0,
        extra: 0,
      });
      expect(
        a.windows
          .filter((w) => w.source === 'batch')
          .every((w) => w.version === a.batchVersion && w.window_start < a.boundary!),
      ).toBe(true);
      expect(a.windows.filter((w) => w.source === 'speed').every((w) => w.window_start >= a.boundary!)).toBe(
        true,
      );
    };
    let done = false;
    const waiter = lab.services.batch.waitForRun(run.id, 120_000).then((r) => {
      done = true;
      return r;
    });
    while (!done) {
      check(await query(lab, 'lambda', T0, end));
      await new Promise((r) => setTimeout(r, 1)); // inject() resolves without I/O: let the run's timers in
    }
    expect((await waiter).state).toBe('completed');
    check(await query(lab, 'lambda', T0, end));
    expect(checked).toBeGreaterThan(2);
    expect(versions.size).toBeGreaterThanOrEqual(2); // the swap happened while we were querying
  });

  it('a failed map task is retried and the run completes; the serving layer keeps the last good version meanwhile', async () => {
    const lab = await newLab();
    const gen = new YsbGenerator(ref, { seed: 24, mode: 'catch-up', rate: 0, startTime: T0 });
    await append(lab, gen.take(20_000));
    await batchRun(lab);
    const good = lab.services.batch.views.current()!.version;
    await append(lab, gen.take(20_000));
    lab.services.batch.injectMapFailures(2); // every map task fails its first attempt
    const run = lab.services.batch.requestRun('test');
    const done = await lab.services.batch.waitForRun(run.id, 120_000);
    expect(done.state).toBe('completed');
    expect(done.retries).toBe(done.mapTasks);
    expect(done.viewVersion).toBeGreaterThan(good);

    lab.services.batch.injectMapFailures(99); // beyond the 3 attempts: the run fails
    const failed = await lab.services.batch.waitForRun(lab.services.batch.requestRun('test').id, 120_000);
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain('injected fault');
    expect(lab.services.batch.views.current()!.version).toBe(done.viewVersion);
  });
});
