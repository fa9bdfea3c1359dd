/**
 * Benchmark of the Kappa reprocessor (not a test). Prints a table and one JSON line:
 *   (a) replay rate from the embedded log: a replay job (logic v1, fresh group and table) from
 *       offset 0 until its checkpointed offsets pass the snapshot, per engine (main thread only,
 *       worker threads);
 *   (b) replay rate from Kafka, beside Kafka's Java ConsumerPerformance on the same topic;
 *   (c) the live job's final-event latency (YSB: time_updated − window_start − 10 000 ms, over
 *       campaign windows) with the generator at a fixed rate.
 *
 *   npm run build && node dist/bench/kappa-replay-bench.js [--events N] [--kafka-events N] [--dir DIR] [--skip embedded,kafka,latency]
 *       [--engines inline,workers:2] [--peer kafka-streams] [--keep-topic] [--json FILE]
 *   node --import tsx bench/kappa-replay-bench.ts [...]                                  (from the sources)
 *
 * The embedded data set is kept in --dir (default $TMPDIR/lklab-kappa-bench) and reused. The Kafka
 * topic gets a random name and is deleted at the end; with --keep-topic it is kappa-bench.ysb-<N>,
 * kept on the broker and reused. Kafka needs KAFKA_BROKERS and REDIS_URL (npm run stack:up).
 * --peer kafka-streams also replays the same topic with the YSB Kafka Streams application
 * (bench/peers/kafka-streams-ysb) and prints ours / peer. --json FILE writes the report to FILE.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { arch, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openEmbeddedEventLog } from '../kernel/adapters/embedded-log/embedded-event-log.js';
import { openEmbeddedRealtimeStore } from '../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { DEFAULTS, type LabConfig } from '../kernel/config/defaults.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { createEventLog } from '../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../kernel/adapters/store-factory.js';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { GeneratorRunner } from '../kernel/workload/generator-runner.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import {
  KappaReprocessor,
  type KappaSettings,
  offsetsNamespace,
  readKappaWindows,
  readMetaCounters,
  createReplayEngine,
} from '../kappa-reprocessor/index.js';
import { flags, peakRssBytes, usageError, writeJson } from './bench-support.js';
import { peerReplay, type PeerReplayResult } from './kafka-streams-peer.js';
import { waitUntil } from '../kernel/util/wait-until.js';

const run = promisify(execFile);
const ref = buildReferenceData();
const TOPIC = 'ad-events';

interface Args {
  events: number;
  kafkaEvents: number;
  partitions: number;
  dir: string;
  skip: Set<string>;
  engines: string[];
  latencyRate: number;
  latencySeconds: number;
  kafkaThreads: number;
  peer: string;
  keepTopic: boolean;
  json: string;
}

function parseArgs(argv: string[]): Args {
  const f = flags(
    {
      events: 10_000_000,
      kafkaEvents: 10_000_000,
      partitions: 4,
      dir: join(tmpdir(), 'lklab-kappa-bench'),
      skip: '',
      engines: 'inline,workers:1,workers:2',
      latencyRate: 50_000,
      latencySeconds: 120,
      kafkaThreads: 2,
      peer: '',
      keepTopic: false,
      json: '',
    },
    {
      about:
        "The Kappa reprocessor: replay rate from the embedded log and from Kafka (beside ConsumerPerformance), and the live job's final-event latency. Kafka needs KAFKA_BROKERS and REDIS_URL.",
      flags: {
        events: '<events> history size of the embedded replay',
        kafkaEvents: '<events> history size of the Kafka replay',
        partitions: '<n> partitions of the topic',
        dir: '<dir> where the embedded data set is kept and reused',
        skip: '<embedded,kafka,latency> parts to skip, comma-separated',
        engines: '<inline,workers:N,...> replay engines of the embedded replay, comma-separated',
        latencyRate: '<events/s> generator rate of the live-latency part',
        latencySeconds: '<s> duration of the live-latency part',
        kafkaThreads: '<n> ConsumerPerformance threads',
        peer: '<kafka-streams> also replay with this peer; none = no peer',
        keepTopic: 'keep the Kafka topic (kappa-bench.ysb-<N>) on the broker and reuse it',
        json: '<file> also write the report as JSON to FILE',
      },
    },
    argv,
  );
  for (const k of [
    'events',
    'kafkaEvents',
    'partitions',
    'latencyRate',
    'latencySeconds',
    'kafkaThreads',
  ] as const)
    if (!(f[k] > 0))
      usageError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs a positive number`);
  return {
    ...f,
    skip: new Set(f.skip.split(',').filter(Boolean)),
    engines: f.engines.split(',').filter(Boolean),
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en');
const log = (m: string): void => console.error(`[bench] ${m}`);

/**
 * Appends a YSB catch-up stream (seed 42); returns events/s. With `parallel`, one sequential
 * append loop per partition (records carry their partition: ad index mod partitions), so several
 * appends are in flight without reordering any partition — event time must grow per partition,
 * or the job rightly drops the "late" events.
 */
