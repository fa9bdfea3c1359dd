/**
 * Producing into Kafka at the rates the distributed lab needs (not a test), in one run:
 *   (a) Kafka's Java ProducerPerformance (idempotent, acks=all, the same YSB values) — the reference,
 *       twice: with the producer's default batching (batch.size 16 KiB), and with batching like ours
 *       (JAVA_LIKE_OURS: one batch per partition per request, up to 900 KiB), so the ratio is fair;
 *   (b) our producer on one thread: KafkaEventLog.append() in batches (idempotent, acks = all);
 *   (c) our producer pool (kernel/adapters/kafka-log/kafka-produce-pool.ts) with 1 and with N
 *       worker threads, each its own idempotent producer, partition p on thread p mod N;
 * every figure with the ratio to (a), each run into a fresh topic whose record count is checked
 * (nothing lost); Kafka's ConsumerPerformance on (a)'s topic; then, with --steps, YSB load steps
 * on Kafka + Redis per architecture (bench/speed-latency-bench.ts in distributed mode, one child
 * process per step, its producers `lklab produce --workers --producer-workers`) and the highest
 * sustained one (achieved ≥ 95 % of the target, p99 ≤ 1 s); with --overload-rate, one step per
 * architecture past that with back-pressure on in the producers (achieved rate, p99, the largest
 * consumer lag, and the topic's record count against what the job read: nothing lost); with
 * --scale-out-seconds, two scale-outs over processes: `lklab speed-layer` (bench/lib/speed-scale-out.ts)
 * and `lklab kappa-worker` sharing a Kappa replay (bench/lib/kappa-scale-out.ts, its answers checked
 * against the truth); a table, the machine and load average, and one JSON line.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/distributed-capacity-bench.js [--events N] [--batch N] [--partitions N] [--workers N]
 *       [--steps 50000,70000] [--seconds 30] [--archs lambda,kappa] [--producer-workers N] [--overload-rate 120000]
 *       [--overload-max-lag N] [--scale-out-seconds S] [--kappa-backlog N] [--brokers host:port] [--json FILE]
 *
 * Needs the local stack (`bash scripts/stack/stack.sh up`, same LKLAB_KAFKA_PORT) for (a);
 * --brokers defaults to KAFKA_BROKERS, else 127.0.0.1:19092.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { systemClock } from '../kernel/clock/system-clock.js';
import { DEFAULTS } from '../kernel/config/defaults.js';
import type { AppendRecord } from '../kernel/ports/event-log.js';
import { openKafkaEventLog, type KafkaEventLog } from '../kernel/adapters/kafka-log/kafka-event-log.js';
import { openKafkaProducePool } from '../kernel/adapters/kafka-log/kafka-produce-pool.js';
import { flags, machine, peakRssBytes, requirePositiveIntegers, writeJson } from './bench-support.js';
import { generateEvents } from './lib/kafka-consume.js';
import { consumerPerfColumn, parseConsumerPerf, stackScript } from './lib/kafka-tools.js';
import { fmt, timed } from './lib/measure.js';
import {
  JAVA_PRODUCER,
  kappaScaleOutLine,
  scaleOutLine,
  OURS_ONE_THREAD,
  overloadLine,
  poolLabel,
  reportGaps,
  type DistributedCapacityReport,
  type OverloadFigure,
  type ProduceFigure,
  type StepFigure,
} from './lib/distributed-capacity-report.js';
import { kappaWorkersScaleOut, type KappaScaleOutResult } from './lib/kappa-scale-out.js';
import { speedLayerScaleOut, type ScaleOutResult } from './lib/speed-scale-out.js';

const run = promisify(execFile);

interface Args {
  events: number;
  batch: number;
  partitions: number;
  workers: number;
  steps: number[];
  seconds: number;
  archs: string[];
  producerWorkers: number;
  scaleOutSeconds: number;
  kappaBacklog: number;
  overloadRate: number;
  overloadMaxLag: number;
  brokers: string[];
  json: string;
}

function parseArgs(argv: string[]): Args {
  const f = flags(
    {
      events: 1_000_000,
      batch: 10_000,
      partitions: 4,
      workers: 2,
      steps: '',
      seconds: 30,
      archs: 'lambda,kappa',
      producerWorkers: 0,
      scaleOutSeconds: 0,
      kappaBacklog: 0,
      overloadRate: 0,
      overloadMaxLag: DEFAULTS.backpressure.maxLagEvents,
      brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092',
      json: '',
    },
    {
      about:
        "Kafka + Redis capacity in one run: Kafka's ProducerPerformance and ConsumerPerformance beside the lab's producer on one thread and its producer pool with 1 and N worker threads (idempotent, acks=all), then YSB load steps per architecture (--steps); needs the local stack.",
      flags: {
        events: '<events> YSB events per run',
        batch: '<records> records per append call',
        partitions: '<n> partitions of each topic',
        workers: '<n> threads of the larger producer pool',
        steps: '<events/s,...> YSB load steps on Kafka + Redis (needs REDIS_URL; empty = none)',
        seconds: '<s> duration of each load step',
        archs: '<lambda,kappa> architectures of the load steps',
        producerWorkers: '<n> producer threads per producer process in the load steps (0 = its own thread)',
        scaleOutSeconds:
          '<s> scale-out: seconds measured with one `lklab speed-layer` process, then with two in its group; then the same with `lklab kappa-worker` processes sharing a Kappa replay (0 = skip; needs REDIS_URL)',
        kappaBacklog:
          '<events> YSB events the Kappa replay of the scale-out reads (0 = the larger of 3 × --events and 700,000 × --scale-out-seconds: one worker read 150,000–230,000 events/s on 2 cores, so both windows keep a backlog)',
        overloadRate:
          '<events/s> overload step per architecture: producers asked for this rate (above the highest step) with back-pressure on; achieved rate, p99, the largest consumer lag and nothing lost (0 = skip; needs REDIS_URL)',
        overloadMaxLag:
          '<events> backpressure.maxLagEvents of the overload step (the producers wait while the committed lag passes twice it)',
        brokers: '<host:port,...> Kafka bootstrap brokers (KAFKA_BROKERS when set)',
        json: '<file> also write the report as JSON to FILE',
      },
    },
    argv,
  );
  requirePositiveIntegers(f, ['events', 'batch', 'partitions', 'workers', 'seconds']);
  const steps = f.steps
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (steps.some((s) => !Number.isInteger(s) || s <= 0))
    throw new Error(`--steps takes whole numbers of events/s, comma-separated, got "${f.steps}"`);
  const archs = f.archs
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (archs.some((a) => a !== 'lambda' && a !== 'kappa'))
    throw new Error(`--archs takes lambda and/or kappa, got "${f.archs}"`);
  if ((steps.length > 0 || f.scaleOutSeconds > 0 || f.overloadRate > 0) && !process.env.REDIS_URL)
    throw new Error('--steps, --scale-out-seconds and --overload-rate need REDIS_URL (the local stack)');
  return {
    ...f,
    steps,
    archs,
    brokers: f.brokers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/** N YSB events keyed by ad_id, as the lab's generator appends them. */
