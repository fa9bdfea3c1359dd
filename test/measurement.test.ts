import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, WINDOW_MS, windowStart, type YsbEvent } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator, type GeneratedRecord } from '../kernel/workload/ysb-generator.js';
import type {
  DivergenceAnswer,
  MetricsSnapshot,
  CorrectnessFigures,
} from '../measurement/measurement-api.js';
import { projectRoot } from '../kernel/util/project-root.js';
import { waitUntil } from '../kernel/util/wait-until.js';
import { cellKey, recount } from '../test-support/recount.js';

const ref = buildReferenceData();
const T0 = 1_700_000_000_000;

const labs: Array<{ lab: Lab; dirs: string[] }> = [];
afterEach(async () => {
  for (const { lab, dirs } of labs.splice(0)) {
    await lab.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

async function newLab(
  over: Record<string, unknown> = {},
  kappa = false,
  extraDirs: string[] = [],
): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-meas-'));
  const lab = await createLab(
    loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        generator: { rate: 0 },
        batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
        speed: { flushIntervalMs: 60_000 },
        kappa: { checkpointIntervalMs: 200 },
        measurement: { allowedLatenessMs: 0, horizonMs: 3_600_000, intervalMs: 60_000 },
        ...over,
      },
    }),
    { roles: { kappa } },
  );
  labs.push({ lab, dirs: [dir, ...extraDirs] });
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

