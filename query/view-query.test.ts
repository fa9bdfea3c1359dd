import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { VirtualClock } from '../kernel/clock/virtual-clock.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { BatchRowCache, queryViews, queryViewsJson, type ViewQuery } from './view-query.js';

const T0 = 1_700_000_000_000;

/** Where two long strings first differ, with a little context (undefined when equal). */
function firstDiff(a: string, b: string): string | undefined {
  if (a === b) return undefined;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at ${i} of ${a.length}/${b.length}: ${JSON.stringify(a.slice(Math.max(0, i - 80), i + 80))} vs ${JSON.stringify(b.slice(Math.max(0, i - 80), i + 80))}`;
}

describe('queryViewsJson: the serialized answer, batch rows reused', () => {
  let lab: Lab;
  let dir: string;
  const clock = new VirtualClock(T0);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-view-query-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          generator: { rate: 2000 },
          batch: { intervalMs: 0, ingestIntervalMs: 2000 },
        },
      }),
      { clock },
    );
    for (let i = 0; i < 40; i++) await clock.advance(1000);
    await lab.services.batch.waitForRun(lab.services.batch.requestRun('test').id);
    for (let i = 0; i < 15; i++) await clock.advance(1000);
    await lab.services.generator.setRate(0);
    for (let i = 0; i < 3; i++) await clock.advance(1000);
  }, 120_000);
  afterAll(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is exactly JSON.stringify of queryViews, for every arch, metric and campaign filter, cached or not', async () => {
    const rows = new BatchRowCache();
    const campaign = lab.services.reference.campaigns[3]!;
    const now = clock.now();
    let batchRows = 0;
    let speedRows = 0;
    for (const arch of ['lambda', 'batch', 'speed', 'kappa'] as const) {
      for (const metric of ['views', 'distinct_users'] as const) {
        for (const c of [undefined, campaign]) {
          const q: ViewQuery = { arch, metric, from: T0 - 10_000, to: now + 10_000, campaign: c };
          const expected = JSON.stringify(
            await queryViews(q, lab.services.batch.views, lab.services.store, now),
          );
          // twice: the second answer comes from the cached batch rows
          for (let round = 0; round < 2; round++) {
            expect(
              (await queryViewsJson(q, lab.services.batch.views, lab.services.store, now, rows)).toString(),
            ).toBe(expected);
          }
          const answer = JSON.parse(expected) as { windows: Array<{ source: string }> };
          if (arch === 'lambda') {
            batchRows += answer.windows.filter((w) => w.source === 'batch').length;
            speedRows += answer.windows.filter((w) => w.source === 'speed').length;
          }
        }
      }
    }
    // The lambda answers did cover both sides of the batch boundary.
    expect(batchRows).toBeGreaterThan(0);
    expect(speedRows).toBeGreaterThan(0);
    expect(rows.size).toBeGreaterThan(0);
  });

  it('keeps its cache under the byte budget', async () => {
    const rows = new BatchRowCache(2_000);
    const now = clock.now();
    const q: ViewQuery = { arch: 'batch', metric: 'views', from: T0 - 10_000, to: now };
    const expected = JSON.stringify(await queryViews(q, lab.services.batch.views, lab.services.store, now));
    expect(
      firstDiff(
        (await queryViewsJson(q, lab.services.batch.views, lab.services.store, now, rows)).toString(),
        expected,
      ),
    ).toBeUndefined();
    expect(rows.size).toBeLessThanOrEqual(2_000);
  });

  it('GET /api/views answers the same bytes as the serialized query', async () => {
    const now = clock.now();
    const url = `/api/views?arch=lambda&from=${T0 - 10_000}&to=${now + 10_000}`;
    const res = await lab.app.inject({ url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const expected = await queryViews(
      { arch: 'lambda', metric: 'views', from: T0 - 10_000, to: now + 10_000 },
      lab.services.batch.views,
      lab.services.store,
      now,
    );
    expect(firstDiff(res.body, JSON.stringify(expected))).toBeUndefined();
  });
});
