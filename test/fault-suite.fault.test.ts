/**
 * The fault suite on real processes: the all-in-one lab (`node bin/lklab.js start`, embedded) is
 * killed -9 at random points while it ingests, and restarted on the same data directory, over many
 * rounds. One kill stops the Kappa job, batch ingest and the speed layer each somewhere in its
 * cycle (flush and checkpoint intervals are short, so kills land between a flush and its commit).
 * Afterwards every acknowledged event is checked against an independent recount:
 *   - the log holds every acknowledged event once;
 *   - Kappa and the batch layer lose nothing and duplicate nothing (exactly-once);
 *   - the speed layer loses nothing; its duplicates are its documented at-least-once ones.
 *
 * Profiles (docs/faults.md): LKLAB_FAULT_PROFILE=short (default, CI) or long; LKLAB_FAULT_SEED makes
 * the kill points reproducible. With KAFKA_BROKERS and REDIS_URL, a second part kills single
 * components of the distributed lab.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MasterDataset } from '../batch-layer/index.js';
import { createEventLog } from '../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../kernel/adapters/store-factory.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, type YsbEvent } from '../kernel/events/ysb-event.js';
import { SeededRandom } from '../kernel/util/random.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import { spawnCli, type CliProcess } from '../test-support/cli-process.js';
import { describeDistributed } from '../test-support/infra.js';
import { cleanupNamespace } from '../test-support/namespace-cleanup.js';
import { catchUpRange, ref, servedKappa, T0 } from '../test-support/kappa-harness.js';
import { cellKey, recount, verdicts } from '../test-support/recount.js';
import { waitUntil } from '../kernel/util/wait-until.js';

const PROFILES = {
  short: { rounds: 8, eventsPerRound: 15_000 },
  long: { rounds: 40, eventsPerRound: 25_000 },
} as const;
const profileName = (process.env.LKLAB_FAULT_PROFILE ?? 'short') as keyof typeof PROFILES;
const PROFILE = PROFILES[profileName] ?? PROFILES.short;
const SEED = Number(process.env.LKLAB_FAULT_SEED ?? Date.now() % 1_000_000);

/** Short cycles, so that kills fall between a flush and its commit, a checkpoint and the next. */
const SETTINGS = {
  generator: { rate: 0 },
  speed: { flushIntervalMs: 100 },
  kappa: { checkpointIntervalMs: 150 },
  batch: { intervalMs: 0, ingestIntervalMs: 300 },
};
const EMBEDDED = {
  KAFKA_BROKERS: undefined,
  REDIS_URL: undefined,
  LKLAB_CONFIG: undefined,
  LKLAB_TOKEN: undefined,
};

