import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { waitUntil } from '../kernel/util/wait-until.js';

describe('scenario API (inject)', () => {
  let lab: Lab;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-scn-api-'));
    lab = await createLab(loadConfig({ env: {}, overrides: { dataDir: dir, generator: { rate: 0 } } }), {
      roles: { speed: false, kappa: false, generator: false },
    });
  });
  afterAll(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the scenarios', async () => {
    const res = await lab.app.inject({ url: '/api/scenarios' });
    expect(res.statusCode).toBe(200);
    const list = res.json() as Array<{ id: string; expectations: number; needsInfrastructure: boolean }>;
    expect(list.find((s) => s.id === 'hot-key')).toMatchObject({
      expectations: 4,
      needsInfrastructure: false,
    });
  });

  it('runs a scenario fast and reports state, beats and verdicts', { timeout: 120_000 }, async () => {
    const res = await lab.app.inject({
      method: 'POST',
      url: '/api/scenarios/hot-key/runs',
      payload: { fast: true },
    });
    expect(res.statusCode, res.body).toBe(202);
    const { runId, state } = res.json() as { runId: string; state: string };
    expect(state).toBe('running');
    type Run = {
      state: string;
      beats: unknown[];
      verdicts: Array<{ status: string }>;
      passed: boolean | null;
    };
    const run = await waitUntil(
      async () => {
        const r = (await lab.app.inject({ url: `/api/scenarios/runs/${runId}` })).json() as Run;
        return r.state !== 'running' && r;
      },
      { what: `scenario run ${runId} to finish`, timeoutMs: 115_000, intervalMs: 200 },
    );
    expect(run.state).toBe('completed');
    expect(run.beats).toHaveLength(2);
    expect(run.verdicts).toHaveLength(4);
    expect(run.verdicts.every((v) => v.status !== 'pending')).toBe(true);
  });

  it(
    'pauses and resumes a live run: scenario time stands still while paused',
    { timeout: 120_000 },
    async () => {
      const started = performance.now();
      const res = await lab.app.inject({
        method: 'POST',
        url: '/api/scenarios/ysb-baseline/runs',
        payload: { fast: false },
      });
      expect(res.statusCode, res.body).toBe(202);
      const { runId } = res.json() as { runId: string };
      type Run = {
        state: string;
        paused: boolean;
        progress: { t: number };
        timeline: Array<{ name: string }>;
      };
      const get = async (): Promise<Run> =>
        (await lab.app.inject({ url: `/api/scenarios/runs/${runId}` })).json() as Run;
      const pause = await lab.app.inject({ method: 'POST', url: `/api/scenarios/runs/${runId}/pause` });
      expect(pause.statusCode, pause.body).toBe(200);
      expect((pause.json() as Run).paused).toBe(true);
      // pausing twice is harmless
      expect(
        (await lab.app.inject({ method: 'POST', url: `/api/scenarios/runs/${runId}/pause` })).statusCode,
      ).toBe(200);
      let run = await waitUntil(
        async () => {
          const r = await get();
          return r.timeline.some((e) => e.name === 'pause') && r;
        },
        { what: 'the pause on the timeline', timeoutMs: 115_000, intervalMs: 100 },
      );
      expect(run).toMatchObject({ state: 'running', paused: true });
      const list = (await lab.app.inject({ url: '/api/scenarios/runs' })).json() as Array<
        Record<string, unknown>
      >;
      expect(list[0]).toMatchObject({
        runId,
        scenarioId: 'ysb-baseline',
        mode: 'live',
        state: 'running',
        paused: true,
      });

      const PAUSE_MS = 4_000;
      await new Promise((r) => setTimeout(r, PAUSE_MS));
      expect((await get()).progress.t).toBe(0); // no sample came due while paused
      const resume = await lab.app.inject({ method: 'POST', url: `/api/scenarios/runs/${runId}/resume` });
      expect(resume.statusCode, resume.body).toBe(200);
      expect((resume.json() as Run).paused).toBe(false);
      // the sample at 5 s of scenario time comes 5 s after the resume at the earliest: the pause is not counted
      run = await waitUntil(
        async () => {
          const r = await get();
          return r.progress.t >= 5 && r;
        },
        { what: 'the sample at 5 s of scenario time', timeoutMs: 115_000, intervalMs: 100 },
      );
      expect(run.progress.t).toBeLessThan(6);
      expect(performance.now() - started).toBeGreaterThanOrEqual(PAUSE_MS + 5_000);
      expect(run.timeline.map((e) => e.name)).toEqual(expect.arrayContaining(['pause', 'resume']));
    },
  );

  it('refuses to pause a fast or finished run, with a code', { timeout: 120_000 }, async () => {
    const res = await lab.app.inject({
      method: 'POST',
      url: '/api/scenarios/hot-key/runs',
      payload: { fast: true },
    });
    const { runId } = res.json() as { runId: string };
    for (const action of ['pause', 'resume']) {
      const r = await lab.app.inject({ method: 'POST', url: `/api/scenarios/runs/${runId}/${action}` });
      expect(r.statusCode, r.body).toBe(409);
      expect(r.json().error.code).toBe('LKL_ERR_SCENARIO_RUN_NOT_PAUSABLE');
    }
    const unknown = await lab.app.inject({ method: 'POST', url: '/api/scenarios/runs/nope/pause' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('LKL_ERR_SCENARIO_RUN_UNKNOWN');
  });

  it('answers 404 with a code for unknown scenarios and runs', async () => {
    const a = await lab.app.inject({ method: 'POST', url: '/api/scenarios/nope/runs', payload: {} });
    expect(a.statusCode).toBe(404);
    expect(a.json().error.code).toBe('LKL_ERR_SCENARIO_UNKNOWN');
    const b = await lab.app.inject({ url: '/api/scenarios/runs/nope' });
    expect(b.statusCode).toBe(404);
    expect(b.json().error.code).toBe('LKL_ERR_SCENARIO_RUN_UNKNOWN');
  });
});

