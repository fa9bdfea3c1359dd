/**
 * Fault test: Redis goes away under a running distributed lab and comes back. The test runs its
 * own redis-server (AOF, fsync always) on a free port, so the shared one is never touched, and
 * kills it with SIGKILL while the speed layer flushes and Kappa checkpoints. While it is down,
 * /api/health is degraded and /api/ready answers 503, and events keep arriving in Kafka. After the
 * restart every layer catches up: Kappa and the batch layer exactly once, the speed layer without
 * loss (its duplicates are the documented at-least-once ones).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, type YsbEvent } from '../kernel/events/ysb-event.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import { describeDistributed, kafkaBrokers } from '../test-support/infra.js';
import { catchUpRange, ref, servedKappa, T0 } from '../test-support/kappa-harness.js';
import { cleanupNamespace } from '../test-support/namespace-cleanup.js';
import { cellKey, recount, verdicts } from '../test-support/recount.js';
import { waitUntil } from '../kernel/util/wait-until.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'lkl-redis-outage-'));
let redis: ChildProcess | undefined;
let lab: Lab | undefined;

/** Our own redis-server: durable (AOF, fsync always), on our port, in our directory. */
async function startRedis(port: number): Promise<void> {
  redis = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
    ],
    { stdio: 'ignore' },
  );
  await waitUntil(
    async () => {
      const ok = await new Promise<boolean>((resolve) => {
        const p = spawn('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        p.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        p.on('exit', () => resolve(out.includes('PONG')));
      });
      return ok;
    },
    { what: 'redis-server answers', timeoutMs: 20_000, intervalMs: 200 },
  );
}

async function killRedis(): Promise<void> {
  const r = redis!;
  const exited = new Promise((resolve) => r.once('exit', resolve));
  r.kill('SIGKILL');
  await exited;
}

afterAll(async () => {
  if (lab) {
    const config = lab.services.config;
    await lab.close().catch(() => undefined);
    await cleanupNamespace(config).catch(() => undefined);
  }
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describeDistributed('Redis outage under a running distributed lab', () => {
  it('degraded while Redis is down; afterwards Kappa and batch exact, the speed layer without loss', async () => {
    const port = await freePort();
    await startRedis(port);
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: join(dir, 'data'),
          namespace: `r${randomUUID().slice(0, 8)}`,
          kafka: { brokers: kafkaBrokers()!, clientId: 'lklab-redis-outage-test' },
          redis: { url: `redis://127.0.0.1:${port}` },
          generator: { rate: 0 },
          batch: { intervalMs: 0, ingestIntervalMs: 500, localWorkers: 2 },
          speed: { flushIntervalMs: 100 },
          kappa: { checkpointIntervalMs: 100 },
        },
      }),
    );
    const l = lab;
    const health = async (): Promise<{
      status: string;
      dependencies: Array<{ name: string; state: string; detail: string }>;
    }> => (await l.app.inject({ url: '/api/health' })).json();
    const gen = new YsbGenerator(ref, { seed: 31, mode: 'catch-up', rate: 0, startTime: T0 });
    const events: YsbEvent[] = [];
    const append = async (n: number): Promise<void> => {
      const chunk = gen.take(n).filter((r) => r.event);
      for (let i = 0; i < chunk.length; i += 10_000) {
        await l.services.log.append(
          AD_EVENTS_TOPIC,
          chunk.slice(i, i + 10_000).map((r) => ({ key: r.event!.ad_id, value: r.value })),
        );
      }
      events.push(...chunk.map((r) => r.event!));
    };

    await append(30_000);
    expect((await health()).status).toBe('ok');
    // Kill Redis while the layers are busy with the next chunk.
    await append(30_000);
    await new Promise((r) => setTimeout(r, 150));
    await killRedis();
    let degraded: Awaited<ReturnType<typeof health>> | undefined;
    await waitUntil(
      async () => {
        const h = await health();
        if (h.status === 'degraded') degraded = h;
        return h.status === 'degraded';
      },
      { what: 'degraded health', timeoutMs: 30_000, intervalMs: 200 },
    );
    const store = degraded!.dependencies.find((d) => d.name === 'realtime-store')!;
    expect(store.state).toBe('down');
    expect(store.detail).toContain(`127.0.0.1:${port}`);
    expect((await l.app.inject({ url: '/api/ready' })).statusCode).toBe(503);
    await append(30_000); // Kafka takes events while Redis is down
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await health()).status).toBe('degraded');

    await startRedis(port);
    await waitUntil(async () => (await health()).status === 'ok', {
      what: 'healthy again',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    expect((await l.app.inject({ url: '/api/ready' })).statusCode).toBe(200);
    await append(30_000);

    await l.services.kappa.sync(1, 120_000);
    await l.services.speed.sync(120_000);
    const n = events.length;
    const truth = recount(events, ref);
    const { from, to } = catchUpRange(n);

    const kappa = verdicts(
      (await servedKappa(l.services.store, 'views', from, to)).values,
      truth.views,
      from,
      to,
    );
    expect(kappa, kappa.examples.join('\n')).toMatchObject({
      correct: truth.views.size,
      differ: 0,
      missing: 0,
      extra: 0,
    });
    expect(Number((await l.services.store.getFields('lklab:kappa:v1:meta')).processed)).toBe(n);

    const speedAnswer = await l.app.inject({
      url: `/api/views?arch=speed&metric=views&from=${from}&to=${to}`,
    });
    const speed = new Map<string, number>(
      (
        speedAnswer.json() as { windows: Array<{ campaign_id: string; window_start: number; value: number }> }
      ).windows.map((w) => [cellKey(w.campaign_id, w.window_start), w.value]),
    );
    let lost = 0;
    let duplicates = 0;
    for (const [cell, t] of truth.views) {
      const v = speed.get(cell) ?? 0;
      if (v < t) lost += t - v;
      else duplicates += v - t;
    }
    expect(lost).toBe(0);

    const run = l.services.batch.requestRun('redis-outage-test');
    const done = await l.services.batch.waitForRun(run.id, 180_000);
    expect(done.state, done.error).toBe('completed');
    expect(l.services.batch.master.totalEvents()).toBe(n);
    const batchAnswer = await l.app.inject({
      url: `/api/views?arch=batch&metric=views&from=${from}&to=${done.boundary}`,
    });
    const batch = verdicts(
      new Map(
        (
          batchAnswer.json() as {
            windows: Array<{ campaign_id: string; window_start: number; value: number }>;
          }
        ).windows.map((w) => [cellKey(w.campaign_id, w.window_start), w.value]),
      ),
      truth.views,
      from,
      done.boundary!,
    );
    expect(batch, batch.examples.join('\n')).toMatchObject({ differ: 0, missing: 0, extra: 0 });
    console.log(
      `Redis outage: ${n} events checked; Kappa ${kappa.correct} cells exact, batch ${batch.correct} cells exact, speed lost 0, speed at-least-once duplicates ${duplicates}`,
    );
  }, 400_000);
});
