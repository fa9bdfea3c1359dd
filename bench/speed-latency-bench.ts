/**
 * Speed-layer latency benchmark (not a test): the YSB generator in live mode at a target rate into
 * the event log, the speed layer flushing every second, and YSB's final-event latency per window
 * (time_updated − window_start − 10 000 ms) over the windows that closed during the run.
 *
 *   npm run build && node dist/bench/speed-latency-bench.js [--rate 50000] [--seconds 60] [--mode embedded|distributed]
 *   (distributed: KAFKA_BROKERS and REDIS_URL, e.g. from `npm run stack:up`)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
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
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { SpeedLayer } from '../speed-layer/speed-layer.js';
import { flags, machine, percentile, printMachine, table } from './bench-support.js';

const args = flags({
  rate: 50_000,
  seconds: 60,
  mode: 'embedded',
  flushMs: 1000,
  partitions: 4,
  producers: 2,
});
const distributed = args.mode === 'distributed';
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
console.log(
  `speed layer, ${args.mode}: ${args.rate.toLocaleString()} events/s for ${args.seconds} s, flush every ${args.flushMs} ms`,
);

const clock = systemClock;
const log = await createEventLog(config, clock);
const store = await createRealtimeStore(config, clock);
await log.ensureTopic(AD_EVENTS_TOPIC, { partitions: args.partitions });
const dead = new DeadLetterWriter(log, clock);
await dead.ensureTopic();
const ref = buildReferenceData();
const bus = new LabEventBus();
const speed = new SpeedLayer(log, store, ref, clock, bus, {
  topic: AD_EVENTS_TOPIC,
  group: 'bench-speed',
  flushIntervalMs: args.flushMs,
  logicVersion: 1,
});
await speed.start();
// Embedded: the generator runs in this process (the embedded log belongs to one process).
// Distributed: like YSB's own generator, separate producer processes (`lklab produce`) feed Kafka.
const gen = new GeneratorRunner(log, dead, ref, clock, {
  rate: distributed ? 0 : args.rate,
  mode: 'live',
  seed: 1,
  tickMs: 20,
  knobs: {},
});
const producers: ChildProcess[] = [];
if (distributed) {
  const bin = fileURLToPath(
    new URL('../../bin/lklab.js', import.meta.url).href.replace('/dist/bin/', '/bin/'),
  );
  for (let i = 0; i < args.producers; i++) {
    producers.push(
      spawn(process.execPath, [bin, 'produce', '--rate', String(args.rate / args.producers)], {
        env: {
          ...process.env,
          LKLAB_NAMESPACE: config.namespace,
          LKLAB_SEED: String(i + 1),
          LKLAB_DATA_DIR: dir,
        },
        stdio: 'ignore',
      }),
    );
  }
}
const produced = async (): Promise<number> =>
  distributed ? (await log.offsets(AD_EVENTS_TOPIC)).reduce((s, p) => s + p.end, 0) : gen.status.produced;
const cpu0 = process.cpuUsage();
const t0 = clock.now();
gen.start();
let maxBacklog = 0;
for (let s = 0; s < args.seconds; s++) {
  await clock.sleep(1000);
  const st = speed.status as { processed: number };
  maxBacklog = Math.max(maxBacklog, (await produced()) - st.processed);
}
await gen.stop();
for (const p of producers) p.kill('SIGTERM');
await Promise.all(producers.map((p) => new Promise((r) => p.once('exit', r))));
const total = await produced();
const elapsed = (clock.now() - t0) / 1000;
// Let the last windows close (their final flush is what YSB measures).
await clock.sleep(12_000 + 6 * args.flushMs);
const cpu = process.cpuUsage(cpu0);
const latencies = speed
  .windowLatencies()
  .map((w) => w.latencyMs)
  .sort((a, b) => a - b);
await speed.stop();
await store.deleteByPrefix('');
if (distributed) {
  await log.deleteTopic(AD_EVENTS_TOPIC);
  await log.deleteTopic(dead.topic);
}
await store.close();
await log.close();
rmSync(dir, { recursive: true, force: true });

const result = {
  mode: args.mode,
  targetRate: args.rate,
  achievedRate: Math.round(total / elapsed),
  windows: latencies.length,
  p50: percentile(latencies, 50),
  p90: percentile(latencies, 90),
  p99: percentile(latencies, 99),
  max: latencies.at(-1) ?? NaN,
  maxBacklogEvents: maxBacklog,
  cpuSecondsPerSecond: Number(((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2)),
};
table([
  {
    ...result,
    p50: `${result.p50} ms`,
    p90: `${result.p90} ms`,
    p99: `${result.p99} ms`,
    max: `${result.max} ms`,
  },
]);
console.log(JSON.stringify({ bench: 'speed-latency', machine: machine(), args, result }));
process.exit(0);
