/**
 * Live-step latency benchmark (not a test): the YSB generator in live mode at a target rate into
 * the event log, one stream job reading it, and YSB's final-event latency per window
 * (time_updated − window_start − 10 000 ms) over the windows that closed during the run.
 *
 *   npm run build && node dist/bench/speed-latency-bench.js [--rate 50000] [--seconds 60] [--mode embedded|distributed]
 *       [--arch lambda|kappa|kafka-streams|flink] [--json FILE]
 *   (distributed: KAFKA_BROKERS and REDIS_URL, e.g. from `npm run stack:up`)
 *
 * --arch lambda (default): Lambda's latency path, the speed layer (flush every --flush-ms);
 * --arch kappa: the Kappa reprocessor's live job v1 (checkpoint every kappa.checkpointIntervalMs);
 * --arch kafka-streams: the peer, YSB as a Kafka Streams application (bench/peers/kafka-streams-ysb;
 *   distributed mode only) on the same kind of topic, fed by the same producers;
 * --arch flink: the second peer, YSB as an Apache Flink job on a local MiniCluster
 *   (bench/peers/flink-ysb; distributed mode only), likewise.
 * --json FILE also writes the result object to FILE (bench/run-all.ts reads it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventLog } from '../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../kernel/adapters/store-factory.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import { GeneratorRunner } from '../kernel/workload/generator-runner.js';
import { LagMonitor } from '../kernel/ingest/lag-monitor.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { SpeedLayer } from '../speed-layer/index.js';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import { DEFAULTS } from '../kernel/config/defaults.js';
import { KappaReprocessor, readKappaWindows } from '../kappa-reprocessor/index.js';
import { LAB_MALLOC_ENV, LAB_NODE_FLAGS, relaunchWithLabNodeFlags } from '../kernel/util/node-flags.js';
import { flags, machine, peakRssBytes, percentile, printMachine, table, writeJson } from './bench-support.js';
import { PEER_LABEL, peerLive, type PeerLiveResult, type PeerName } from './kafka-streams-peer.js';

// The layers run in this process: give it the V8 flags `npm start` gives the lab.
relaunchWithLabNodeFlags();

const args = flags(
  {
    rate: 50_000,
    seconds: 60,
    mode: 'embedded',
    flushMs: 1000,
    partitions: 4,
    producers: 2,
    producerWorkers: 0,
    arch: 'lambda',
    maxLag: 0,
    maxScheduleLagMs: 0,
    json: '',
  },
  {
    about:
      'YSB final-event latency of a live step: the generator at a target rate into the log, one stream job reading it (distributed mode: KAFKA_BROKERS and REDIS_URL).',
    flags: {
      rate: '<events/s> generator rate',
      seconds: '<s> duration of the step',
      mode: '<embedded|distributed> embedded log, or Kafka + Redis',
      flushMs: "<ms> the speed layer's flush interval",
      partitions: '<n> partitions of the topic',
      producers: '<n> producer processes (distributed mode)',
      producerWorkers:
        '<n> producer threads per producer process (`lklab produce --workers N`; distributed mode; 0 = its own thread)',
      arch: '<lambda|kappa|kafka-streams|flink> the job measured',
      maxLag:
        "<events> back-pressure: the generator waits while the job is more than this many events behind (backpressure.maxLagEvents; 0 = off, as before back-pressure existed). Distributed mode: the `lklab produce` processes get it and wait while the job's committed lag passes twice it",
      maxScheduleLagMs:
        '<ms> how far behind its schedule the generator may fall before it skips ahead, counting the skipped events as shed (backpressure.maxScheduleLagMs; 0 = never)',
      json: '<file> also write the result as JSON to FILE',
    },
  },
);
const distributed = args.mode === 'distributed';
if (!['lambda', 'kappa', 'kafka-streams', 'flink'].includes(args.arch))
  throw new Error(`--arch ${args.arch}: use lambda, kappa, kafka-streams or flink`);
const peerName: PeerName | undefined =
  args.arch === 'kafka-streams' || args.arch === 'flink' ? args.arch : undefined;
if (peerName && !distributed)
  throw new Error(`--arch ${args.arch} reads Kafka: use it with --mode distributed`);
const dir = mkdtempSync(join(tmpdir(), 'lkl-speed-bench-'));
const config = loadConfig({
  env: distributed ? process.env : {},
  overrides: {
    dataDir: dir,
    namespace: distributed ? `bench${randomUUID().slice(0, 6)}` : '',
    log: { partitions: args.partitions },
  },
});
if (distributed && (config.kafka.brokers.length === 0 || !config.redis.url))
  throw new Error('--mode distributed needs KAFKA_BROKERS and REDIS_URL');
printMachine();
const job = peerName
  ? `${PEER_LABEL[peerName]} peer`
  : { lambda: 'speed layer', kappa: 'Kappa live job v1' }[args.arch as 'lambda'];
console.log(
  `${job}, ${args.mode}: ${args.rate.toLocaleString()} events/s for ${args.seconds} s, flush every ${args.arch === 'kappa' ? DEFAULTS.kappa.checkpointIntervalMs : args.flushMs} ms`,
);

const clock = systemClock;
const log = await createEventLog(config, clock);
const store = await createRealtimeStore(config, clock);
await log.ensureTopic(AD_EVENTS_TOPIC, { partitions: args.partitions });
const dead = new DeadLetterWriter(log, clock);
await dead.ensureTopic();
const ref = buildReferenceData();
const bus = new LabEventBus();
// The lab's group names: distributed, the `lklab produce` processes find this job's committed
// lag where they look for the speed layer's (lklab-speed) or the Kappa live job's (the registry).
const speedGroup = 'lklab-speed';
const speed =
  args.arch === 'lambda'
    ? new SpeedLayer(log, store, ref, clock, bus, {
        topic: AD_EVENTS_TOPIC,
        group: speedGroup,
        flushIntervalMs: args.flushMs,
        logicVersion: 1,
      })
    : undefined;
const kappa =
  args.arch === 'kappa'
    ? new KappaReprocessor(log, store, dead, ref, clock, bus, {
        topic: AD_EVENTS_TOPIC,
        settings: { ...DEFAULTS.kappa },
        runner: 'bench',
      })
    : undefined;
await speed?.start();
await kappa?.start();
// The peer runs in its own JVM; the producers start once it is RUNNING.
let peerReady!: () => void;
const peerStarted = new Promise<void>((resolve) => (peerReady = resolve));
const peer: Promise<PeerLiveResult> | undefined = peerName
  ? peerLive({
      peer: peerName,
      brokers: config.kafka.brokers.join(','),
      topic: `${config.namespace}.${AD_EVENTS_TOPIC}`,
      seconds: args.seconds,
      drain: 12 + Math.ceil((6 * args.flushMs) / 1000),
      onReady: peerReady,
    })
  : undefined;
if (peer) await Promise.race([peerStarted, peer]);
// Embedded: the generator runs in this process (the embedded log belongs to one process).
// Distributed: like YSB's own generator, separate producer processes (`lklab produce`) feed Kafka.
// Back-pressure as the lab wires it (lab/create-lab.ts): the job's in-memory position.
const lag = new LagMonitor(log, AD_EVENTS_TOPIC, clock, {
  maxLagEvents: distributed ? 0 : args.maxLag,
  refreshMs: DEFAULTS.backpressure.refreshMs,
});
if (speed) lag.add({ name: 'speed layer', group: () => speedGroup, position: (p) => speed.position(p) });
if (kappa)
  lag.add({ name: 'kappa live job', group: () => kappa.liveGroup, position: (p) => kappa.livePosition(p) });
lag.start();
// The job's lag as the producers' lag monitors read it (distributed: the group's committed offsets).
const committedLag = new LagMonitor(log, AD_EVENTS_TOPIC, clock, {
  maxLagEvents: Math.max(1, args.maxLag),
  refreshMs: DEFAULTS.backpressure.refreshMs,
});
committedLag.add({ name: 'job', group: () => (speed ? speedGroup : kappa?.liveGroup) });
const gen = new GeneratorRunner(log, dead, ref, clock, {
  rate: distributed ? 0 : args.rate,
  mode: 'live',
  seed: 1,
  tickMs: 20,
  knobs: {},
  backpressure: args.maxLag > 0 ? lag : undefined,
  maxScheduleLagMs: args.maxScheduleLagMs,
});
const producers: ChildProcess[] = [];
if (distributed) {
  // Back-pressure in the producers as the lab configures it: --max-lag (0 = off).
  const producerConfig = join(dir, 'producer-config.json');
  writeFileSync(producerConfig, JSON.stringify({ backpressure: { maxLagEvents: args.maxLag } }));
  const bin = fileURLToPath(
    new URL('../../bin/lklab.js', import.meta.url).href.replace('/dist/bin/', '/bin/'),
  );
  for (let i = 0; i < args.producers; i++) {
    producers.push(
      spawn(
        process.execPath,
        [
          ...LAB_NODE_FLAGS,
          bin,
          'produce',
          '--rate',
          String(args.rate / args.producers),
          '--workers',
          String(args.producerWorkers),
        ],
        {
          env: {
            ...process.env,
            ...LAB_MALLOC_ENV,
            LKLAB_NAMESPACE: config.namespace,
            LKLAB_SEED: String(i + 1),
            LKLAB_DATA_DIR: dir,
            LKLAB_CONFIG: producerConfig,
          },
          stdio: 'ignore',
        },
      ),
    );
  }
}
const produced = async (): Promise<number> =>
  distributed ? (await log.offsets(AD_EVENTS_TOPIC)).reduce((s, p) => s + p.end, 0) : gen.status.produced;
const cpu0 = process.cpuUsage();
const t0 = clock.now();
gen.start();
let maxBacklog = 0;
let maxCommittedLag = 0;
const processed = (): number | undefined =>
  speed
    ? (speed.status as { processed: number }).processed
    : kappa
      ? (kappa
          .runner(1)
          ?.positions()
          .reduce((sum, p) => sum + p.next, 0) ?? 0)
      : undefined;
// Steady rate: from the first second in which events arrived (producer processes take a moment to
// start) to the last, so a short step is not judged by its producers' start-up.
let firstSample: { at: number; produced: number } | undefined;
let lastSample: { at: number; produced: number } | undefined;
for (let s = 0; s < args.seconds; s++) {
  await clock.sleep(1000);
  const done = processed();
  const now = await produced();
  if (!firstSample && now > 0) firstSample = { at: clock.now(), produced: now };
  lastSample = { at: clock.now(), produced: now };
  if (done !== undefined) maxBacklog = Math.max(maxBacklog, now - done);
  if (distributed)
    maxCommittedLag = Math.max(
      maxCommittedLag,
      (await committedLag.refresh().catch(() => undefined))?.maxLag ?? 0,
    );
}
await gen.stop();
for (const p of producers) p.kill('SIGTERM');
await Promise.all(producers.map((p) => new Promise((r) => p.once('exit', r))));
const total = await produced();
const elapsed = (clock.now() - t0) / 1000;
// Let the last windows close (their final flush is what YSB measures).
const peerResult = peer ? await peer : undefined;
if (!peer) await clock.sleep(12_000 + 6 * args.flushMs);
const cpu = process.cpuUsage(cpu0);
lag.stop();
// Past capacity the job may still be reading: give it the time to read what was appended (a
// bounded backlog drains in seconds), so that what it never read is what was lost.
for (let waited = 0; !peer && (processed() ?? total) < total && waited < 120_000; waited += 500)
  await clock.sleep(500);
// Nothing lost: every appended event was read by the job once the last windows closed.
const processedAtEnd = processed();
let latencies: number[];
if (speed) {
  latencies = speed
    .windowLatencies()
    .map((w) => w.latencyMs)
    .sort((a, b) => a - b);
} else if (kappa) {
  // Whole windows only: the first and the last are partial.
  const windows: number[] = [];
  for (let w = Math.ceil(t0 / WINDOW_MS) * WINDOW_MS; w + WINDOW_MS <= t0 + elapsed * 1000; w += WINDOW_MS)
    windows.push(w);
  latencies = (await readKappaWindows(store, 1, windows, { distinct: false }))
    .map((c) => c.timeUpdated - c.window - WINDOW_MS)
    .sort((a, b) => a - b);
} else latencies = [];
await speed?.stop();
await kappa?.stop();
await store.deleteByPrefix('');
if (distributed) {
  await log.deleteTopic(AD_EVENTS_TOPIC);
  await log.deleteTopic(dead.topic);
}
await store.close();
await log.close();
rmSync(dir, { recursive: true, force: true });

const result = {
  arch: args.arch,
  mode: args.mode,
  targetRate: args.rate,
  /** Events/s produced from the first second with events to the end of the step. */
  achievedRate:
    firstSample && lastSample && lastSample.at > firstSample.at
      ? Math.round(((lastSample.produced - firstSample.produced) * 1000) / (lastSample.at - firstSample.at))
      : Math.round(total / elapsed),
  /** Events/s over the whole step, producers' start-up included. */
  achievedRateWholeStep: Math.round(total / elapsed),
  windows: peerResult ? peerResult.windows : latencies.length,
  p50: peerResult ? (peerResult.p50 ?? NaN) : percentile(latencies, 50),
  p90: peerResult ? (peerResult.p90 ?? NaN) : percentile(latencies, 90),
  p99: peerResult ? (peerResult.p99 ?? NaN) : percentile(latencies, 99),
  max: peerResult ? (peerResult.max ?? NaN) : (latencies.at(-1) ?? NaN),
  maxBacklogEvents: peerResult ? null : maxBacklog,
  /** Distributed: the job's largest lag as the producers' lag monitors read it (its group's committed offsets). */
  maxCommittedLagEvents: distributed && !peerResult ? maxCommittedLag : null,
  /** Events appended and read by the job in the end (distributed: the topic's record count is `produced`). */
  produced: total,
  processed: processedAtEnd ?? null,
  /** Events appended and never processed by the job (after the drain); null for the peer. */
  unprocessed: processedAtEnd === undefined ? null : total - processedAtEnd,
  /** Events the generator skipped unproduced, behind schedule by more than --max-schedule-lag-ms. */
  shed: gen.status.shed,
  /** Time the generator waited on back-pressure (ms) and how often it was told to. */
  throttledMs: Math.round(gen.status.throttledMs),
  throttled: lag.current.throttled,
  /** CPU of this process (the generator in embedded mode, the job); the peer's JVM is not included. */
  cpuSecondsPerSecond: Number(((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2)),
  /** Peak RSS of the job's process: this one, or the peer's JVM. */
  peakRssBytes: peerResult ? peerResult.peakRssBytes : peakRssBytes(),
};
table([
  {
    ...result,
    p50: `${result.p50} ms`,
    p90: `${result.p90} ms`,
    p99: `${result.p99} ms`,
    max: `${result.max} ms`,
    maxBacklogEvents: result.maxBacklogEvents ?? '—',
    maxCommittedLagEvents: result.maxCommittedLagEvents ?? '—',
    processed: result.processed ?? '—',
    unprocessed: result.unprocessed ?? '—',
  },
]);
const report = { bench: 'speed-latency', machine: machine(), args, result, peer: peerResult ?? null };
console.log(JSON.stringify(report));
if (args.json) writeJson(args.json, report);
process.exit(0);