async function metrics(lab: Lab): Promise<MetricsSnapshot> {
  await lab.services.measurement.sync!(60_000);
  const res = await lab.app.inject({ url: '/api/metrics' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as MetricsSnapshot;
}

async function divergence(lab: Lab, from: number, to: number, metric = 'views'): Promise<DivergenceAnswer> {
  const res = await lab.app.inject({ url: `/api/divergence?metric=${metric}&from=${from}&to=${to}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as DivergenceAnswer;
}

const fig = (s: MetricsSnapshot, layer: string, metric = 'views'): CorrectnessFigures =>
  s.correctness.find((c) => c.layer === layer && c.metric === metric)!;

/** closedBefore for a stream whose highest event time is `max`, with measurement.allowedLatenessMs = 0. */
const closedEdge = (max: number): number => windowStart(max - WINDOW_MS) + WINDOW_MS;

const views = (events: YsbEvent[], below: number): number =>
  events.filter(
    (e) =>
      e.event_type === 'view' && ref.campaignOf.has(e.ad_id) && windowStart(Number(e.event_time)) < below,
  ).length;

describe('measurement over a fast-forward Lambda run (embedded lab, API)', () => {
  it('shows exactly the over-count of a speed-layer crash between flush and commit, attributes it, and the batch run repairs it', async () => {
    const lab = await newLab();
    const gen = new YsbGenerator(ref, { seed: 31, mode: 'catch-up', rate: 0, startTime: T0 });
    const first = gen.take(30_000);
    const second = gen.take(30_000);
    const events = [...first, ...second].map((r) => r.event!);
    const truth = recount(events, ref);
    const maxTime = Math.max(...events.map((e) => Number(e.event_time)));
    const closed = closedEdge(maxTime);

    await append(lab, first);
    await lab.services.speed.sync(60_000);
    await append(lab, second);
    await lab.services.speed.waitProcessed(60_000);
    await lab.services.speed.crash('after-flush-before-commit');
    await lab.services.speed.start();
    await lab.services.speed.sync(60_000);

    const s = await metrics(lab);
    expect(s.closedBefore).toBe(closed);
    expect(s.ingested).toBe(60_000);
    expect(s.truth).toMatchObject({ logicVersion: 1, events: 60_000, lag: 0 });
    const closedCells = [...truth.views.keys()].filter((k) => Number(k.split('|')[1]) < closed).length;
    const duplicates = views(
      second.map((r) => r.event!),
      closed,
    );
    const speed = fig(s, 'speed');
    // Every re-read view is counted twice: the over-count is exactly the second chunk's views.
    expect(speed.signedError).toBe(duplicates);
    expect(speed.absError).toBe(duplicates);
    expect(speed.windows).toBe(closedCells);
    expect(speed.missing + speed.extra).toBe(0);
    expect(speed.differ).toBeGreaterThan(0);
    expect(speed.correct + speed.differ).toBe(closedCells);
    expect(fig(s, 'lambda').signedError).toBe(duplicates);
    expect(fig(s, 'batch').windows).toBe(0); // no batch view yet
    // The speed layer's distinct users carry its sketch's error beside σ = 1.04/√m, through the API.
    // YSB's pool of 100 users leaves the HyperLogLog nearly exact (why approximate-distinct deviates):
    // the few cells outside ±1σ are cells of a few users counted one off.
    const sketch = fig(s, 'speed', 'distinct_users').sketch!;
    expect(sketch).toMatchObject({ registers: 16_384, windows: closedCells });
    expect(sketch.within1Sigma).toBeGreaterThan(0.99);
    expect(sketch.standardError).toBeCloseTo(1.04 / 128, 12);
    expect(sketch.recent).toHaveLength(Math.min(closedCells, 200));
    expect(fig(s, 'speed').sketch).toBeUndefined();
    expect(fig(s, 'lambda', 'distinct_users').sketch).toBeUndefined();

    const d = await divergence(lab, T0, closed);
    expect(d.truthLogicVersion).toBe(1);
    for (const c of d.cells) {
      expect(c.truth).toBe(truth.views.get(cellKey(c.campaign_id, c.window_start)));
      if (c.values.speed !== c.truth) expect(c.causes.speed).toBe('at-least-once-duplicate');
      else expect(c.causes.speed).toBeUndefined();
      expect(c.causes.batch).toBe('not-yet-in-batch');
    }
    expect(d.cells.reduce((sum, c) => sum + (c.differences.speed ?? 0), 0)).toBe(duplicates);

    // The batch run recomputes from the master dataset: below its boundary the merged view is exact.
    const run = lab.services.batch.requestRun('test');
    expect((await lab.services.batch.waitForRun(run.id, 120_000)).state).toBe('completed');
    const boundary = lab.services.batch.views.current()!.boundary;
    const after = await metrics(lab);
    const batch = fig(after, 'batch');
    const belowBoundary = [...truth.views.keys()].filter(
      (k) => Number(k.split('|')[1]) < Math.min(boundary, closed),
    ).length;
    expect(batch).toMatchObject({ windows: belowBoundary, correct: belowBoundary, absError: 0 });
    expect(fig(after, 'lambda').signedError).toBe(
      duplicates -
        views(
          second.map((r) => r.event!),
          boundary,
        ),
    );
    const lambdaArch = after.maintenance.find((m) => m.arch === 'lambda')!;
    // The run read all 60,000 events once: 60,000 recomputed per 60,000 ingested.
    expect(lambdaArch.recomputedEvents).toBe(60_000);
    expect(lambdaArch.workAmplification).toBe(1);
    expect(after.batchBoundaryLagMs).toBe(after.at - boundary);
  }, 180_000);
});

describe('divergence API: causes of constructed cases', () => {
  it('a partial deploy (v2 to the batch layer only): the truth follows v2, the speed side diverges with logic-versions-differ', async () => {
    const lab = await newLab();
    const gen = new YsbGenerator(ref, {
      seed: 32,
      mode: 'catch-up',
      rate: 0,
      startTime: T0,
      knobs: { botShare: 0.3 },
    });
    const records = gen.take(30_000);
    const events = records.map((r) => r.event!);
    const v1 = recount(events, ref);
    const v2 = recount(events, ref, { excludeBots: true });
    const closed = closedEdge(Math.max(...events.map((e) => Number(e.event_time))));
    const deploy = await lab.app.inject({
      method: 'POST',
      url: '/api/lambda/deploy',
      payload: { layer: 'batch', logicVersion: 2 },
    });
    expect(deploy.statusCode, deploy.body).toBe(200);
    await append(lab, records);
    await lab.services.speed.sync(60_000);

    // Before any batch run the speed layer answers every window: it still counts bots (v1), so it
    // over-counts each closed window by exactly that window's bot views.
    const s = await metrics(lab);
    expect(s.truth?.logicVersion).toBe(2);
    let botViews = 0;
    for (const [k, n] of v1.views)
      if (Number(k.split('|')[1]) < closed) botViews += n - (v2.views.get(k) ?? 0);
    expect(botViews).toBeGreaterThan(0);
    expect(fig(s, 'speed').signedError).toBe(botViews);
    expect(fig(s, 'speed').truthLogicVersion).toBe(2);

    const d = await divergence(lab, T0, closed);
    expect(d.truthLogicVersion).toBe(2);
    let speedDiverging = 0;
    for (const c of d.cells) {
      const k = cellKey(c.campaign_id, c.window_start);
      expect(c.truth).toBe(v2.views.get(k) ?? null);
      expect(c.truthByLogic?.['1']).toBe(v1.views.get(k));
      expect(c.values.speed).toBe(v1.views.get(k));
      expect(c.causes.batch).toBe(c.truth === null ? undefined : 'not-yet-in-batch');
      if (c.values.speed !== c.truth) {
        speedDiverging++;
        expect(c.causes.speed).toBe('logic-versions-differ');
        expect(c.causes.lambda).toBe('logic-versions-differ');
        expect(c.logicVersions?.speed).toBe(1);
      } else expect(c.causes.speed).toBeUndefined();
    }
    expect(speedDiverging).toBe(
      [...v1.views].filter(([k, n]) => Number(k.split('|')[1]) < closed && n !== v2.views.get(k)).length,
    );

    // distinct users: HyperLogLog estimates of the v1 users, judged against the v2 truth
    const du = await divergence(lab, T0, closed, 'distinct_users');
    for (const c of du.cells) {
      const own = v1.distinct.get(cellKey(c.campaign_id, c.window_start))!.size;
      if (c.values.speed === c.truth) expect(c.causes.speed).toBeUndefined();
      else if (own !== c.truth) expect(c.causes.speed).toBe('logic-versions-differ');
      else expect(c.causes.speed).toBe('hyperloglog-approximation'); // 100 users: within 3 standard errors
    }

    // The batch run (v2) is exact below its boundary: batch and the merged view agree with the truth.
    const run = lab.services.batch.requestRun('test');
    expect((await lab.services.batch.waitForRun(run.id, 120_000)).state).toBe('completed');
    const boundary = lab.services.batch.views.current()!.boundary;
    const after = await metrics(lab);
    const below = [...v2.views.keys()].filter(
      (k) => Number(k.split('|')[1]) < Math.min(boundary, closed),
    ).length;
    expect(fig(after, 'batch')).toMatchObject({ windows: below, correct: below, truthLogicVersion: 2 });
    expect(fig(after, 'lambda')).toMatchObject({ correct: below, differ: 0, missing: 0 });
    const d2 = await divergence(lab, T0, boundary);
    for (const c of d2.cells) {
      expect(c.values.batch).toBe(c.truth);
      expect(c.causes.lambda).toBeUndefined();
    }
  }, 180_000);

  it('a join change (v3): the batch SQL and the truth both move the reorganised ads to their new campaign', async () => {
    const lab = await newLab();
    const gen = new YsbGenerator(ref, {
      seed: 34,
      mode: 'catch-up',
      rate: 0,
      startTime: T0,
      knobs: { botShare: 0.3 },
    });
    const records = gen.take(30_000);
    const events = records.map((r) => r.event!);
    const v2 = recount(events, ref, { excludeBots: true });
    const v3 = recount(events, ref, { excludeBots: true, joinMovedAds: true });
    const closed = closedEdge(Math.max(...events.map((e) => Number(e.event_time))));
    for (const layer of ['batch', 'speed']) {
      const deploy = await lab.app.inject({
        method: 'POST',
        url: '/api/lambda/deploy',
        payload: { layer, logicVersion: 3 },
      });
      expect(deploy.statusCode, deploy.body).toBe(200);
    }
    await append(lab, records);
    await lab.services.speed.sync(60_000);
    // Before any batch run the speed layer (v3) answers every window, with the new join.
    const s0 = await metrics(lab);
    expect(s0.truth?.logicVersion).toBe(3);
    const d0 = await divergence(lab, T0, closed);
    expect(d0.cells.filter((c) => c.truth !== null).length).toBe(
      [...v3.views.keys()].filter((k) => Number(k.split('|')[1]) < closed).length,
    );
    for (const c of d0.cells) {
      const k = cellKey(c.campaign_id, c.window_start);
      expect(c.truth, k).toBe(v3.views.get(k) ?? null);
      expect(c.values.speed, k).toBe(c.truth);
    }
    const run = lab.services.batch.requestRun('test');
    expect((await lab.services.batch.waitForRun(run.id, 120_000)).state).toBe('completed');
    const boundary = lab.services.batch.views.current()!.boundary;
    const s = await metrics(lab);
    expect(s.truth?.logicVersion).toBe(3);
    const below = [...v3.views.keys()].filter((k) => Number(k.split('|')[1]) < Math.min(boundary, closed));
    expect(below.length).toBeGreaterThan(0);
    expect(fig(s, 'batch')).toMatchObject({
      windows: below.length,
      correct: below.length,
      truthLogicVersion: 3,
    });
    const d = await divergence(lab, T0, closed);
    let moved = 0;
    for (const c of d.cells) {
      const k = cellKey(c.campaign_id, c.window_start);
      expect(c.truth, k).toBe(v3.views.get(k) ?? null);
      expect(c.truthByLogic?.['2'] ?? null, k).toBe(v2.views.get(k) ?? null);
      if (c.window_start < boundary) expect(c.values.batch, k).toBe(c.truth);
      if (c.truth !== (v2.views.get(k) ?? null)) moved++;
    }
    // every campaign lost its first ad's views and gained its predecessor's: the cells differ from v2
    expect(moved).toBeGreaterThan(0);
  }, 180_000);

  it('late events: a view arriving after its window was complete is missed by the batch view until the next run', async () => {
    const lab = await newLab({ kappa: { maxOutOfOrderMs: 1000, allowedLatenessMs: 60_000 } });
    const gen = new YsbGenerator(ref, { seed: 33, mode: 'catch-up', rate: 0, startTime: T0 });
    const records = gen.take(20_000); // event time T0 … T0 + 200 s
    await append(lab, records);
    const run = lab.services.batch.requestRun('test');
    expect((await lab.services.batch.waitForRun(run.id, 120_000)).state).toBe('completed');
    const boundary = lab.services.batch.views.current()!.boundary;
    // Two late views for one cell well below the boundary, appended after the run.
    const ad = ref.ads[0]!;
    const w = T0 + 50_000;
    const late = [0, 1].map((i) => ({
      user_id: '00000000-0000-4000-8000-000000000001',
      page_id: '00000000-0000-4000-8000-000000000002',
      ad_id: ad.ad_id,
      ad_type: 'banner',
      event_type: 'view',
      event_time: String(w + 100 + i),
      ip_address: '1.2.3.4',
    }));
    await lab.services.log.append(
      AD_EVENTS_TOPIC,
      late.map((e) => ({ key: e.ad_id, value: JSON.stringify(e) })),
    );
    await lab.services.measurement.sync!(60_000);
    expect(w + WINDOW_MS).toBeLessThan(boundary);
    const d = await divergence(lab, w, w + WINDOW_MS);
    const cell = d.cells.find((c) => c.campaign_id === ad.campaign_id)!;
    const before = recount(
      records.map((r) => r.event!),
      ref,
    ).views.get(cellKey(ad.campaign_id, w))!;
    expect(cell.truth).toBe(before + 2);
    expect(cell.lateViews).toBe(2);
    expect(cell.values.batch).toBe(before);
    expect(cell.causes.batch).toBe('late-event');
    expect(cell.causes.lambda).toBe('late-event');
  }, 120_000);
});

describe('maintenance cost from the code and the running system', () => {
  it('counts the logic files; editing one changes the figures', async () => {
    const src = mkdtempSync(join(tmpdir(), 'lkl-meas-src-'));
    for (const d of ['batch-layer/logic', 'speed-layer/logic', 'kappa-reprocessor/logic'])
      cpSync(join(projectRoot(), d), join(src, d), { recursive: true });
    const lab = await newLab({ measurement: { allowedLatenessMs: 0, sourceDir: src } }, true, [src]);
    const m0 = (await metrics(lab)).maintenance;
    const lambda0 = m0.find((m) => m.arch === 'lambda')!;
    const kappa0 = m0.find((m) => m.arch === 'kappa')!;
    expect(lambda0.implementations).toBe(2);
    expect(kappa0.implementations).toBe(1);
    expect(lambda0.logicFiles.map((f) => f.path).sort()).toEqual([
      'batch-layer/logic/v1.sql',
      'batch-layer/logic/v2.sql',
      'batch-layer/logic/v3.sql',
      'speed-layer/logic/v1.ts',
      'speed-layer/logic/v2.ts',
      'speed-layer/logic/v3.ts',
    ]);
    expect(kappa0.logicFiles.map((f) => f.path).sort()).toEqual([
      'kappa-reprocessor/logic/v1.ts',
      'kappa-reprocessor/logic/v2.ts',
      'kappa-reprocessor/logic/v3.ts',
    ]);
    // SQL: every line that is neither blank nor a -- comment
    const sqlLines = (f: string): number =>
      readFileSync(join(src, f), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.trim().startsWith('--')).length;
    expect(lambda0.logicFiles.find((f) => f.path === 'batch-layer/logic/v1.sql')!.lines).toBe(
      sqlLines('batch-layer/logic/v1.sql'),
    );
    const lines = (m: typeof lambda0, path: string): number =>
      m.logicFiles.find((f) => f.path === path)!.lines;
    expect(lambda0.logicLines).toBe(
      lines(lambda0, 'batch-layer/logic/v1.sql') + lines(lambda0, 'speed-layer/logic/v1.ts'),
    );
    expect(kappa0.logicLines).toBe(lines(kappa0, 'kappa-reprocessor/logic/v1.ts'));
    expect(lambda0.linesChangedV1toV2).toBeGreaterThan(kappa0.linesChangedV1toV2);
    // Per step: v1 → v2 is the field above; v2 → v3 (the join change) costs Lambda more than Kappa.
    expect(lambda0.linesChanged.map((x) => [x.from, x.to])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(lambda0.linesChanged[0]!.lines).toBe(lambda0.linesChangedV1toV2);
    expect(kappa0.linesChanged[0]!.lines).toBe(kappa0.linesChangedV1toV2);
    const step23 = (m: typeof lambda0): number => m.linesChanged.find((x) => x.from === 2)!.lines;
    expect(step23(lambda0)).toBeGreaterThan(step23(kappa0));

    // One more condition in v2.sql: the v1 → v2 change of Lambda grows by exactly one line.
    const v2sql = join(src, 'batch-layer/logic/v2.sql');
    writeFileSync(
      v2sql,
      readFileSync(v2sql, 'utf8').replace('GROUP BY ALL', "  AND e.ad_type <> 'mail'\nGROUP BY ALL"),
    );
    // A comment changes nothing.
    const v1kappa = join(src, 'kappa-reprocessor/logic/v1.ts');
    writeFileSync(v1kappa, `// a note\n${readFileSync(v1kappa, 'utf8')}`);
    const m1 = (await metrics(lab)).maintenance;
    const lambda1 = m1.find((m) => m.arch === 'lambda')!;
    const kappa1 = m1.find((m) => m.arch === 'kappa')!;
    expect(lambda1.linesChangedV1toV2).toBe(lambda0.linesChangedV1toV2 + 1);
    // the line is v2's only: v2 → v3 removes it again
    expect(step23(lambda1)).toBe(step23(lambda0) + 1);
    expect(step23(kappa1)).toBe(step23(kappa0));
    expect(lines(lambda1, 'batch-layer/logic/v2.sql')).toBe(lines(lambda0, 'batch-layer/logic/v2.sql') + 1);
    expect(lambda1.logicLines).toBe(lambda0.logicLines); // v1 runs
    expect(kappa1.logicLines).toBe(kappa0.logicLines);
    expect(kappa1.linesChangedV1toV2).toBe(kappa0.linesChangedV1toV2);
    // A statement in Kappa's v1: its current logic grows and its diff to v2 with it.
    writeFileSync(
      v1kappa,
      readFileSync(v1kappa, 'utf8').replace(
        "if (e.event_type !== 'view')",
        "if (e.ad_id === '') return undefined;\n    if (e.event_type !== 'view')",
      ),
    );
    const kappa2 = (await metrics(lab)).maintenance.find((m) => m.arch === 'kappa')!;
    expect(kappa2.logicLines).toBe(kappa0.logicLines + 1);
    expect(kappa2.linesChangedV1toV2).toBe(kappa0.linesChangedV1toV2 + 1);

    // The running system: components, storage, compute.
    expect(lambda1.runningComponents).toEqual(
      expect.arrayContaining(['speed-layer', 'batch-ingest', 'serving-layer', 'event-log (embedded)']),
    );
    expect(kappa1.runningComponents).toEqual(
      expect.arrayContaining(['kappa-job-1 (live, logic v1)', 'serving-layer']),
    );
    expect(kappa1.runningComponents.some((c) => c.startsWith('speed'))).toBe(false);
  }, 120_000);

  it('storage, compute and work amplification follow the data', async () => {
    const lab = await newLab({}, true);
    const before = (await metrics(lab)).maintenance;
    expect(before.find((m) => m.arch === 'lambda')!.workAmplification).toBeNull();
    const gen = new YsbGenerator(ref, { seed: 34, mode: 'catch-up', rate: 0, startTime: T0 });
    await append(lab, gen.take(40_000));
    await lab.services.speed.sync(60_000);
    await lab.services.kappa.sync(1, 60_000);
    const run = lab.services.batch.requestRun('test');
    expect((await lab.services.batch.waitForRun(run.id, 120_000)).state).toBe('completed');
    // The CPU meter commits a component's time at its next tick (1 s): batch ingest's last batches
    // may have run inside the tick that was still open when the run completed.
    const s = await waitUntil(
      async () => {
        const m = await metrics(lab);
        const l = m.maintenance.find((x) => x.arch === 'lambda')!;
        return (l.computeMs['batch-ingest'] ?? 0) > 0 && m;
      },
      { what: () => 'batch ingest CPU in the metrics', timeoutMs: 10_000, intervalMs: 200 },
    );
    const lambda = s.maintenance.find((m) => m.arch === 'lambda')!;
    const kappa = s.maintenance.find((m) => m.arch === 'kappa')!;
    expect(lambda.workAmplification).toBe(1);
    expect(kappa.workAmplification).toBe(0); // no replay yet
    const part = (m: typeof lambda, name: string): number | null =>
      m.storage!.find((p) => p.part === name)!.bytes;
    expect(part(lambda, 'master dataset')).toBeGreaterThan(0);
    expect(part(lambda, 'batch views')).toBeGreaterThan(0);
    expect(part(lambda, 'realtime views')).toBeGreaterThan(0);
    expect(part(kappa, 'log')).toBeGreaterThan(40_000 * 100); // ~170-byte records
    expect(part(kappa, 'output tables')).toBeGreaterThan(0);
    expect(lambda.storageBytes).toBe(lambda.storage!.reduce((a, p) => a + (p.bytes ?? 0), 0));
    expect(lambda.computeMs['speed-layer']).toBeGreaterThan(0);
    expect(lambda.computeMs['batch-ingest']).toBeGreaterThan(0);
    expect(kappa.computeMs['kappa-job-1']).toBeGreaterThan(0);
    expect(Object.keys(lambda.computeMs).every((c) => !c.startsWith('kappa'))).toBe(true);
    expect(s.computeMs?.['truth-oracle']).toBeGreaterThan(0);
  }, 120_000);
});

describe('Kappa replay under measurement', () => {
  it('the candidate is measured against the intended (v2) truth; work amplification counts the replayed history', async () => {
    const lab = await newLab(
      {
        kappa: {
          checkpointIntervalMs: 200,
          catchUpDwellMs: 400,
          autoSwitchover: false,
          replayParallelism: 2,
        },
      },
      true,
    );
    const gen = new YsbGenerator(ref, {
      seed: 35,
      mode: 'catch-up',
      rate: 0,
      startTime: T0,
      knobs: { botShare: 0.2 },
    });
    const records = gen.take(50_000);
    const events = records.map((r) => r.event!);
    const v2 = recount(events, ref, { excludeBots: true });
    const closed = closedEdge(Math.max(...events.map((e) => Number(e.event_time))));
    await append(lab, records);
    await lab.services.kappa.sync(1, 60_000);
    const res = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 2 },
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = (res.json() as { id: number }).id;
    await lab.services.kappa.waitForState(job, ['caught-up'], 60_000);
    await lab.services.kappa.sync(job, 60_000);
    const s = await metrics(lab);
    expect(s.truth?.logicVersion).toBe(2);
    const closedCells = [...v2.views.keys()].filter((k) => Number(k.split('|')[1]) < closed).length;
    expect(fig(s, 'kappa_candidate')).toMatchObject({
      windows: closedCells,
      correct: closedCells,
      absError: 0,
    });
    expect(fig(s, 'kappa_candidate', 'distinct_users')).toMatchObject({ correct: closedCells });
    // the live job (v1) counts bots: it over-counts by exactly the bots' views
    let bots = 0;
    for (const [k, n] of recount(events, ref).views)
      if (Number(k.split('|')[1]) < closed) bots += n - (v2.views.get(k) ?? 0);
    expect(fig(s, 'kappa').signedError).toBe(bots);
    const kappa = s.maintenance.find((m) => m.arch === 'kappa')!;
    expect(kappa.recomputedEvents).toBe(50_000);
    expect(kappa.workAmplification).toBe(1);
    const d = await divergence(lab, T0, closed);
    for (const c of d.cells) {
      expect(c.causes.kappa_candidate).toBeUndefined();
      if (c.values.kappa !== c.truth) expect(c.causes.kappa).toBe('logic-versions-differ');
    }
    // the replay's work was measured: its consumers or its worker threads (attributed per second)
    expect(
      (kappa.computeMs['kappa-replay'] ?? 0) + (kappa.computeMs[`kappa-job-${job}`] ?? 0),
    ).toBeGreaterThan(0);
    const marks = (await lab.app.inject({ url: '/api/timeline' })).json() as Array<{ kind: string }>;
    expect(marks.map((m) => m.kind)).toEqual(expect.arrayContaining(['replay-start', 'caught-up']));
  }, 180_000);
});

