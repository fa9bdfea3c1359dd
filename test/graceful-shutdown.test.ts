/**
 * Graceful shutdown of the real CLI (`node bin/lklab.js`, built by `npm run build`): SIGTERM or
 * SIGINT makes every component flush, commit and close, and exit 0. Flush and checkpoint intervals
 * are set to a minute, so whatever is committed after the exit was committed by the shutdown.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventLog } from '../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../kernel/adapters/store-factory.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { MasterDataset } from '../batch-layer/index.js';
import { offsetsNamespace } from '../kappa-reprocessor/index.js';
import { describeDistributed } from '../test-support/infra.js';
import { spawnCli, type CliProcess } from '../test-support/cli-process.js';
import { cleanupNamespace } from '../test-support/namespace-cleanup.js';
import { waitUntil } from '../kernel/util/wait-until.js';
import { alignedTick } from '../kernel/clock/every.js';

const dirs: string[] = [];
const running: CliProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop('SIGKILL', 5_000).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Settings that keep everything in memory until the shutdown (nothing is flushed on a timer). */
const SLOW_FLUSH = {
  speed: { flushIntervalMs: 60_000 },
  kappa: { checkpointIntervalMs: 600_000 },
  batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
};

/**
 * The speed layer's flush ticks lie on whole minutes of the epoch (+ the tick phase), not a minute
 * after start: a run that crosses one flushes before the signal. Start right after a tick when the
 * next one is nearer than the run needs.
 */
async function awayFromFlushTick(runMs: number): Promise<void> {
  const wait = alignedTick(Date.now(), SLOW_FLUSH.speed.flushIntervalMs) - Date.now();
  if (wait < runMs) await new Promise((r) => setTimeout(r, wait + 250));
}

async function json<T = Record<string, unknown>>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

type Offsets = Array<{ partition: number; end: number }>;
const sumEnd = (o: Offsets): number => o.reduce((s, p) => s + p.end, 0);

describe('graceful shutdown of `lklab start` (embedded, real process)', () => {
  it('SIGTERM flushes the speed layer, checkpoints Kappa, writes the batch split, closes the log, exits 0; a restart finds it all and stops on SIGINT', async () => {
    const dir = tempDir('lkl-shutdown-');
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'lab.json');
    writeFileSync(configFile, JSON.stringify({ ...SLOW_FLUSH, generator: { rate: 4000 } }));

    const embedded = { KAFKA_BROKERS: undefined, REDIS_URL: undefined, LKLAB_CONFIG: undefined };
    await awayFromFlushTick(40_000);
    const lab = spawnCli(['start', '--port', '0', '--data-dir', dataDir, '--config', configFile], embedded);
    running.push(lab);
    const url = (await lab.waitForOutput(/running at (http:\/\/\S+)/, 60_000))[1]!;
    await waitUntil(
      async () => {
        const s = await json<{ generator: { produced: number } }>(`${url}/api/status`);
        return s.generator.produced >= 4000;
      },
      { what: 'the generator appended events', timeoutMs: 30_000, intervalMs: 100 },
    );
    const gen = await json<{ produced: number }>(`${url}/api/generator`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rate: 0 }),
    });
    const produced = gen.produced;
    // Every layer has read everything, and (minute-long intervals) committed none of it yet.
    await waitUntil(
      async () => {
        const lambda = await json<{ speed: { processed: number } }>(`${url}/api/lambda`);
        const kappa = await json<{ jobs: Array<{ id: number; runner?: { processed: number } }> }>(
          `${url}/api/kappa/jobs`,
        );
        return (
          lambda.speed.processed === produced &&
          kappa.jobs.find((j) => j.id === 1)?.runner?.processed === produced
        );
      },
      { what: 'speed and Kappa processed every event', timeoutMs: 30_000, intervalMs: 100 },
    );
    await new Promise((r) => setTimeout(r, 1500)); // batch ingest reads continuously: let it reach the end
    const before = await json<{
      groups: Array<{ group: string; totalLag: number }>;
    }>(`${url}/api/status`);
    const speedLagBefore = before.groups.find((g) => g.group === 'lklab-speed')?.totalLag ?? produced;
    expect(speedLagBefore, 'nothing flushed before the signal').toBe(produced);

    const exit = await lab.stop('SIGTERM', 30_000);
    expect(exit, lab.stderr()).toEqual({ code: 0, signal: null });
    expect(lab.stdout()).toContain('SIGTERM: stopping');
    expect(lab.stdout()).toContain('stopped.');
    expect(lab.stderr()).toBe('');

    // Offline, from the files the process left.
    const config = loadConfig({ env: {}, overrides: { dataDir, ...SLOW_FLUSH } });
    const log = await createEventLog(config, systemClock);
    const ends = await log.offsets(AD_EVENTS_TOPIC);
    expect(sumEnd(ends)).toBe(produced);
    const speedCommitted = await log.committedOffsets('lklab-speed', AD_EVENTS_TOPIC);
    expect(speedCommitted.map((c) => c.offset)).toEqual(ends.map((e) => e.end));
    await log.close();
    const store = await createRealtimeStore(config, systemClock);
    const kappaOffsets = await store.readOffsets(offsetsNamespace(1));
    expect(ends.map((e) => kappaOffsets[e.partition])).toEqual(ends.map((e) => e.end));
    await store.close();
    const master = new MasterDataset(dataDir, AD_EVENTS_TOPIC).snapshot;
    expect(ends.map((e) => master.offsets[String(e.partition)])).toEqual(ends.map((e) => e.end));
    expect(master.splits.reduce((s, x) => s + x.events, 0)).toBe(produced);

    // A restart resumes from there (nothing to re-read) and stops on SIGINT as cleanly.
    const again = spawnCli(
      ['start', '--port', '0', '--data-dir', dataDir, '--config', configFile, '--rate', '0'],
      embedded,
    );
    running.push(again);
    const url2 = (await again.waitForOutput(/running at (http:\/\/\S+)/, 60_000))[1]!;
    const ready = await fetch(`${url2}/api/ready`);
    expect(ready.status).toBe(200);
    const status = await json<{
      groups: Array<{ group: string; totalLag: number }>;
      topics: Array<{ name: string; end: number }>;
    }>(`${url2}/api/status`);
    expect(status.topics.find((t) => t.name === AD_EVENTS_TOPIC)?.end).toBe(produced);
    expect(status.groups.find((g) => g.group === 'lklab-speed')?.totalLag).toBe(0);
    const lambda = await json<{ batch: { master: { events: number } } }>(`${url2}/api/lambda`);
    expect(lambda.batch.master.events).toBe(produced);
    expect(await again.stop('SIGINT', 30_000)).toEqual({ code: 0, signal: null });
    expect(again.stdout()).toContain('SIGINT: stopping');
  }, 180_000);
});

