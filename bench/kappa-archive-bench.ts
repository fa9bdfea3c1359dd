/**
 * Benchmark of the Kappa+ archive replay against the log replay on the same history (not a test).
 * Per wiring (embedded log + store; Kafka + Redis): a YSB catch-up history of N events whose first
 * 90 % the batch ingest archived in the master dataset (Parquet), the rest only in the log; then
 *   1. a logic-v2 replay from the log (it still holds everything),
 *   2. the log's start dropped below the cut-over (embedded: retention; Kafka: DeleteRecords),
 *   3. a logic-v2 replay from the archive up to the cut-over, then from the log.
 * Each replay is timed from startReplay() until its checkpointed positions reach the log's end,
 * then switched over and its served answers compared with a recount of the events (exact: yes/no).
 * Prints a table and one JSON line.
 *
 *   npm run build && node dist/bench/kappa-archive-bench.js [--events N] [--skip embedded,kafka] [--json FILE]
 *
 * Kafka + Redis need KAFKA_BROKERS and REDIS_URL (npm run stack:up); the topic gets a random
 * namespace and is deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedEventLog } from '../kernel/adapters/embedded-log/embedded-event-log.js';
import { openEmbeddedRealtimeStore } from '../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { createEventLog } from '../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../kernel/adapters/store-factory.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { DEFAULTS, type LabConfig } from '../kernel/config/defaults.js';
import { loadConfig } from '../kernel/config/load-config.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { waitUntil } from '../kernel/util/wait-until.js';
import {
  offsetsNamespace,
  type KappaSettings,
  type ReplaySourceRequest,
} from '../kappa-reprocessor/index.js';

type ReplaySource = Exclude<ReplaySourceRequest, 'auto'>;
import {
  buildArchivedHistory,
  dropLogStart,
  type ArchivedHistory,
} from '../test-support/archived-history.js';
import { catchUpRange, ref, servedKappa, startKappa, type KappaRig } from '../test-support/kappa-harness.js';
import { recount, verdicts, type Truth } from '../test-support/recount.js';
import { flags, usageError, writeJson } from './bench-support.js';

const TOPIC = 'ad-events';
const PARTITIONS = 4;
const KNOBS = { botShare: 0.1 };
const fmt = (n: number): string => Math.round(n).toLocaleString('en');
const say = (m: string): void => console.error(`[bench] ${m}`);

interface Row {
  wiring: 'embedded' | 'Kafka + Redis';
  source: ReplaySource;
  engine: string;
  events: number;
  seconds: number;
  eventsPerSec: number;
  cpuSeconds: number;
  /** Every (campaign, window) served equals the recount: views and distinct users. */
  exact: boolean;
  verdicts: { views: string; distinct: string };
}

interface Wiring {
  name: Row['wiring'];
  log: EventLog;
  store: RealtimeStore;
  settings: KappaSettings;
  threadConfig?: LabConfig;
  /** Lets retention drop each partition's start up to `before`. */
  dropStart(before: ReadonlyMap<number, number>): Promise<void>;
  close(): Promise<void>;
}

function parseArgs(argv: string[]) {
  const f = flags(
    { events: 500_000, skip: '', json: '' },
    {
      about:
        'Kappa+ archive replay against log replay on the same history (events/s and exactness), embedded and on Kafka + Redis. Kafka needs KAFKA_BROKERS and REDIS_URL.',
      flags: {
        events: '<events> history size (the batch ingest archives the first 90 %)',
        skip: '<embedded,kafka> wirings to skip, comma-separated',
        json: '<file> also write the report as JSON to FILE',
      },
    },
    argv,
  );
  if (!(f.events >= 1000)) usageError('--events needs a number ≥ 1000');
  const skip = new Set(f.skip.split(',').filter(Boolean));
  for (const s of skip) if (s !== 'embedded' && s !== 'kafka') usageError(`--skip ${s}: embedded or kafka`);
  return { ...f, skip };
}

const settings = (over: Partial<KappaSettings> = {}): KappaSettings => ({
  ...DEFAULTS.kappa,
  autoSwitchover: false,
  catchUpDwellMs: 300,
  ...over,
});