describe('a replay that has not caught up', () => {
  it('its table holds less than the truth: replay-not-caught-up, and the candidate figures show it', async () => {
    const lab = await newLab(
      { kappa: { checkpointIntervalMs: 100, autoSwitchover: false, replayRateLimit: 2_000 } },
      true,
    );
    const gen = new YsbGenerator(ref, { seed: 37, mode: 'catch-up', rate: 0, startTime: T0 });
    const records = gen.take(30_000);
    const closed = closedEdge(Math.max(...records.map((r) => Number(r.event!.event_time))));
    await append(lab, records);
    await lab.services.kappa.sync(1, 60_000);
    const res = await lab.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      payload: { logicVersion: 2 },
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = (res.json() as { id: number }).id;
    // 2,000 events/s: after ~1.5 s most of the 30,000 events are still ahead of the replay
    await new Promise((r) => setTimeout(r, 1500));
    const d = await divergence(lab, T0, closed);
    expect(d.truthLogicVersion).toBe(2);
    let behind = 0;
    for (const c of d.cells) {
      if (c.truth === null) continue;
      if ((c.values.kappa_candidate ?? 0) < c.truth) {
        behind++;
        expect(c.causes.kappa_candidate).toBe('replay-not-caught-up');
      }
    }
    expect(behind).toBeGreaterThan(d.cells.length / 2);
    const s = await metrics(lab);
    const cand = fig(s, 'kappa_candidate');
    expect(cand.missing + cand.differ).toBeGreaterThan(0);
    expect(cand.signedError).toBeLessThanOrEqual(0);
    const kappa = s.maintenance.find((m) => m.arch === 'kappa')!;
    expect(kappa.recomputedEvents).toBeLessThan(30_000);
    expect(kappa.runningComponents).toContain(`kappa-job-${job} (replaying, logic v2)`);
    const abort = await lab.app.inject({ method: 'POST', url: `/api/kappa/replays/${job}/abort` });
    expect(abort.statusCode, abort.body).toBeLessThan(300);
  }, 120_000);
});

