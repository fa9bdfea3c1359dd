/**
 * Write errors on the data directory: the master dataset's split folder stops being writable (it
 * is replaced by a file, which fails even for root). Batch ingest reports the error (GET
 * /api/lambda, batch runs fail with it), keeps the events it read, and nothing else stops; once the
 * folder is back, ingest writes them out exactly once and batch runs succeed again.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, type YsbEvent } from '../kernel/events/ysb-event.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import { catchUpRange, ref, T0 } from '../test-support/kappa-harness.js';
import { cellKey, recount, verdicts } from '../test-support/recount.js';
import { waitUntil } from '../kernel/util/wait-until.js';

describe('write errors on the data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-write-errors-'));
  let lab: Lab;
  afterAll(async () => {
    await lab?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('batch ingest reports the error, loses nothing, and recovers when the folder is writable again', async () => {
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          generator: { rate: 0 },
          batch: { intervalMs: 0, ingestIntervalMs: 200 },
          speed: { flushIntervalMs: 100 },
          kappa: { checkpointIntervalMs: 100 },
        },
      }),
    );
    const gen = new YsbGenerator(ref, { seed: 41, mode: 'catch-up', rate: 0, startTime: T0 });
    const events: YsbEvent[] = [];
    const append = async (n: number): Promise<void> => {
      const chunk = gen.take(n).filter((r) => r.event);
      await lab.services.log.append(
        AD_EVENTS_TOPIC,
        chunk.map((r) => ({ key: r.event!.ad_id, value: r.value })),
      );
      events.push(...chunk.map((r) => r.event!));
    };
    const lambda = async (): Promise<{ batch: { ingestError: string | null; master: { events: number } } }> =>
      (await lab.app.inject({ url: '/api/lambda' })).json();

    await append(20_000);
    await waitUntil(async () => (await lambda()).batch.master.events === 20_000, {
      what: 'the first split',
      timeoutMs: 30_000,
      intervalMs: 50,
    });

    // The splits folder becomes a file: every write below it fails (ENOTDIR), whoever we are.
    const splits = join(dir, 'master', 'splits');
    renameSync(splits, `${splits}.away`);
    writeFileSync(splits, 'not a directory');
    await append(20_000);
    await waitUntil(async () => (await lambda()).batch.ingestError !== null, {
      what: 'ingest reports the write error',
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    const broken = await lambda();
    expect(broken.batch.ingestError).toMatch(/ENOTDIR|not a directory|IO Error|No such file/i);
    expect(broken.batch.master.events).toBe(20_000);
    const failed = await lab.services.batch.waitForRun(lab.services.batch.requestRun('test').id, 60_000);
    expect(failed.state).toBe('failed');
    // Everything else goes on: the API answers, Kappa and the speed layer count the new events.
    expect((await lab.app.inject({ url: '/api/health' })).statusCode).toBe(200);
    await lab.services.kappa.sync(1, 30_000);
    await lab.services.speed.sync(30_000);

    rmSync(splits);
    renameSync(`${splits}.away`, splits);
    await append(10_000);
    await waitUntil(
      async () => {
        const l = await lambda();
        return l.batch.ingestError === null && l.batch.master.events === events.length;
      },
      { what: 'ingest recovered', timeoutMs: 30_000, intervalMs: 50 },
    );
    const run = await lab.services.batch.waitForRun(lab.services.batch.requestRun('test').id, 60_000);
    expect(run.state, run.error).toBe('completed');
    expect(lab.services.batch.master.totalEvents()).toBe(events.length); // each event once

    const truth = recount(events, ref);
    const { from } = catchUpRange(events.length);
    const answer = (
      await lab.app.inject({ url: `/api/views?arch=batch&metric=views&from=${from}&to=${run.boundary}` })
    ).json() as { windows: Array<{ campaign_id: string; window_start: number; value: number }> };
    const v = verdicts(
      new Map(answer.windows.map((w) => [cellKey(w.campaign_id, w.window_start), w.value])),
      truth.views,
      from,
      run.boundary!,
    );
    expect(v, v.examples.join('\n')).toMatchObject({ differ: 0, missing: 0, extra: 0 });
    expect(v.correct).toBeGreaterThan(0);
  }, 120_000);
});