async function embeddedWiring(dir: string, n: number): Promise<Wiring> {
  const log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock, retentionCheckIntervalMs: 0 });
  // ~310 bytes per event on disk: each partition keeps about its newest 25 % once retention runs.
  const perPartition = Math.ceil((n / PARTITIONS) * 0.25) * 310;
  await log.ensureTopic(TOPIC, {
    partitions: PARTITIONS,
    segmentBytes: Math.max(16_384, Math.floor(perPartition / 8)),
    retentionBytes: perPartition,
  });
  const store = await openEmbeddedRealtimeStore({ clock: systemClock });
  return {
    name: 'embedded',
    log,
    store,
    settings: settings(),
    dropStart: () => log.enforceRetention!(),
    close: async () => {
      await store.close();
      await log.close();
    },
  };
}

async function kafkaWiring(): Promise<Wiring | undefined> {
  const brokers = process.env.KAFKA_BROKERS;
  const redis = process.env.REDIS_URL;
  if (!brokers || !redis) {
    say('Kafka + Redis: skipped (set KAFKA_BROKERS and REDIS_URL; npm run stack:up)');
    return undefined;
  }
  const namespace = `kappa-archive-bench-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    env: { KAFKA_BROKERS: brokers, REDIS_URL: redis, LKLAB_NAMESPACE: namespace },
    overrides: { kappa: settings() },
  }) as LabConfig;
  const log = await createEventLog(config, systemClock);
  const store = await createRealtimeStore(config, systemClock);
  await log.ensureTopic(TOPIC, { partitions: PARTITIONS });
  return {
    name: 'Kafka + Redis',
    log,
    store,
    settings: config.kappa,
    threadConfig: config, // a log replay's consumers run in worker threads, as in the lab
    dropStart: (before) => dropLogStart(brokers.split(','), `${namespace}.${TOPIC}`, before),
    close: async () => {
      await store.deleteByPrefix('');
      for (const id of [1, 2, 3]) await store.deleteOffsets(offsetsNamespace(id));
      await store.close();
      for (const g of ['lklab-kappa-v1', 'lklab-kappa-v2', 'lklab-kappa-v3', 'lklab-batch-ingest'])
        await log.deleteGroup(g).catch(() => undefined);
      await log.deleteTopic(TOPIC).catch(() => undefined);
      await log.deleteTopic(`${TOPIC}-dead-letter`).catch(() => undefined);
      await log.close();
    },
  };
}

/** One replay of logic v2 from `source`: timed until its checkpointed positions reach the log's end, then switched over and checked. */
async function timedReplay(
  w: Wiring,
  rig: KappaRig,
  source: ReplaySource,
  n: number,
  truth: Truth,
): Promise<Row> {
  const ends = await w.log.offsets(TOPIC);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const job = await rig.kappa.startReplay({ logicVersion: 2, source });
  if (job.source !== source) throw new Error(`asked for a replay from the ${source}, got ${job.source}`);
  await waitUntil(
    async () => {
      const stored = await w.store.readOffsets(offsetsNamespace(job.id));
      return ends.every((p) => (stored[p.partition] ?? 0) >= p.end);
    },
    { what: `the ${source} replay to checkpoint every offset`, timeoutMs: 1_800_000, intervalMs: 20 },
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const engine = rig.kappa.runner(job.id)?.status.engine ?? '?';
  await rig.kappa.waitForState(job.id, ['caught-up'], 120_000);
  await rig.kappa.switchover();
  await rig.kappa.sync(job.id, 120_000);
  const { from, to } = catchUpRange(n);
  const views = verdicts((await servedKappa(w.store, 'views', from, to)).values, truth.views, from, to);
  const distinct = verdicts(
    (await servedKappa(w.store, 'distinct_users', from, to)).values,
    truth.distinct,
    from,
    to,
  );
  const processed = (await rig.kappa.view()).jobs.find((j) => j.id === job.id)?.counters.processed;
  const clean = (v: typeof views, cells: number): boolean =>
    v.correct === cells && v.differ + v.missing + v.extra === 0;
  const exact = processed === n && clean(views, truth.views.size) && clean(distinct, truth.distinct.size);
  const show = (v: typeof views): string =>
    `${v.correct} correct, ${v.differ} differ, ${v.missing} missing, ${v.extra} extra`;
  const row: Row = {
    wiring: w.name,
    source,
    engine,
    events: n,
    seconds,
    eventsPerSec: n / seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    exact,
    verdicts: { views: show(views), distinct: show(distinct) },
  };
  say(
    `${w.name}, from the ${source}: ${fmt(row.eventsPerSec)} events/s (${seconds.toFixed(1)} s, ${engine}); exact: ${exact ? 'yes' : 'no'} (views ${row.verdicts.views}; processed ${processed})`,
  );
  return row;
}

async function benchWiring(w: Wiring, dir: string, n: number): Promise<Row[]> {
  let history: ArchivedHistory | undefined;
  let rig: KappaRig | undefined;
  try {
    say(`${w.name}: appending ${fmt(n)} YSB events, the batch ingest archives the first ${fmt(n * 0.9)}`);
    history = await buildArchivedHistory(w.log, {
      dir,
      topic: TOPIC,
      seed: 61,
      n,
      archived: Math.floor(n * 0.9),
      knobs: KNOBS,
    });
    const truth = recount(history.events(), ref, { excludeBots: true });
    rig = await startKappa(w.log, w.store, TOPIC, w.settings, {
      archive: history.archive,
      ...(w.threadConfig ? { threadConfig: w.threadConfig } : {}),
    });
    await rig.kappa.sync(1, 600_000); // the live job (v1) has read the history: the replays run alone
    const rows = [await timedReplay(w, rig, 'log', n, truth)];
    await w.dropStart(history.cutover());
    const lows = (await w.log.offsets(TOPIC)).map((p) => p.low);
    if (!lows.every((low) => low > 0))
      throw new Error(`the log's start was not dropped: low offsets ${lows.join(', ')}`);
    say(
      `${w.name}: the log now starts at ${lows.join(', ')} (the archive's cut-over: ${[...history.cutover().values()].join(', ')})`,
    );
    rows.push(await timedReplay(w, rig, 'archive', n, truth));
    return rows;
  } finally {
    await rig?.kappa.stop();
    history?.close();
    await w.close();
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAvgBefore: loadavg().map((x) => Number(x.toFixed(2))),
  };
  say(
    `machine: ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB, node ${machine.node}, load average ${machine.loadAvgBefore.join(' ')}`,
  );
  const rows: Row[] = [];
  if (!a.skip.has('embedded')) {
    const dir = mkdtempSync(join(tmpdir(), 'lklab-archive-bench-'));
    try {
      rows.push(...(await benchWiring(await embeddedWiring(dir, a.events), dir, a.events)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!a.skip.has('kafka')) {
    const w = await kafkaWiring();
    if (w) {
      const dir = mkdtempSync(join(tmpdir(), 'lklab-archive-bench-'));
      try {
        rows.push(...(await benchWiring(w, dir, a.events)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const loadAvgAfter = loadavg().map((x) => Number(x.toFixed(2)));
  console.log(
    `\nKappa+ archive replay vs log replay — ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB RAM, node ${machine.node}; load average ${machine.loadAvgBefore.join('/')} before, ${loadAvgAfter.join('/')} after\n`,
  );
  console.log(
    '| wiring | replay from | events | seconds | events/s | events per CPU-second | matches truth |',
  );
  console.log('|---|---|---:|---:|---:|---:|---|');
  for (const r of rows) {
    console.log(
      `| ${r.wiring} (${r.engine}) | ${r.source === 'archive' ? 'archive (Parquet) up to the cut-over, then the log' : 'the log from offset 0'} | ${fmt(r.events)} | ${r.seconds.toFixed(1)} | ${fmt(r.eventsPerSec)} | ${fmt(r.events / r.cpuSeconds)} | ${r.exact ? 'yes' : 'no'} |`,
    );
  }
  const report = { bench: 'kappa-archive', machine: { ...machine, loadAvgAfter }, rows };
  console.log(JSON.stringify(report));
  if (a.json) writeJson(a.json, report);
  if (rows.some((r) => !r.exact)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