const dir = mkdtempSync(join(tmpdir(), 'lkl-fault-suite-'));
const dataDir = join(dir, 'data');
const configFile = join(dir, 'lab.json');
writeFileSync(configFile, JSON.stringify(SETTINGS));
let lab: CliProcess | undefined;
afterAll(async () => {
  await lab?.stop('SIGKILL', 5_000).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function startLab(): Promise<string> {
  lab = spawnCli(['start', '--port', '0', '--data-dir', dataDir, '--config', configFile], EMBEDDED);
  return (await lab.waitForOutput(/running at (http:\/\/\S+)/, 60_000))[1]!;
}

async function api<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url} → ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

interface Answer {
  windows: Array<{ campaign_id: string; window_start: number; value: number }>;
  boundary: number | null;
}

/** A layer's answer over [from, to), in slices (one query covers at most 10,000 windows). */
async function served(
  url: string,
  arch: 'speed' | 'batch',
  from: number,
  to: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const step = 5_000 * 10_000;
  for (let f = from; f < to; f += step) {
    const a = await api<Answer>(
      `${url}/api/views?arch=${arch}&metric=views&from=${f}&to=${Math.min(to, f + step)}`,
    );
    for (const w of a.windows) out.set(cellKey(w.campaign_id, w.window_start), w.value);
  }
  return out;
}

interface Checked {
  lost: number;
  unexpectedDuplicates: number;
  speedDuplicates: number;
  lines: string[];
}

/**
 * Waits until the lab at `url` caught up with `events`, then checks every layer against the
 * recount: the speed layer first (a batch run expires its windows), then one batch run, then, once
 * the processes are stopped (`stopAll`), the log, Kappa's table and the master dataset offline.
 */
async function checkLayers(
  url: string,
  events: YsbEvent[],
  config: ReturnType<typeof loadConfig>,
  stopAll: () => Promise<void>,
): Promise<Checked> {
  const n = events.length;
  const truth = recount(events, ref);
  const { from, to } = catchUpRange(n);
  await waitUntil(
    async () => {
      const status = await api<{ groups: Array<{ group: string; totalLag: number }> }>(`${url}/api/status`);
      const lag = (g: string): number | undefined => status.groups.find((x) => x.group === g)?.totalLag;
      const kappa = await api<{ jobs: Array<{ id: number; lag: number }> }>(`${url}/api/kappa/jobs`);
      const lambda = await api<{ batch: { master: { events: number } } }>(`${url}/api/lambda`);
      return (
        lag('lklab-speed') === 0 &&
        kappa.jobs.find((j) => j.id === 1)?.lag === 0 &&
        lambda.batch.master.events === n
      );
    },
    { what: 'Kappa, the speed layer and batch ingest caught up', timeoutMs: 240_000, intervalMs: 100 },
  );

  // Speed layer (before a batch run expires its windows): nothing lost, duplicates are at-least-once.
  const speed = await served(url, 'speed', from, to);
  let speedLost = 0;
  let speedDuplicates = 0;
  for (const [cell, t] of truth.views) {
    const v = speed.get(cell) ?? 0;
    if (v < t) speedLost += t - v;
    else speedDuplicates += v - t;
  }
  for (const [cell, v] of speed) if (!truth.views.has(cell)) speedDuplicates += v;

  // Batch layer: one run over the master dataset.
  const run = await api<{ id: number }>(`${url}/api/lambda/batch-runs`, { method: 'POST' });
  await waitUntil(
    async () => {
      const r = await api<{ state: string }>(`${url}/api/lambda/batch-runs/${run.id}`);
      return r.state === 'completed' || r.state === 'failed';
    },
    { what: 'the batch run finished', timeoutMs: 240_000, intervalMs: 100 },
  );
  const runRecord = await api<{ state: string; boundary: number; error?: string }>(
    `${url}/api/lambda/batch-runs/${run.id}`,
  );
  expect(runRecord.state, runRecord.error).toBe('completed');
  const batch = verdicts(
    await served(url, 'batch', from, runRecord.boundary),
    truth.views,
    from,
    runRecord.boundary,
  );
  await stopAll();

  // Offline: the log, Kappa's table and counters, the master dataset.
  const log = await createEventLog(config, systemClock);
  const logEvents = (await log.offsets(AD_EVENTS_TOPIC)).reduce((s, p) => s + p.end, 0);
  await log.close();
  const store = await createRealtimeStore(config, systemClock);
  const kappa = verdicts((await servedKappa(store, 'views', from, to)).values, truth.views, from, to);
  const kappaProcessed = Number((await store.getFields('lklab:kappa:v1:meta')).processed);
  await store.close();
  const master = new MasterDataset(config.dataDir, AD_EVENTS_TOPIC).snapshot;
  const masterEvents = master.splits.reduce((s, x) => s + x.events, 0);

  const lost =
    Math.max(0, n - logEvents) + kappa.missing + Math.max(0, n - masterEvents) + batch.missing + speedLost;
  const unexpectedDuplicates =
    Math.max(0, logEvents - n) +
    Math.max(0, kappaProcessed - n) +
    Math.max(0, masterEvents - n) +
    kappa.extra +
    batch.extra;
  expect(logEvents).toBe(n);
  expect(kappaProcessed).toBe(n);
  expect(kappa, kappa.examples.join('\n')).toMatchObject({ differ: 0, missing: 0, extra: 0 });
  expect(kappa.correct).toBe(truth.views.size);
  expect(masterEvents).toBe(n);
  expect(batch, batch.examples.join('\n')).toMatchObject({ differ: 0, missing: 0, extra: 0 });
  expect(batch.correct).toBeGreaterThan(0);
  expect(speedLost).toBe(0);
  return {
    lost,
    unexpectedDuplicates,
    speedDuplicates,
    lines: [
      `  events checked: ${n} (log ${logEvents}, Kappa processed ${kappaProcessed}, master dataset ${masterEvents})`,
      `  cells checked: Kappa ${kappa.correct}/${truth.views.size} correct (differ ${kappa.differ}), batch ${batch.correct} correct below the boundary (differ ${batch.differ}), speed ${speed.size}`,
      `  lost = ${lost}`,
      `  unexpected duplicates = ${unexpectedDuplicates}`,
      `  speed layer at-least-once duplicates (documented, repaired by the next batch run) = ${speedDuplicates}`,
    ],
  };
}

/** Posts one round's events (acknowledged: the kill never lands inside the POST, so the truth is known). */
async function postRound(url: string, gen: YsbGenerator, events: YsbEvent[]): Promise<void> {
  const chunk = gen.take(PROFILE.eventsPerRound).filter((r) => r.event);
  const summary = await api<{ accepted: number; rejected: number }>(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: chunk.map((r) => r.value).join('\n'),
  });
  expect(summary).toMatchObject({ accepted: chunk.length, rejected: 0 });
  events.push(...chunk.map((r) => r.event!));
}

