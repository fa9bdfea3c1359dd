import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../cli/runtime/lab-runtime.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, WINDOW_MS, windowStart, type YsbEvent } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator, type GeneratedRecord } from '../kernel/workload/ysb-generator.js';
import type {
  DivergenceAnswer,
  MetricsSnapshot,
  CorrectnessFigures,
} from '../measurement/measurement-api.js';
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