describe('metrics API surface', () => {
  it('validates ranges, serves history, timeline, Prometheus text and times /api/views', async () => {
    const lab = await newLab({ measurement: { allowedLatenessMs: 0, intervalMs: 100 } });
    const bad = await lab.app.inject({ url: `/api/divergence?from=${T0}&to=${T0}` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'LKL_ERR_API_BAD_REQUEST' } });
    expect(bad.body).toContain('must be greater than');
    const wide = await lab.app.inject({ url: `/api/divergence?from=${T0}&to=${T0 + 1001 * WINDOW_MS}` });
    expect(wide.statusCode).toBe(400);
    expect(wide.body).toContain('1000 windows');
    const campaign = await lab.app.inject({ url: `/api/divergence?from=${T0}&to=${T0 + 10}&campaign=nope` });
    expect(campaign.statusCode).toBe(400);

    const gen = new YsbGenerator(ref, { seed: 36, mode: 'catch-up', rate: 0, startTime: T0 });
    await append(lab, gen.take(10_000));
    await lab.services.speed.sync(60_000);
    for (let i = 0; i < 3; i++) {
      const v = await lab.app.inject({ url: `/api/views?arch=speed&from=${T0}&to=${T0 + 100_000}` });
      expect(v.statusCode).toBe(200);
    }
    const s = await metrics(lab);
    expect(s.servingLatency.count).toBe(3);
    expect(s.servingLatency.max).toBeGreaterThan(0);
    // final-event latency: every speed cell sampled once (catch-up data: the window ended long ago)
    await new Promise((r) => setTimeout(r, 1500));
    const lat = (await metrics(lab)).latency.find((l) => l.arch === 'lambda')!.finalEvent;
    expect(lat.count).toBeGreaterThan(0);
    expect(lat.p50).toBeGreaterThan(0);

    const prom = await lab.app.inject({ url: '/metrics' });
    expect(prom.statusCode).toBe(200);
    expect(prom.headers['content-type']).toContain('text/plain');
    expect(prom.body).toContain('lklab_events_ingested_total 10000');
    expect(prom.body).toContain('lklab_correctness_windows{layer="speed",metric="views",verdict="correct"}');

    await new Promise((r) => setTimeout(r, 400));
    const h = (await lab.app.inject({ url: '/api/metrics/history' })).json() as { points: MetricsSnapshot[] };
    expect(h.points.length).toBeGreaterThan(0);
    const last = h.points[h.points.length - 1]!.at;
    const since = (await lab.app.inject({ url: `/api/metrics/history?since=${last}` })).json() as {
      points: MetricsSnapshot[];
    };
    expect(since.points.every((p) => p.at >= last)).toBe(true);

    await lab.services.speed.crash('after-flush-before-commit');
    const t = (await lab.app.inject({ url: '/api/timeline' })).json() as Array<{ kind: string; at: number }>;
    expect(t.at(-1)).toMatchObject({ kind: 'crash' });
    const docs = (await lab.app.inject({ url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    for (const p of ['/api/metrics', '/api/metrics/history', '/api/divergence', '/api/timeline', '/metrics'])
      expect(Object.keys(docs.paths)).toContain(p);
  }, 120_000);
});
