/**
 * Bounded under abuse (issue 14, items 5 and 6), on the real CLI (`node bin/lklab.js start`, built
 * by `npm run build`): 50 scenario runs POSTed at once get at most 1 live + 1 fast running, the rest
 * queued with a position or 429 with Retry-After; DELETE cancels; afterwards /api/health answers in
 * under 100 ms and the process's RSS stays under the bound documented in docs/limits.md; SIGTERM
 * with runs in flight exits within 10 s.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli, type CliProcess } from '../test-support/cli-process.js';

/** docs/limits.md: RSS of `lklab start` with its scenario-run slots busy. */
const RSS_BOUND_MB = 800;
const HEALTH_BOUND_MS = 100;
const SHUTDOWN_BOUND_MS = 10_000;

const dirs: string[] = [];
const running: CliProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop('SIGKILL', 5_000).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Run = { runId: string; mode: 'live' | 'fast'; state: string; position?: number };

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

async function healthMs(url: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(`${url}/api/health`);
  await res.text();
  expect(res.status).toBe(200);
  return performance.now() - t;
}

/** The limit holds: at most one live and one fast run running, the queued ones numbered 1..n per mode. */
function checkBounded(runs: Run[]): void {
  for (const mode of ['live', 'fast'] as const) {
    const mine = runs.filter((r) => r.mode === mode);
    expect(mine.filter((r) => r.state === 'running').length, `${mode} runs running`).toBeLessThanOrEqual(1);
    const queued = mine.filter((r) => r.state === 'queued');
    expect(queued.map((r) => r.position).sort((a, b) => a! - b!)).toEqual(queued.map((_, i) => i + 1));
  }
  expect(runs.filter((r) => r.state === 'queued').length).toBeLessThanOrEqual(8);
}