describe(`fault suite, embedded: kill -9 of the running lab at random points (profile ${profileName}, seed ${SEED})`, () => {
  it('loses nothing; Kappa and the batch layer duplicate nothing; the speed layer only at-least-once', async () => {
    const rnd = new SeededRandom(SEED);
    const gen = new YsbGenerator(ref, { seed: SEED, mode: 'catch-up', rate: 0, startTime: T0 });
    const events: YsbEvent[] = [];
    const kills: string[] = [];
    let url = await startLab();
    for (let round = 0; round < PROFILE.rounds; round++) {
      await postRound(url, gen, events);
      // Kill somewhere while the layers work through the chunk (or sit between cycles).
      const delay = Math.floor(rnd.next() * 1_200);
      await new Promise((r) => setTimeout(r, delay));
      lab!.proc.kill('SIGKILL');
      expect((await lab!.exited).signal).toBe('SIGKILL');
      kills.push(`round ${round + 1}: kill -9 of the lab after ${delay} ms`);
      url = await startLab();
    }
    const config = loadConfig({ env: {}, overrides: { dataDir, ...SETTINGS } });
    const checked = await checkLayers(url, events, config, async () => {
      expect(await lab!.stop('SIGTERM', 60_000)).toEqual({ code: 0, signal: null });
      lab = undefined;
    });
    console.log(
      [
        `fault suite, embedded (profile ${profileName}, seed ${SEED}):`,
        `  faults injected: ${kills.length} (kill -9 of the all-in-one lab: Kappa job, batch ingest and speed layer at once)`,
        ...kills.map((k) => `    ${k}`),
        ...checked.lines,
      ].join('\n'),
    );
    expect(checked.lost).toBe(0);
    expect(checked.unexpectedDuplicates).toBe(0);
  }, 900_000);
});

/**
 * The same on Kafka + Redis, one process per component: each fault kills -9 ONE of them — the Kappa
 * job (`kappa-worker`), batch ingest (`serve`, which also holds the Kappa control plane) or the speed
 * layer (`speed-layer`) — and restarts it. A killed Kafka consumer holds its partitions until its
 * session times out (30 s), so this part takes longer per fault.
 */
describeDistributed(
  `fault suite, distributed: kill -9 of single components (profile ${profileName}, seed ${SEED})`,
  () => {
    const ddir = mkdtempSync(join(tmpdir(), 'lkl-fault-dist-'));
    const env = {
      LKLAB_NAMESPACE: `faults${process.pid}${SEED}`,
      LKLAB_DATA_DIR: join(ddir, 'data'),
      LKLAB_CONFIG: join(ddir, 'lab.json'),
      LKLAB_TOKEN: undefined,
    };
    const procs = new Map<string, CliProcess>();
    const config = (): ReturnType<typeof loadConfig> => loadConfig({ env: { ...process.env, ...env } });
    afterAll(async () => {
      for (const p of procs.values()) await p.stop('SIGKILL', 5_000).catch(() => undefined);
      await cleanupNamespace(config()).catch(() => undefined);
      rmSync(ddir, { recursive: true, force: true });
    });

    it('each component recovers; nothing lost, no unexpected duplicates', async () => {
      writeFileSync(env.LKLAB_CONFIG, JSON.stringify({ ...SETTINGS, generator: undefined }));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const COMPONENTS: Record<string, { args: string[]; ready: RegExp }> = {
        serve: { args: ['serve', '--port', String(port), '--local-workers', '2'], ready: /serving at/ },
        'speed-layer': { args: ['speed-layer'], ready: /lklab speed-layer: running/ },
        'kappa-worker': { args: ['kappa-worker'], ready: /following the Kappa jobs/ },
      };
      const start = async (name: string): Promise<void> => {
        const p = spawnCli(COMPONENTS[name]!.args, env);
        procs.set(name, p);
        await p.waitForOutput(COMPONENTS[name]!.ready, 90_000);
      };
      await start('serve');
      await start('speed-layer');
      await start('kappa-worker');

      const rnd = new SeededRandom(SEED);
      const gen = new YsbGenerator(ref, { seed: SEED + 1, mode: 'catch-up', rate: 0, startTime: T0 });
      const events: YsbEvent[] = [];
      const kills: string[] = [];
      // Every component is killed in turn, in an order the seed picks.
      const order = Object.keys(COMPONENTS)
        .map((name) => ({ name, key: rnd.next() }))
        .sort((a, b) => a.key - b.key)
        .map((x) => x.name);
      const rounds = profileName === 'long' ? 9 : 3;
      for (let round = 0; round < rounds; round++) {
        await postRound(url, gen, events);
        const victim = order[round % order.length]!;
        const delay = Math.floor(rnd.next() * 1_500);
        await new Promise((r) => setTimeout(r, delay));
        const p = procs.get(victim)!;
        p.proc.kill('SIGKILL');
        expect((await p.exited).signal).toBe('SIGKILL');
        kills.push(`round ${round + 1}: kill -9 of ${victim} after ${delay} ms`);
        await start(victim);
      }
      const checked = await checkLayers(url, events, config(), async () => {
        for (const [name, p] of procs) {
          expect(await p.stop('SIGTERM', 60_000), `${name}: ${p.stderr()}`).toEqual({
            code: 0,
            signal: null,
          });
        }
        procs.clear();
      });
      console.log(
        [
          `fault suite, distributed (profile ${profileName}, seed ${SEED}):`,
          `  faults injected: ${kills.length} (kill -9 of one component each)`,
          ...kills.map((k) => `    ${k}`),
          ...checked.lines,
        ].join('\n'),
      );
      expect(checked.lost).toBe(0);
      expect(checked.unexpectedDuplicates).toBe(0);
    }, 900_000);
  },
);

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