async function produce(
  target: EventLog,
  topic: string,
  n: number,
  partitions: number,
  parallel = false,
): Promise<number> {
  const gen = new YsbGenerator(ref, { seed: 42, mode: 'catch-up', rate: 0, startTime: 1_700_000_000_000 });
  const partitionOf = new Map(ref.ads.map((a, i) => [a.ad_id, i % partitions]));
  const t0 = performance.now();
  const queues: Array<Promise<unknown>> = Array.from({ length: partitions }, () => Promise.resolve());
  let logged = 0;
  for (let done = 0; done < n;) {
    const chunk = gen.take(Math.min(50_000, n - done));
    done += chunk.length;
    if (!parallel) {
      await target.append(
        topic,
        chunk.map((r) => ({ key: r.event!.ad_id, value: r.value })),
      );
    } else {
      const byPartition: Array<Array<{ key: string; value: string; partition: number }>> = Array.from(
        { length: partitions },
        () => [],
      );
      for (const r of chunk) {
        const partition = partitionOf.get(r.event!.ad_id)!;
        byPartition[partition]!.push({ key: r.event!.ad_id, value: r.value, partition });
      }
      byPartition.forEach((records, p) => (queues[p] = queues[p]!.then(() => target.append(topic, records))));
      if (done % 500_000 < 50_000) await Promise.all(queues); // bounded memory
    }
    if (done - logged >= 1_000_000) {
      logged = done;
      log(`  appended ${fmt(done)} / ${fmt(n)}`);
    }
  }
  await Promise.all(queues);
  return (n / (performance.now() - t0)) * 1000;
}

interface ReplayResult {
  events: number;
  seconds: number;
  rate: number;
  /** CPU seconds of this process (all its threads) during the replay. */
  cpuSeconds: number;
  engine: string;
  parallelism: number;
  checkpoints: number;
  /** From the job's table: every record processed once, none dropped or invalid. */
  processed: number;
  dropped: number;
  invalid: number;
}

/**
 * A replay through the reprocessor: job 1 is parked at the log's end (it has nothing to do), then
 * job 2 replays from offset 0; timed from startReplay() until its checkpointed offsets pass the
 * snapshot (the catch-up dwell is not counted).
 */