describe('scenario runs are bounded and can be cancelled (inject)', () => {
  let lab: Lab;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-scn-limits-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: { dataDir: dir, generator: { rate: 0 }, scenarios: { maxQueuedRuns: 2 } },
      }),
      { roles: { speed: false, kappa: false, generator: false } },
    );
  });
  afterAll(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  type Run = { runId: string; state: string; position?: number; finishedAt: string | null };
  const post = (fast = false) =>
    lab.app.inject({ method: 'POST', url: '/api/scenarios/ysb-baseline/runs', payload: { fast } });
  const get = async (runId: string): Promise<Run> =>
    (await lab.app.inject({ url: `/api/scenarios/runs/${runId}` })).json();
  const cancel = (runId: string) => lab.app.inject({ method: 'DELETE', url: `/api/scenarios/runs/${runId}` });

  it(
    'one live run at a time, the next ones queued with a position, then 429 with Retry-After; DELETE cancels queued and running runs',
    { timeout: 120_000 },
    async () => {
      const answers = [await post(), await post(), await post(), await post()];
      expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 429]);
      const [a, b, c] = answers.slice(0, 3).map((x) => x.json() as Run);
      expect([a!.state, b!.state, c!.state]).toEqual(['running', 'queued', 'queued']);
      expect([a!.position, b!.position, c!.position]).toEqual([undefined, 1, 2]);
      const full = answers[3]!;
      expect(full.json().error.code).toBe('LKL_ERR_SCENARIO_QUEUE_FULL');
      expect(Number(full.headers['retry-after'])).toBeGreaterThanOrEqual(5);
      // A fast run has a slot of its own: it is not queued behind the live ones.
      const fast = await post(true);
      expect(fast.statusCode).toBe(202);
      expect((fast.json() as Run).state).toBe('running');

      const gone = await cancel(b!.runId);
      expect(gone.statusCode).toBe(200);
      expect((gone.json() as Run).state).toBe('cancelled');
      expect((await get(c!.runId)).position).toBe(1);

      const stopped = await cancel(a!.runId);
      expect(stopped.statusCode, stopped.body).toBe(200);
      expect((stopped.json() as Run).state).toBe('cancelled');
      expect((stopped.json() as Run).finishedAt).not.toBeNull();
      expect((await cancel(a!.runId)).statusCode, 'cancelling again answers the state').toBe(200);
      // The freed slot goes to the queued run.
      const next = await get(c!.runId);
      expect(next.state).toBe('running');
      expect(next.position).toBeUndefined();
      expect((await cancel(c!.runId)).statusCode).toBe(200);

      const f = await waitUntil(
        async () => {
          const r = await get((fast.json() as Run).runId);
          return r.state !== 'running' && r;
        },
        { what: 'the fast run to finish', timeoutMs: 115_000, intervalMs: 200 },
      );
      expect(f.state).toBe('completed');
      const finished = await cancel(f.runId);
      expect(finished.statusCode).toBe(409);
      expect(finished.json().error.code).toBe('LKL_ERR_SCENARIO_RUN_FINISHED');
      expect((await cancel('nope')).statusCode).toBe(404);
    },
  );
});
