/**
 * Producing into Kafka at the rates the distributed lab needs (not a test), in one run:
 *   (a) Kafka's Java ProducerPerformance (idempotent, acks=all, the same YSB values) — the reference;
 *   (b) our producer on one thread: KafkaEventLog.append() in batches (idempotent, acks = all);
 *   (c) our producer pool (kernel/adapters/kafka-log/kafka-produce-pool.ts) with 1 and with N
 *       worker threads, each its own idempotent producer, partition p on thread p mod N;
 * every figure with the ratio to (a), each run into a fresh topic whose record count is checked
 * (nothing lost), then a table, the machine and load average, and one JSON line.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/distributed-capacity-bench.js [--events N] [--batch N] [--partitions N] [--workers N] [--brokers host:port] [--json FILE]
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
import type { AppendRecord } from '../kernel/ports/event-log.js';
import { openKafkaEventLog, type KafkaEventLog } from '../kernel/adapters/kafka-log/kafka-event-log.js';
import { openKafkaProducePool } from '../kernel/adapters/kafka-log/kafka-produce-pool.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import { flags, machine, peakRssBytes, requirePositiveIntegers, writeJson } from './bench-support.js';
import { fmt, timed } from './lib/measure.js';

const run = promisify(execFile);

interface Args {
  events: number;
  batch: number;
  partitions: number;
  workers: number;
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
      brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092',
      json: '',
    },
    {
      about:
        "Producing into Kafka: Kafka's ProducerPerformance beside the lab's producer on one thread and its producer pool with 1 and N worker threads (idempotent, acks=all; needs the local stack).",
      flags: {
        events: '<events> YSB events per run',
        batch: '<records> records per append call',
        partitions: '<n> partitions of each topic',
        workers: '<n> threads of the larger producer pool',
        brokers: '<host:port,...> Kafka bootstrap brokers (KAFKA_BROKERS when set)',
        json: '<file> also write the report as JSON to FILE',
      },
    },
    argv,
  );
  requirePositiveIntegers(f, ['events', 'batch', 'partitions', 'workers']);
  return {
    ...f,
    brokers: f.brokers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/** N YSB events keyed by ad_id, as the lab's generator appends them. */
function ysbRecords(n: number): AppendRecord[] {
  const gen = new YsbGenerator(buildReferenceData(), {
    seed: 42,
    mode: 'catch-up',
    rate: 0,
    startTime: 1_700_000_000_000,
  });
  const out: AppendRecord[] = [];
  while (out.length < n) {
    for (const r of gen.take(Math.min(50_000, n - out.length))) {
      out.push({ key: r.event!.ad_id, value: r.value });
    }
  }
  return out;
}

interface ProduceFigure {
  what: string;
  eventsPerSec: number;
  /** Events per CPU-second of this process (all its threads); undefined for the Java tool. */
  cpuEventsPerSec: number | undefined;
}

function stackScript(): string {
  return join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    ...(import.meta.url.includes('/dist/') ? ['..'] : []),
    'scripts',
    'stack',
    'stack.sh',
  );
}

/** Kafka's ProducerPerformance through the stack script; its last line is the summary. */
async function javaProducerPerf(topic: string, n: number, values: readonly AppendRecord[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-producer-perf-'));
  try {
    const payload = join(dir, 'payload.txt');
    writeFileSync(payload, values.map((r) => r.value).join('\n'));
    const { stdout } = await run('bash', [stackScript(), 'producer-perf', topic, String(n), payload], {
      maxBuffer: 10 * 2 ** 20,
    });
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
      note({ what: 'Java ProducerPerformance', eventsPerSec: rate, cpuEventsPerSec: undefined });
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
        what: 'ours, one thread (append)',
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
          what: `ours, producer pool of ${workers} thread${workers > 1 ? 's' : ''}`,
          eventsPerSec: Math.round(args.events / (t.ms / 1000)),
          cpuEventsPerSec: Math.round(args.events / (t.cpuMs / 1000)),
        });
      } finally {
        await pool.close();
      }
    }
    const java = figures[0]!.eventsPerSec;
    const rows: Array<[string, string, string]> = [
      ['figure', 'events/s', '/ ProducerPerformance'],
      ...figures.map((f): [string, string, string] => [
        f.what,
        fmt(f.eventsPerSec),
        `${Math.round((f.eventsPerSec / java) * 1000) / 10} %`,
      ]),
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    console.log('');
    console.log(
      `${fmt(args.events)} YSB events of ${Math.round(bytes / args.events)} B on average, ${args.partitions} partitions, appends of ${fmt(args.batch)}, idempotent, acks=all, brokers ${args.brokers.join(',')}`,
    );
    for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
    console.log('');
    const report = {
      bench: 'distributed-capacity',
      machine: m,
      args: { ...args },
      produce: figures.map((f) => ({ ...f, ratioToJava: f.eventsPerSec / java, loadAverage: loads[f.what] })),
      peakRssBytes: peakRssBytes(),
    };
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