async function timeReplay(
  target: EventLog,
  store: RealtimeStore,
  topic: string,
  settings: KappaSettings,
  groupPrefix: string,
  label: string,
  workerThreads: boolean,
  threadConfig?: LabConfig,
): Promise<ReplayResult> {
  const ends = await target.offsets(topic);
  const total = ends.reduce((s, p) => s + p.end, 0);
  await store.apply({
    offsets: {
      namespace: offsetsNamespace(1),
      offsets: Object.fromEntries(ends.map((p) => [p.partition, p.end])),
    },
  });
  const deadLetters = new DeadLetterWriter(target, systemClock, `${topic}-dead-letter`);
  await deadLetters.ensureTopic();
  const kappa = new KappaReprocessor(target, store, deadLetters, ref, systemClock, new LabEventBus(), {
    topic,
    settings,
    groupPrefix,
    ...(workerThreads ? { replayEngine: createReplayEngine } : {}),
    ...(threadConfig ? { threadConfig: { ...threadConfig, kappa: settings } } : {}),
    runner: 'bench',
  });
  await kappa.start();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const job = await kappa.startReplay({ logicVersion: 1 });
  let lastLog = t0;
  await waitUntil(
    async () => {
      const stored = await store.readOffsets(offsetsNamespace(job.id));
      const done = ends.reduce((s, p) => s + Math.min(p.end, stored[p.partition] ?? 0), 0);
      if (done >= total) return true;
      if (performance.now() - lastLog > 5_000) {
        lastLog = performance.now();
        log(`  ${label}: ${fmt(done)} / ${fmt(total)} (${fmt((done / (lastLog - t0)) * 1000)} events/s)`);
      }
      return false;
    },
    // the bench waits as long as the replay takes
    {
      what: `the ${label} replay to commit every offset`,
      timeoutMs: Number.POSITIVE_INFINITY,
      intervalMs: 20,
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const status = kappa.runner(job.id)?.status;
  const counters = await readMetaCounters(store, job.id);
  await kappa.stop();
  for (const g of [`${groupPrefix}1`, `${groupPrefix}2`]) await target.deleteGroup(g).catch(() => undefined);
  if (counters.processed !== total || counters.dropped !== 0 || counters.invalid !== 0) {
    throw new Error(
      `${label}: the replay processed ${counters.processed} of ${total} records, dropped ${counters.dropped}, invalid ${counters.invalid} — the data set is not a clean catch-up stream`,
    );
  }
  return {
    events: total,
    seconds,
    rate: total / seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    engine: status?.engine ?? '?',
    parallelism: job.parallelism,
    checkpoints: status?.checkpoints ?? 0,
    processed: counters.processed,
    dropped: counters.dropped,
    invalid: counters.invalid,
  };
}

async function embeddedReplays(a: Args): Promise<Record<string, unknown>> {
  const dataDir = join(a.dir, `events-${a.events}`);
  await mkdir(dataDir, { recursive: true });
  const elog = await openEmbeddedEventLog({ dataDir, clock: systemClock });
  let appendRate: number | null = null;
  try {
    const have = (await elog.listTopics()).some((t) => t.name === TOPIC)
      ? (await elog.offsets(TOPIC)).reduce((s, p) => s + p.end, 0)
      : 0;
    if (have !== a.events) {
      if (have > 0) await elog.deleteTopic(TOPIC);
      await elog.ensureTopic(TOPIC, { partitions: a.partitions });
      log(`embedded: writing ${fmt(a.events)} YSB events to ${dataDir} (kept for the next run)`);
      appendRate = await produce(elog, TOPIC, a.events, a.partitions);
      await elog.flush();
    } else log(`embedded: reusing ${fmt(a.events)} events in ${dataDir}`);
    const results: Record<string, ReplayResult> = {};
    for (const engine of a.engines) {
      const [kind, n] = engine.split(':');
      const parallelism = kind === 'inline' ? 1 : Number(n ?? 2);
      if (kind === 'workers' && parallelism < 1) throw new Error(`bad engine ${engine}`);
      // The embedded store in memory: the replay's cost, not the store's checkpoint file (the lab writes it every 5 s).
      const store = await openEmbeddedRealtimeStore({ clock: systemClock });
      const settings: KappaSettings = {
        ...DEFAULTS.kappa,
        replayParallelism: parallelism,
        autoSwitchover: false,
      };
      const label =
        kind === 'inline'
          ? 'main thread only (log consumer, scan, aggregate)'
          : `${parallelism} worker thread${parallelism > 1 ? 's' : ''} read the segment files, scan, aggregate; main thread checkpoints`;
      const r = await timeReplay(
        elog,
        store,
        TOPIC,
        settings,
        `bench-${engine.replace(':', '')}-v`,
        label,
        kind === 'workers',
      );
      results[label] = r;
      log(
        `embedded replay (${label}): ${fmt(r.rate)} events/s over ${fmt(r.events)} events in ${r.seconds.toFixed(1)} s`,
      );
      await store.close();
      for (const g of await elog.listGroups())
        if (g.startsWith('bench-')) await elog.deleteGroup(g).catch(() => undefined);
    }
    return { events: a.events, appendRate, results };
  } finally {
    await elog.close();
  }
}

async function kafkaReplays(a: Args): Promise<Record<string, unknown> | null> {
  const brokers = process.env.KAFKA_BROKERS;
  const redis = process.env.REDIS_URL;
  if (!brokers || !redis) {
    log('kafka: skipped (set KAFKA_BROKERS and REDIS_URL; npm run stack:up)');
    return null;
  }
  // The lab's own wiring (factories + namespace), so that replay threads connect the way a lab's do.
  const namespace = 'kappa-bench';
  const config = loadConfig({
    env: { KAFKA_BROKERS: brokers, REDIS_URL: redis, LKLAB_NAMESPACE: namespace },
  });
  const klog = await createEventLog(config, systemClock);
  const store = await createRealtimeStore(config, systemClock);
  const topic = a.keepTopic ? `ysb-${a.kafkaEvents}` : `ysb-${a.kafkaEvents}-${Date.now().toString(36)}`;
  const physical = `${namespace}.${topic}`;
  const clean = async (): Promise<void> => {
    await store.deleteByPrefix('lklab:kappa:');
    for (const ns of ['kappa-v1', 'kappa-v2']) await store.deleteOffsets(ns);
  };
  try {
    const exists = (await klog.listTopics()).some((t) => t.name === topic);
    const have = exists ? (await klog.offsets(topic)).reduce((s, p) => s + p.end, 0) : 0;
    let appendRate: number | null = null;
    if (have !== a.kafkaEvents) {
      if (exists) await klog.deleteTopic(topic);
      await klog.ensureTopic(topic, { partitions: a.partitions });
      log(
        `kafka: producing ${fmt(a.kafkaEvents)} YSB events to ${physical} (${a.keepTopic ? 'kept on the broker for the next run' : 'deleted at the end'})`,
      );
      appendRate = await produce(klog, topic, a.kafkaEvents, a.partitions, true);
    } else log(`kafka: reusing ${physical} (${fmt(have)} events)`);
    log('kafka: ConsumerPerformance (Java) on the same topic');
    const perf = await javaConsumerPerf(physical, a.kafkaEvents);
    let peer: PeerReplayResult | { error: string } | null = null;
    if (a.peer === 'kafka-streams') {
      log('kafka: the YSB Kafka Streams peer (Java) replays the same topic');
      peer = await peerReplay({
        brokers: brokers,
        topic: physical,
        events: a.kafkaEvents,
        threads: a.kafkaThreads,
      }).catch((err: Error) => ({ error: err.message.slice(0, 2000) }));
      if ('error' in peer) log(`kafka: the peer failed: ${peer.error}`);
      else {
        if (peer.countSum !== peer.views)
          throw new Error(`the peer counted ${peer.countSum} views of ${peer.views}`);
        log(`kafka: peer replay ${fmt(peer.eventsPerSec)} events/s over ${fmt(peer.events)} events`);
      }
    } else if (a.peer) throw new Error(`--peer ${a.peer}: the only peer is kafka-streams`);
    const results: Record<string, ReplayResult> = {};
    const modes: Array<{ label: string; parallelism: number; threads: boolean }> = [
      { label: '1 consumer on the main thread', parallelism: 1, threads: false },
      { label: `${a.kafkaThreads} consumers in worker threads`, parallelism: a.kafkaThreads, threads: true },
    ];
    for (const mode of modes) {
      await clean();
      const settings: KappaSettings = {
        ...DEFAULTS.kappa,
        replayParallelism: mode.parallelism,
        autoSwitchover: false,
      };
      const r = await timeReplay(
        klog,
        store,
        topic,
        settings,
        `bench-${Date.now().toString(36)}-v`,
        mode.label,
        false,
        mode.threads ? config : undefined,
      );
      results[mode.label] = r;
      log(
        `kafka replay (${mode.label}): ${fmt(r.rate)} events/s over ${fmt(r.events)} events in ${r.seconds.toFixed(1)} s`,
      );
    }
    await clean();
    if (!a.keepTopic) {
      await klog
        .deleteTopic(topic)
        .catch((err: Error) => log(`could not delete ${physical}: ${err.message}`));
      await klog.deleteTopic(`${topic}-dead-letter`).catch(() => undefined);
    }
    return { events: a.kafkaEvents, topic: physical, appendRate, javaConsumerPerf: perf, peer, results };
  } catch (err) {
    if (!a.keepTopic) await klog.deleteTopic(topic).catch(() => undefined);
    throw err;
  } finally {
    await store.close();
    await klog.close();
  }
}

async function javaConsumerPerf(
  topic: string,
  n: number,
): Promise<Record<string, number | string> | { error: string }> {
  try {
    const { stdout } = await run('bash', ['scripts/stack/stack.sh', 'consumer-perf', topic, String(n)], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 600_000,
    });
    const lines = stdout.trim().split('\n');
    const header = lines.findIndex((l) => l.startsWith('start.time'));
    if (header < 0 || !lines[header + 1]) return { error: `unexpected output: ${stdout.slice(-500)}` };
    const keys = lines[header]!.split(',').map((s) => s.trim());
    const values = lines[header + 1]!.split(',').map((s) => s.trim());
    return Object.fromEntries(
      keys.map((k, i) => [k, Number.isFinite(Number(values[i])) ? Number(values[i]) : values[i]!]),
    );
  } catch (err) {
    return { error: (err as Error).message.slice(0, 500) };
  }
}

/** Live job at a fixed generator rate: YSB final-event latency over campaign windows. */
async function liveLatency(a: Args): Promise<Record<string, unknown>> {
  const dir = join(a.dir, `latency-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  const elog = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock });
  const store = await openEmbeddedRealtimeStore({ clock: systemClock });
  try {
    await elog.ensureTopic(TOPIC, { partitions: a.partitions });
    const deadLetters = new DeadLetterWriter(elog, systemClock);
    await deadLetters.ensureTopic();
    const kappa = new KappaReprocessor(elog, store, deadLetters, ref, systemClock, new LabEventBus(), {
      topic: TOPIC,
      settings: { ...DEFAULTS.kappa },
    });
    await kappa.start();
    const gen = new GeneratorRunner(elog, deadLetters, ref, systemClock, {
      rate: a.latencyRate,
      mode: 'live',
      seed: 42,
      tickMs: 50,
      knobs: {},
    });
    const started = systemClock.now();
    log(
      `latency: generator at ${fmt(a.latencyRate)} events/s for ${a.latencySeconds} s into the embedded log, live job v1 (checkpoint every ${DEFAULTS.kappa.checkpointIntervalMs} ms)`,
    );
    gen.start();
    await new Promise((r) => setTimeout(r, a.latencySeconds * 1000));
    await gen.stop();
    const produced = gen.status.produced;
    await kappa.sync(1, 120_000);
    const stopped = systemClock.now();
    await kappa.stop();
    // Whole windows only: the first and the last are partial.
    const first = Math.ceil(started / WINDOW_MS) * WINDOW_MS;
    const last = Math.floor(stopped / WINDOW_MS) * WINDOW_MS - WINDOW_MS;
    const windows: number[] = [];
    for (let w = first; w < last; w += WINDOW_MS) windows.push(w);
    const samples = (await readKappaWindows(store, 1, windows, { distinct: false })).map(
      (c) => c.timeUpdated - c.window - WINDOW_MS,
    );
    samples.sort((x, y) => x - y);
    const q = (p: number): number =>
      samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? Number.NaN;
    return {
      rate: a.latencyRate,
      seconds: a.latencySeconds,
      produced,
      achievedRate: produced / a.latencySeconds,
      windows: samples.length,
      p50: q(0.5),
      p90: q(0.9),
      p99: q(0.99),
      max: samples.at(-1) ?? null,
    };
  } finally {
    await store.close();
    await elog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
    loadAvgBefore: loadavg().map((x) => Number(x.toFixed(2))),
  };
  log(
    `machine: ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB, node ${machine.node}, load average ${machine.loadAvgBefore.join(' ')}`,
  );
  if (!existsSync(a.dir)) await mkdir(a.dir, { recursive: true });
  const embedded = a.skip.has('embedded') ? null : await embeddedReplays(a);
  const kafka = a.skip.has('kafka') ? null : await kafkaReplays(a);
  const latency = a.skip.has('latency') ? null : await liveLatency(a);
  const loadAvgAfter = loadavg().map((x) => Number(x.toFixed(2)));

  console.log(
    `\nKappa reprocessor benchmark — ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB RAM, node ${machine.node}, ${machine.os}; load average ${machine.loadAvgBefore.join('/')} before, ${loadAvgAfter.join('/')} after\n`,
  );
  console.log('| measurement | events | seconds | events/s | events per CPU-second |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [label, r] of Object.entries((embedded?.results ?? {}) as Record<string, ReplayResult>)) {
    console.log(
      `| replay, embedded log, ${label} | ${fmt(r.events)} | ${r.seconds.toFixed(1)} | ${fmt(r.rate)} | ${fmt(r.events / r.cpuSeconds)} |`,
    );
  }
  if (kafka) {
    const perf = kafka.javaConsumerPerf as Record<string, number>;
    if (perf && 'nMsg.sec' in perf)
      console.log(
        `| Kafka ConsumerPerformance (Java), same topic | ${fmt(perf['data.consumed.in.nMsg'] ?? 0)} | ${(Number(perf['fetch.time.ms'] ?? 0) / 1000).toFixed(1)} | ${fmt(perf['nMsg.sec'] ?? 0)} | (other process) |`,
      );
    for (const [label, r] of Object.entries(kafka.results as Record<string, ReplayResult>)) {
      console.log(
        `| replay, Kafka → Redis, ${label} | ${fmt(r.events)} | ${r.seconds.toFixed(1)} | ${fmt(r.rate)} | ${fmt(r.events / r.cpuSeconds)} |`,
      );
    }
    const peer = kafka.peer as PeerReplayResult | { error: string } | null;
    if (peer && !('error' in peer)) {
      console.log(
        `| replay, Kafka Streams peer (Java, ${peer.threads} threads, incl. start-up), same topic | ${fmt(peer.events)} | ${peer.seconds.toFixed(1)} | ${fmt(peer.eventsPerSec)} | (other process) |`,
      );
      const best = Math.max(
        ...Object.values(kafka.results as Record<string, ReplayResult>).map((r) => r.rate),
      );
      console.log(
        `\nours / Kafka Streams peer (best Kafka replay): ${((best / peer.eventsPerSec) * 100).toFixed(0)} %`,
      );
    }
  }
  if (latency) {
    console.log(
      `\nLive job final-event latency (time_updated − window_start − 10 s, ${latency.windows} campaign windows), generator ${fmt(latency.rate as number)} events/s (achieved ${fmt(latency.achievedRate as number)}): p50 ${latency.p50} ms, p90 ${latency.p90} ms, p99 ${latency.p99} ms`,
    );
  }
  const report = {
    bench: 'kappa-replay',
    machine: { ...machine, loadAvgAfter },
    embedded,
    kafka,
    latency,
    peakRssBytes: peakRssBytes(),
  };
  console.log(JSON.stringify(report));
  if (a.json) writeJson(a.json, report);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