describe('bounded under abuse (`lklab start`, embedded, real process)', () => {
  it('50 scenario runs: 1 live + 1 fast run, the rest queued or 429; cancel; health < 100 ms and RSS bounded; SIGTERM exits within 10 s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkl-abuse-'));
    dirs.push(dir);
    const lab = spawnCli(['start', '--port', '0', '--data-dir', join(dir, 'data'), '--rate', '1000'], {
      KAFKA_BROKERS: undefined,
      REDIS_URL: undefined,
      LKLAB_CONFIG: undefined,
      LKLAB_TOKEN: undefined,
    });
    running.push(lab);
    const url = (await lab.waitForOutput(/running at (http:\/\/\S+)/, 60_000))[1]!;
    const pid = lab.proc.pid!;
    const rssBefore = rssMb(pid);

    const scenarios = (await (await fetch(`${url}/api/scenarios`)).json()) as Array<{
      id: string;
      needsInfrastructure: boolean;
    }>;
    const ids = scenarios.filter((s) => !s.needsInfrastructure).map((s) => s.id);
    expect(ids.length).toBeGreaterThan(3);

    // 50 at once, alternating live and fast, over every scenario.
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await fetch(`${url}/api/scenarios/${ids[i % ids.length]}/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ fast: i % 2 === 1 }),
        });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
      }),
    );
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.body as Run);
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted.length + refused.length, JSON.stringify(answers.map((a) => a.status))).toBe(50);
    // 1 live + 1 fast slot and 8 places in the queue.
    expect(accepted.length).toBe(10);
    expect(accepted.filter((r) => r.state === 'running').length).toBe(2);
    expect(accepted.filter((r) => r.state === 'queued').length).toBe(8);
    for (const r of refused) {
      expect((r.body as { error: { code: string } }).error.code).toBe('LKL_ERR_SCENARIO_QUEUE_FULL');
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(5);
    }

    // The limit holds while fast runs finish and queued ones take their slot.
    let runs: Run[] = [];
    for (let i = 0; i < 10; i++) {
      runs = (await (await fetch(`${url}/api/scenarios/runs`)).json()) as Run[];
      checkBounded(runs);
      await new Promise((r) => setTimeout(r, 500));
    }

    // Cancel a queued live run and the running live run.
    const queuedLive = runs.find((r) => r.mode === 'live' && r.state === 'queued')!;
    const runningLive = runs.find((r) => r.mode === 'live' && r.state === 'running')!;
    expect(queuedLive, 'a live run is queued').toBeDefined();
    expect(runningLive, 'a live run is running').toBeDefined();
    const cli = spawnCli(['scenario', 'cancel', queuedLive.runId, '--url', url]);
    expect((await cli.exited).code, cli.stderr()).toBe(0);
    expect(cli.stdout()).toContain(`${queuedLive.runId}: cancelled`);
    const res = await fetch(`${url}/api/scenarios/runs/${runningLive.runId}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Run).state).toBe('cancelled');
    const list = spawnCli(['scenario', 'runs', '--url', url]);
    expect((await list.exited).code, list.stderr()).toBe(0);
    expect(list.stdout()).toMatch(/queued #1/);
    runs = (await (await fetch(`${url}/api/scenarios/runs`)).json()) as Run[];
    checkBounded(runs);
    expect(runs.filter((r) => r.state === 'cancelled').map((r) => r.runId)).toEqual(
      expect.arrayContaining([queuedLive.runId, runningLive.runId]),
    );
    // The freed live slot went to the next queued live run.
    expect(runs.filter((r) => r.mode === 'live' && r.state === 'running')).toHaveLength(1);

    // Responsive and bounded with both slots busy.
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      latencies.push(await healthMs(url));
      await new Promise((r) => setTimeout(r, 100));
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[5]!;
    const rss = rssMb(pid);
    console.log(
      `abuse: RSS ${Math.round(rssBefore)} MB before, ${Math.round(rss)} MB with the run slots busy (bound ${RSS_BOUND_MB} MB); /api/health median ${median.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
    );
    expect(median).toBeLessThan(HEALTH_BOUND_MS);
    expect(rss).toBeLessThan(RSS_BOUND_MB);

    // SIGTERM with runs in flight (one live, one fast running, others queued).
    runs = (await (await fetch(`${url}/api/scenarios/runs`)).json()) as Run[];
    expect(runs.filter((r) => r.state === 'running').length).toBeGreaterThanOrEqual(1);
    const t = performance.now();
    const exit = await lab.stop('SIGTERM', 30_000);
    const exitMs = performance.now() - t;
    console.log(`abuse: SIGTERM → exit ${JSON.stringify(exit)} in ${Math.round(exitMs)} ms`);
    expect(exitMs).toBeLessThan(SHUTDOWN_BOUND_MS);
    expect(exit, lab.stderr()).toEqual({ code: 0, signal: null });
    expect(lab.stdout()).toContain('stopped.');
  }, 180_000);

  it('SIGTERM on a headless `lklab scenario run` closes its lab, removes its data and exits 1 within 10 s', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lkl-abuse-tmp-'));
    dirs.push(tmp);
    const run = spawnCli(['scenario', 'run', 'ysb-baseline'], {
      TMPDIR: tmp,
      KAFKA_BROKERS: undefined,
      REDIS_URL: undefined,
      LKLAB_CONFIG: undefined,
    });
    running.push(run);
    await run.waitForOutput(/\[\d+(\.\d+)? s\]/, 60_000); // the live run is under way
    expect(readdirSync(tmp).filter((d) => d.startsWith('lklab-scenario-'))).toHaveLength(1);
    const t = performance.now();
    const exit = await run.stop('SIGTERM', 30_000);
    const exitMs = performance.now() - t;
    console.log(`abuse: scenario run SIGTERM → exit ${JSON.stringify(exit)} in ${Math.round(exitMs)} ms`);
    expect(exitMs).toBeLessThan(SHUTDOWN_BOUND_MS);
    expect(exit, run.stderr()).toEqual({ code: 1, signal: null });
    expect(run.stdout()).toContain('interrupted: no verdict.');
    expect(
      readdirSync(tmp).filter((d) => d.startsWith('lklab-scenario-')),
      'its data is removed',
    ).toEqual([]);
  }, 90_000);
});
