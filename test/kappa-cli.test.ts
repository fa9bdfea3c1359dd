import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../cli/main.js';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { deltaField, windowKey } from '../kappa-reprocessor/state/index.js';
import { appendCatchUp } from '../test-support/kappa-harness.js';

async function cli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    const program = buildProgram();
    program.exitOverride();
    await program.parseAsync(['node', 'lklab', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out.join('\n');
}

describe('lklab kappa (CLI against a running embedded lab)', () => {
  let dir: string;
  let lab: Lab;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-cli-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          server: { port: 0 },
          generator: { rate: 0 },
          batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
          speed: { flushIntervalMs: 60_000 },
          kappa: {
            autoSwitchover: false,
            catchUpDwellMs: 100,
            checkpointIntervalMs: 100,
            replayParallelism: 1,
          },
        },
      }),
    );
    url = await lab.listen();
    await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, 2, 20_000);
    await lab.services.kappa.sync(1, 20_000);
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('jobs, replay, switchover, rollback and abort talk to the API and print what happened', async () => {
    const jobs = await cli('kappa', 'jobs', '--url', url);
    expect(jobs).toContain('active job: 1');
    expect(jobs).toMatch(/\* job 1 {2}live +logic v1 {2}table kappa_v1 {2}group lklab-kappa-v1 {2}lag 0/);
    expect(jobs).toMatch(/p0 +\d+ \/ \d+ +lag 0/);
    expect(jobs).toContain('processed 20000, counted');

    const replay = await cli('kappa', 'replay', '--logic', '2', '--rate', '100000', '--url', url);
    expect(replay).toMatch(
      /^replay job 2 started: logic v2, group lklab-kappa-v2, table kappa_v2, parallelism 1, rate limit 100000 events\/s; snapshot of 20000 events to pass\./,
    );
    await lab.services.kappa.waitForState(2, ['caught-up'], 30_000);
    await lab.services.kappa.sync(2, 30_000);
    await lab.services.measurement.sync(30_000);
    const verified = await cli('kappa', 'verify', '--url', url);
    expect(verified).toContain('verification of job 2 (logic v2) against job 1 (logic v1): passed');
    expect(verified).toMatch(/Σ\|diff\| 0 {2}\[\d+ 0 0 0 0\] {2}vs job 1: Σ\|diff\| 0, unexplained 0/);
    expect(verified).not.toContain('DIFFERS');

    // A wrong N+1 (7 views added to one window of its table through the store) is refused.
    const w = (await lab.services.kappa.verification(2)).windows.at(-1)!.window;
    await lab.services.store.apply({
      sets: [
        {
          key: windowKey(2, w),
          field: deltaField(0, 999_999_999),
          value: JSON.stringify({ t: Date.now(), c: [['c-cli', 7, []]] }),
        },
      ],
    });
    const wrong = await cli('kappa', 'verify', '--job', '2', '--url', url);
    expect(wrong).toContain('against job 1 (logic v1): failed');
    expect(wrong).toMatch(/Σ\|diff\| 7 {2}\[\d+ 0 1 0 0\].*DIFFERS/);
    expect(wrong).toContain('c-cli: truth 0, job 7, job 1 0 (explained 0)');
    await expect(cli('kappa', 'switchover', '--url', url)).rejects.toThrow(
      new RegExp(
        `409: Switchover refused: job 2 \\(logic v2\\) differs from the truth in 1 of the last \\d+ closed windows \\(${new Date(w).toISOString()}`,
      ),
    );
    const forced = await cli('kappa', 'switchover', '--skip-verification', '--url', url);
    expect(forced).toContain('readers now use job 2 (logic v2); previous job 1');
    expect(forced).toContain('verification: failed (skipped with --skip-verification)');
    expect(await cli('kappa', 'rollback', '--url', url)).toContain('readers now use job 1 (logic v1) again.');
    expect(await cli('kappa', 'abort', '2', '--url', url)).toContain(
      'job 2 aborted: table kappa_v2, group lklab-kappa-v2 and its offsets removed.',
    );
    const json = JSON.parse(await cli('kappa', 'jobs', '--json', '--url', url));
    expect(json.jobs.map((j: { id: number; state: string }) => `${j.id}:${j.state}`)).toEqual([
      '2:aborted',
      '1:live',
    ]);
  }, 60_000);

  it('reports API refusals with their code and message', async () => {
    await expect(cli('kappa', 'switchover', '--url', url)).rejects.toThrow(
      /409: There is no replay to switch readers to/,
    );
    await expect(cli('kappa', 'replay', '--logic', '7', '--url', url)).rejects.toThrow(
      /400: Kappa logic v7 does not exist; available: v1, v2, v3 \(modules/,
    );
    await expect(cli('kappa', 'abort', 'x', '--url', url)).rejects.toThrow(/abort takes a job id/);
  });

  it('switchover --mode overlap, then cutover prints the duplicates per window', async () => {
    await expect(cli('kappa', 'switchover', '--mode', 'sideways', '--url', url)).rejects.toThrow(
      /--mode takes one of flip, overlap, gate/,
    );
    const gone = await cli('kappa', 'cutover', '--url', url);
    expect(gone).toContain('last cutover: flip, job 1 → job 2');
    expect(gone).toContain('not counted: job 2 has ended');
    await cli('kappa', 'replay', '--logic', '1', '--url', url);
    await lab.services.kappa.waitForState(3, ['caught-up'], 30_000);
    await lab.services.kappa.sync(3, 30_000);
    await lab.services.measurement.sync?.(30_000);
    const sw = await cli('kappa', 'switchover', '--mode', 'overlap', '--url', url);
    expect(sw).toContain('readers now use job 3 (logic v1)');
    expect(sw).toMatch(/cutover: overlap: until .* readers are served jobs 1 and 3 summed/);
    const out = await cli('kappa', 'cutover', '--url', url);
    expect(out).toContain('last cutover: overlap, job 1 → job 3');
    const m = /lost 0, duplicated (\d+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(out).toMatch(/Z {2}1\+3 +(\d+) +(\d+) +0 +\1/); // a window: jobs 1+3, expected, served, 0 lost, duplicated = expected
    const json = JSON.parse(await cli('kappa', 'cutover', '--json', '--url', url));
    expect(json.last.duplicated).toBe(Number(m![1]));
  }, 60_000);

  it('kappa-worker refuses to run without Kafka and Redis', async () => {
    const saved = { k: process.env.KAFKA_BROKERS, r: process.env.REDIS_URL };
    delete process.env.KAFKA_BROKERS;
    delete process.env.REDIS_URL;
    try {
      await expect(cli('kappa-worker')).rejects.toMatchObject({ code: 'LKL_ERR_KAPPA_WORKER_UNSUPPORTED' });
    } finally {
      if (saved.k) process.env.KAFKA_BROKERS = saved.k;
      if (saved.r) process.env.REDIS_URL = saved.r;
    }
  });
});
