import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../cli/runtime/lab-runtime.js';
import { loadConfig } from '../kernel/config/load-config.js';

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
      url: '/api/scenarios/approximate-distinct/runs',
      payload: { fast: true },
    });
    expect(res.statusCode, res.body).toBe(202);
    const { runId, state } = res.json() as { runId: string; state: string };
    expect(state).toBe('running');
    let run: { state: string; beats: unknown[]; verdicts: Array<{ status: string }>; passed: boolean | null };
    for (;;) {
      run = (await lab.app.inject({ url: `/api/scenarios/runs/${runId}` })).json();
      if (run.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(run.state).toBe('completed');
    expect(run.beats).toHaveLength(2);
    expect(run.verdicts).toHaveLength(4);
    expect(run.verdicts.every((v) => v.status !== 'pending')).toBe(true);
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