describeDistributed(
  'graceful shutdown of every distributed component (Kafka + Redis, real processes)',
  () => {
    it('serve, produce, speed-layer, kappa-worker and batch-worker each exit 0 on SIGTERM with their state committed', async () => {
      const dir = tempDir('lkl-shutdown-dist-');
      const env = {
        LKLAB_NAMESPACE: `shutdown${process.pid}${Date.now() % 100_000}`,
        LKLAB_DATA_DIR: join(dir, 'data'),
        LKLAB_CONFIG: join(dir, 'lab.json'),
      };
      writeFileSync(
        env.LKLAB_CONFIG,
        JSON.stringify({
          batch: { intervalMs: 0, ingestIntervalMs: 1_000 },
          kappa: { checkpointIntervalMs: 200 },
        }),
      );
      const serve = spawnCli(['serve', '--port', '0'], env);
      running.push(serve);
      const url = (await serve.waitForOutput(/serving at (http:\/\/\S+)/, 90_000))[1]!;
      const parts = {
        speed: spawnCli(['speed-layer'], env),
        kappa: spawnCli(['kappa-worker'], env),
        batch: spawnCli(['batch-worker'], env),
        produce: spawnCli(['produce', '--rate', '3000'], env),
      };
      running.push(...Object.values(parts));
      await parts.speed.waitForOutput(/lklab speed-layer: running/, 90_000);
      await parts.kappa.waitForOutput(/following the Kappa jobs/, 90_000);
      await parts.batch.waitForOutput(/lklab batch-worker: taking/, 90_000);
      await parts.produce.waitForOutput(/lklab produce: running/, 90_000);
      // Secrets stay out of the banners even when the URL has none: the format is what is checked.
      expect(parts.speed.stdout()).toMatch(/Redis redis:\/\/[^ ]+\)/);

      type Status = {
        topics: Array<{ name: string; end: number }>;
        groups: Array<{ group: string; totalLag: number }>;
      };
      const end = async (): Promise<number> =>
        (await json<Status>(`${url}/api/status`)).topics.find((t) => t.name === AD_EVENTS_TOPIC)?.end ?? 0;
      await waitUntil(async () => (await end()) >= 3_000, {
        what: 'produce appended 3,000 events',
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      expect(await parts.produce.stop('SIGTERM', 30_000)).toEqual({ code: 0, signal: null });
      expect(parts.produce.stdout()).toContain('SIGTERM: stopping the produce');
      const total = await end();
      await new Promise((r) => setTimeout(r, 500));
      expect(await end(), 'the producer appends nothing after its exit').toBe(total);

      await waitUntil(
        async () => {
          const s = await json<Status>(`${url}/api/status`);
          const lag = (g: string): number | undefined => s.groups.find((x) => x.group === g)?.totalLag;
          const lambda = await json<{ batch: { master: { events: number } } }>(`${url}/api/lambda`);
          return (
            lag('lklab-speed') === 0 && lag('lklab-kappa-v1') === 0 && lambda.batch.master.events === total
          );
        },
        { what: 'the speed layer, Kappa and batch ingest caught up', timeoutMs: 90_000, intervalMs: 100 },
      );

      for (const [name, p] of [
        ['speed-layer', parts.speed],
        ['kappa-worker', parts.kappa],
        ['batch worker', parts.batch],
        ['serve', serve],
      ] as const) {
        const exit = await p.stop('SIGTERM', 60_000);
        expect(exit, `${name}: ${p.stderr()}`).toEqual({ code: 0, signal: null });
        expect(p.stdout(), name).toMatch(/SIGTERM: (stopping|checkpointing)/);
      }

      // What the processes left behind, read from Kafka, Redis and the data directory.
      const config = loadConfig({ env: { ...process.env, ...env } });
      const log = await createEventLog(config, systemClock);
      const store = await createRealtimeStore(config, systemClock);
      try {
        const ends = await log.offsets(AD_EVENTS_TOPIC);
        expect(sumEnd(ends)).toBe(total);
        const speed = await log.committedOffsets('lklab-speed', AD_EVENTS_TOPIC);
        expect(speed.map((c) => c.offset ?? 0)).toEqual(ends.map((e) => e.end));
        const kappa = await store.readOffsets(offsetsNamespace(1));
        expect(ends.map((e) => kappa[e.partition] ?? 0)).toEqual(ends.map((e) => e.end));
        const master = new MasterDataset(config.dataDir, AD_EVENTS_TOPIC).snapshot;
        expect(ends.map((e) => master.offsets[String(e.partition)] ?? 0)).toEqual(ends.map((e) => e.end));
      } finally {
        await store.close();
        await log.close();
        await cleanupNamespace(config).catch(() => undefined); // the shared Kafka and Redis keep nothing
      }
    }, 300_000);
  },
);

describe('exposing the lab (real process)', () => {
  const embedded = {
    KAFKA_BROKERS: undefined,
    REDIS_URL: undefined,
    LKLAB_CONFIG: undefined,
    LKLAB_TOKEN: undefined,
  };

  it('refuses to start bound to 0.0.0.0 without a token, at once, naming the setting and the fix', async () => {
    const dataDir = join(tempDir('lkl-bind-'), 'data');
    const lab = spawnCli(['start', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir], embedded);
    running.push(lab);
    expect(await lab.stop('SIGCONT', 30_000)).toEqual({ code: 1, signal: null }); // SIGCONT: a no-op signal
    expect(lab.stderr()).toContain('LKL_ERR_CONFIG_UNSAFE_BIND');
    expect(lab.stderr()).toContain('server.token');
    expect(lab.stderr()).toContain('LKLAB_TOKEN');
    expect(lab.stdout()).not.toContain('running at');
  }, 60_000);

  it('with LKLAB_TOKEN it binds 0.0.0.0; the CLI sends the token, a client without it gets 401', async () => {
    const token = 'cli-token-0123456789abcdef';
    const dataDir = join(tempDir('lkl-expose-'), 'data');
    const lab = spawnCli(
      ['start', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir, '--rate', '0'],
      {
        ...embedded,
        LKLAB_TOKEN: token,
      },
    );
    running.push(lab);
    const port = (await lab.waitForOutput(/running at http:\/\/[^:]+:(\d+)/, 60_000))[1]!;
    const url = `http://127.0.0.1:${port}`;
    expect(lab.stdout()).not.toContain(token);
    expect((await fetch(`${url}/api/lambda/batch-runs`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${url}/api/health`)).status).toBe(200);

    const withToken = spawnCli(['batch', 'run', '--url', url], { ...embedded, LKLAB_TOKEN: token });
    const ok = await withToken.exited;
    const without = spawnCli(['batch', 'run', '--url', url], embedded);
    const refused = await without.exited;
    expect(ok.code, withToken.stderr()).toBe(0);
    expect(refused.code).toBe(1);
    expect(without.stderr()).toContain('401');
    expect(await lab.stop('SIGTERM', 30_000)).toEqual({ code: 0, signal: null });
  }, 90_000);
});