function ysbRecords(n: number): AppendRecord[] {
  const { keys, values } = generateEvents(n);
  return values.map((value, i) => ({ key: keys[i]!, value }));
}

/**
 * ProducerPerformance settings comparable to our producer: it sends each partition's share of an
 * append (up to KAFKA_LOG_DEFAULTS.maxRequestBytesPerPartition, 900 KiB) as one batch, one request
 * at a time per producer; Java then fills batches of the same size, lingering up to 20 ms for them.
 */
const JAVA_LIKE_OURS = ['batch.size=921600', 'linger.ms=20', 'max.request.size=4194304'];

/** Kafka's ProducerPerformance through the stack script (extra producer props after the payload); its last line is the summary. */
async function javaProducerPerf(
  topic: string,
  n: number,
  values: readonly AppendRecord[],
  props: readonly string[] = [],
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-producer-perf-'));
  try {
    const payload = join(dir, 'payload.txt');
    writeFileSync(payload, values.map((r) => r.value).join('\n'));
    const { stdout } = await run(
      'bash',
      [stackScript(), 'producer-perf', topic, String(n), payload, ...props],
      {
        maxBuffer: 10 * 2 ** 20,
      },
    );
    const summary = stdout
      .split('\n')
      .reverse()
      .find((l) => l.includes('records sent') && l.includes('99th'));
    const rate = summary ? /([\d.]+) records\/sec/.exec(summary) : null;
    if (!rate) throw new Error(`unexpected ProducerPerformance output:\n${stdout}`);
    return Math.round(Number(rate[1]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Kafka's ConsumerPerformance on a topic; its nMsg.sec. */
async function javaConsumerPerf(topic: string, n: number): Promise<number> {
  const { stdout } = await run(
    'bash',
    [stackScript(), 'consumer-perf', topic, String(n), '--timeout', '60000'],
    {
      maxBuffer: 10 * 2 ** 20,
    },
  );
  return Math.round(consumerPerfColumn(parseConsumerPerf(stdout), 'nMsg.sec'));
}

/** One YSB load step on Kafka + Redis: bench/speed-latency-bench.js in distributed mode, in a child process. */
async function loadStep(arch: string, rate: number, args: Args, maxLag = 0): Promise<OverloadFigure> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'speed-latency-bench.js');
  const { stdout } = await run(
    process.execPath,
    [
      script,
      '--arch',
      arch,
      '--mode',
      'distributed',
      '--rate',
      String(rate),
      '--seconds',
      String(args.seconds),
      '--partitions',
      String(args.partitions),
      '--producer-workers',
      String(args.producerWorkers),
      '--max-lag',
      String(maxLag),
    ],
    { env: { ...process.env, KAFKA_BROKERS: args.brokers.join(',') }, maxBuffer: 10 * 2 ** 20 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('{"bench":"speed-latency"'));
  if (!line) throw new Error(`speed-latency-bench printed no result:\n${stdout}`);
  const r = (
    JSON.parse(line) as {
      result: Omit<StepFigure, 'arch' | 'sustained' | 'loadAverage'> & {
        maxCommittedLagEvents: number | null;
        produced: number;
        processed: number | null;
        unprocessed: number | null;
        windows: number;
      };
    }
  ).result;
  return {
    arch,
    targetRate: rate,
    achievedRate: r.achievedRate,
    p50: r.p50,
    p99: r.p99,
    maxBacklogEvents: r.maxBacklogEvents,
    // No window closed (a step shorter than a window and its drain): no p99 (NaN, null in JSON) — not sustained.
    sustained: r.windows > 0 && typeof r.p99 === 'number' && r.achievedRate >= 0.95 * rate && r.p99 <= 1000,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    maxLagLimit: maxLag,
    maxCommittedLagEvents: r.maxCommittedLagEvents ?? 0,
    produced: r.produced,
    processed: r.processed ?? 0,
    lost: r.unprocessed ?? r.produced,
  };
}

async function stored(log: KafkaEventLog, topic: string): Promise<number> {
  const offsets = await log.offsets(topic);
  return offsets.reduce((a, p) => a + p.end - p.low, 0);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const m = machine();
  console.log(
    `machine: ${m.cpu} × ${m.cores}, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`generating ${fmt(args.events)} YSB events...`);
  const records = ysbRecords(args.events);
  const bytes = records.reduce((a, r) => a + r.value.length, 0);
  const log = await openKafkaEventLog({
    brokers: args.brokers,
    clientId: 'lkl-capacity-bench',
    clock: systemClock,
  });
  const topics: string[] = [];
  const fresh = async (): Promise<string> => {
    const topic = `bench-produce-${randomUUID()}`;
    await log.ensureTopic(topic, { partitions: args.partitions });
    topics.push(topic);
    return topic;
  };
  const figures: ProduceFigure[] = [];
  let consumerPerf = 0;
  const loads: Record<string, number[]> = {};
  const note = (f: ProduceFigure): void => {
    figures.push(f);
    loads[f.what] = loadavg().map((l) => Math.round(l * 100) / 100);
    console.log(
      `${f.what}: ${fmt(f.eventsPerSec)} events/s${f.cpuEventsPerSec ? ` (${fmt(f.cpuEventsPerSec)} per CPU-second)` : ''}; load average ${loads[f.what]!.join(' ')}`,
    );
  };
  try {
    // (a) the reference
    {
      const topic = await fresh();
      const rate = await javaProducerPerf(topic, args.events, records.slice(0, 50_000));
      if ((await stored(log, topic)) !== args.events) throw new Error('ProducerPerformance lost records');
      note({ what: JAVA_PRODUCER, eventsPerSec: rate, cpuEventsPerSec: undefined });
      consumerPerf = await javaConsumerPerf(topic, args.events);
      console.log(`Java ConsumerPerformance (same topic): ${fmt(consumerPerf)} events/s`);
    }
    {
      const topic = await fresh();
      const rate = await javaProducerPerf(topic, args.events, records.slice(0, 50_000), JAVA_LIKE_OURS);
      if ((await stored(log, topic)) !== args.events) throw new Error('ProducerPerformance lost records');
      note({
        what: `Java ProducerPerformance, batching like ours (${JAVA_LIKE_OURS.join(' ')})`,
        eventsPerSec: rate,
        cpuEventsPerSec: undefined,
      });
    }
    // (b) one thread
    {
      const topic = await fresh();
      const t = await timed(async () => {
        for (let i = 0; i < records.length; i += args.batch)
          await log.append(topic, records.slice(i, i + args.batch));
      });
      if ((await stored(log, topic)) !== args.events) throw new Error('append() lost records');
      note({
        what: OURS_ONE_THREAD,
        eventsPerSec: Math.round(args.events / (t.ms / 1000)),
        cpuEventsPerSec: Math.round(args.events / (t.cpuMs / 1000)),
      });
    }
    // (c) the pool, 1 and N threads; appends one after another, as the generator makes them
    for (const workers of [...new Set([1, args.workers])]) {
      const topic = await fresh();
      const pool = await openKafkaProducePool({
        brokers: args.brokers,
        clientId: 'lkl-capacity-bench',
        clock: systemClock,
        workers,
      });
      try {
        const t = await timed(async () => {
          for (let i = 0; i < records.length; i += args.batch)
            await pool.append(topic, records.slice(i, i + args.batch));
        });
        if ((await stored(log, topic)) !== args.events) throw new Error('the producer pool lost records');
        note({
          what: poolLabel(workers),
          eventsPerSec: Math.round(args.events / (t.ms / 1000)),
          cpuEventsPerSec: Math.round(args.events / (t.cpuMs / 1000)),
        });
      } finally {
        await pool.close();
      }
    }
    // (d) the load steps, per architecture, lowest first
    const steps: StepFigure[] = [];
    for (const arch of args.archs) {
      for (const rate of [...args.steps].sort((a, b) => a - b)) {
        const {
          maxLagLimit: _l,
          maxCommittedLagEvents: _c,
          produced: _p,
          processed: _d,
          lost: _x,
          ...s
        } = await loadStep(arch, rate, args);
        steps.push(s);
        console.log(
          `step ${arch} ${fmt(rate)}/s: achieved ${fmt(s.achievedRate)}/s, p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms, max backlog ${s.maxBacklogEvents === null ? '—' : fmt(s.maxBacklogEvents)}${s.sustained ? '' : ' (not sustained)'}; load average ${s.loadAverage.join(' ')}`,
        );
      }
    }
    // (e) past capacity, per architecture: the producers asked for more than the lab reads, with back-pressure on
    const overload: OverloadFigure[] = [];
    if (args.overloadRate > 0)
      for (const arch of args.archs) {
        const o = await loadStep(arch, args.overloadRate, args, args.overloadMaxLag);
        overload.push(o);
        console.log(overloadLine(o, fmt));
      }
    // (f) scale-out: one speed-layer process, then two in its group, over a backlog of `events`
    let scaleOut: ScaleOutResult | undefined;
    let kappaScaleOut: KappaScaleOutResult | undefined;
    const bin = fileURLToPath(
      new URL('../../bin/lklab.js', import.meta.url).href.replace('/dist/bin/', '/bin/'),
    );
    if (args.scaleOutSeconds > 0) {
      const loads = (): string =>
        loadavg()
          .map((l) => l.toFixed(2))
          .join(' ');
      // One producer pool fills both backlogs.
      const pool = await openKafkaProducePool({
        brokers: args.brokers,
        clientId: 'lkl-capacity-bench',
        clock: systemClock,
        workers: args.workers,
      });
      try {
        scaleOut = await speedLayerScaleOut({
          brokers: args.brokers,
          redisUrl: process.env.REDIS_URL!,
          partitions: args.partitions,
          seconds: args.scaleOutSeconds,
          bin,
          fill: async (topic) => {
            // The same events three times over: a backlog that outlasts both measurements.
            for (let copy = 0; copy < 3; copy++)
              for (let i = 0; i < records.length; i += args.batch)
                await pool.append(topic, records.slice(i, i + args.batch));
            return 3 * records.length;
          },
        });
        console.log(`${scaleOutLine('speed layer', scaleOut, fmt)}; load average ${loads()}`);
        // (g) the same for a Kappa replay: one `lklab kappa-worker`, then two in the replay's group
        kappaScaleOut = await kappaWorkersScaleOut({
          brokers: args.brokers,
          redisUrl: process.env.REDIS_URL!,
          partitions: args.partitions,
          events: args.kappaBacklog || Math.max(3 * args.events, 700_000 * args.scaleOutSeconds),
          append: async (topic, batch) => void (await pool.append(topic, batch)),
          seconds: args.scaleOutSeconds,
          bin,
        });
        console.log(`${kappaScaleOutLine(kappaScaleOut, fmt)}; load average ${loads()}`);
      } finally {
        await pool.close();
      }
    }
    const java = figures[0]!.eventsPerSec;
    const javaTuned = figures[1]!.eventsPerSec;
    const pct = (a: number, b: number): string => `${Math.round((a / b) * 1000) / 10} %`;
    const rows: Array<[string, string, string, string]> = [
      ['figure', 'events/s', '/ ProducerPerformance', '/ batching like ours'],
      ...figures.map((f): [string, string, string, string] => [
        f.what,
        fmt(f.eventsPerSec),
        pct(f.eventsPerSec, java),
        pct(f.eventsPerSec, javaTuned),
      ]),
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    const w2 = Math.max(...rows.map((r) => r[2].length));
    console.log('');
    console.log(
      `${fmt(args.events)} YSB events of ${Math.round(bytes / args.events)} B on average, ${args.partitions} partitions, appends of ${fmt(args.batch)}, idempotent, acks=all, brokers ${args.brokers.join(',')}`,
    );
    for (const [a, b, c, d] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padEnd(w2)}  ${d}`);
    console.log(`Java ConsumerPerformance on the ProducerPerformance topic: ${fmt(consumerPerf)} events/s`);
    const highest = Object.fromEntries(
      args.archs.map((a) => [
        a,
        Math.max(0, ...steps.filter((s) => s.arch === a && s.sustained).map((s) => s.targetRate)),
      ]),
    );
    for (const a of args.archs)
      if (args.steps.length > 0)
        console.log(
          `highest sustained step, ${a}: ${highest[a] ? `${fmt(highest[a])} events/s` : 'none of the steps'} (achieved ≥ 95 %, p99 ≤ 1 s; ${args.seconds} s steps; ProducerPerformance ${fmt(java)}, batching like ours ${fmt(javaTuned)}, ConsumerPerformance ${fmt(consumerPerf)})`,
        );
    console.log('');
    const report: DistributedCapacityReport & Record<string, unknown> = {
      bench: 'distributed-capacity',
      machine: m,
      args: { ...args },
      produce: figures.map((f) => ({
        ...f,
        ratioToJava: f.eventsPerSec / java,
        ratioToJavaBatchingLikeOurs: f.eventsPerSec / javaTuned,
        loadAverage: loads[f.what],
      })),
      javaBatchingLikeOurs: JAVA_LIKE_OURS,
      consumerPerfEventsPerSec: consumerPerf,
      steps,
      highestSustainedStep: highest,
      overload,
      scaleOut: scaleOut ?? null,
      kappaScaleOut: kappaScaleOut ?? null,
      peakRssBytes: peakRssBytes(),
    };
    const gaps = reportGaps(report);
    console.log(
      gaps.length === 0
        ? 'one-run report complete: producers, load steps, overload steps and both scale-outs'
        : `one-run report incomplete, not in this run: ${gaps.join('; ')}`,
    );
    console.log(JSON.stringify(report));
    if (args.json) writeJson(args.json, report);
  } finally {
    for (const t of topics)
      await log.deleteTopic(t).catch((err: unknown) => console.error(`could not delete topic ${t}:`, err));
    await log.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
