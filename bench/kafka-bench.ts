/**
 * Benchmark of the Kafka adapter against a real broker (not a test):
 *   (a) produce: N pre-generated YSB events through the adapter's append() in batches
 *       (idempotent producer, acks = all) into a fresh topic;
 *   (b) consume: all N through the adapter's consumer from earliest, JSON.parse of every value
 *       (counting views, checked against the generator);
 *   (c) Kafka's Java ConsumerPerformance on the same topic in the same run, as the reference;
 * then prints a table, the machine, and one JSON line with the figures. The topic is deleted at
 * the end.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/kafka-bench.js [--events N] [--batch N] [--partitions N] [--rounds N] [--brokers host:port] [--json FILE]
 *   node --import tsx bench/kafka-bench.ts [...]                      (from the sources)
 *
 * Needs the local stack (`bash scripts/stack/stack.sh up`) for (c); --brokers defaults to
 * KAFKA_BROKERS, else 127.0.0.1:19092.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { AppendRecord } from '../kernel/ports/event-log.js';
import { openKafkaEventLog } from '../kernel/adapters/kafka-log/kafka-event-log.js';
import { flags, peakRssBytes, requirePositiveIntegers, writeJson } from './bench-support.js';
import { fmt, median, timed } from './lib/measure.js';
import { generateEvents, type ConsumeRound, consumeAll } from './lib/kafka-consume.js';
import { consumerPerfColumn, parseConsumerPerf, stackScript } from './lib/kafka-tools.js';

const run = promisify(execFile);

interface Args {
  events: number;
  batch: number;
  partitions: number;
  rounds: number;
  brokers: string[];
  /** --json FILE: also write the report there. */
  json: string;
}

function parseArgs(argv: string[]): Args {
  const f = flags(
    {
      events: 1_000_000,
      batch: 10_000,
      partitions: 4,
      rounds: 3,
      brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092',
      json: '',
    },
    {
      about:
        "Kafka through the lab's adapter: produce rate, consume rate, and our consumer beside Kafka's ConsumerPerformance on the same topic (needs the local stack).",
      flags: {
        events: '<events> YSB events produced per round',
        batch: '<records> records per produce call',
        partitions: '<n> partitions of the topic',
        rounds: '<n> rounds (median is reported)',
        brokers: '<host:port,...> Kafka bootstrap brokers (KAFKA_BROKERS when set)',
        json: '<file> also write the report as JSON to FILE',
      },
    },
    argv,
  );
  requirePositiveIntegers(f, ['events', 'batch', 'partitions', 'rounds']);
  return {
    ...f,
    brokers: f.brokers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/** N YSB events (catch-up mode: event_time = start + n × 10 ms), values only. */

interface JavaPerf {
  mbPerSec: number;
  eventsPerSec: number;
  fetchMbPerSec: number;
  fetchEventsPerSec: number;
  rebalanceMs: number;
  messages: number;
  /** Events per CPU-second of the whole tool run (JVM start and JIT included). */
  cpuEventsPerSec: number;
}

/** Kafka's ConsumerPerformance through the stack script; parses its CSV-like report. */
async function javaConsumerPerf(topic: string, n: number): Promise<JavaPerf> {
  const script = stackScript();
  // bash's `time` reports the CPU time of the whole tool run (JVM start and JIT included).
  const { stdout, stderr } = await run(
    'bash',
    [
      '-c',
      'TIMEFORMAT="LKL_CPU %U %S"; time bash "$0" consumer-perf "$1" "$2" --timeout 60000',
      script,
      topic,
      String(n),
    ],
    { maxBuffer: 10 * 2 ** 20 },
  );
  const cpu = /LKL_CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  const cpuSeconds = cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN;
  const report = parseConsumerPerf(stdout);
  const col = (name: string): number => consumerPerfColumn(report, name);
  return {
    mbPerSec: col('MB.sec'),
    eventsPerSec: col('nMsg.sec'),
    fetchMbPerSec: col('fetch.MB.sec'),
    fetchEventsPerSec: col('fetch.nMsg.sec'),
    rebalanceMs: col('rebalance.time.ms'),
    messages: col('data.consumed.in.nMsg'),
    cpuEventsPerSec: Math.round(n / cpuSeconds),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch} ${release()}`,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  console.log(
    `machine: ${machine.cpu} × ${machine.cores}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}, load average ${machine.loadAverageAtStart.join(' ')}`,
  );
  console.log(`generating ${fmt(args.events)} YSB events...`);
  const generated = generateEvents(args.events);
  const expectedViews = generated.views;
  const bytes = generated.values.reduce((a, v) => a + v.length, 0);
  let records: AppendRecord[] | undefined = generated.values.map((value) => ({ value }));
  generated.values = [];

  const log = await openKafkaEventLog({
    brokers: args.brokers,
    clientId: 'lkl-kafka-bench',
    clock: systemClock,
  });
  const topic = `bench-ysb-${randomUUID()}`;
  try {
    await log.ensureTopic(topic, { partitions: args.partitions });
    // (a) produce
    const produce = await timed(async () => {
      for (let i = 0; i < records!.length; i += args.batch)
        await log.append(topic, records!.slice(i, i + args.batch));
    });
    // A consumer does not hold a million events in memory: drop them before consuming.
    records = undefined;
    const offsets = await log.offsets(topic);
    const stored = offsets.reduce((a, p) => a + p.end - p.low, 0);
    if (stored !== args.events) throw new Error(`the topic holds ${stored} events, expected ${args.events}`);
    const produceRate = Math.round(args.events / (produce.ms / 1000));
    console.log(
      `(a) produce: ${fmt(produceRate)} events/s (${fmt(args.events / (produce.cpuMs / 1000))} per CPU-second)`,
    );

    // (b) consume through the adapter, (c) Java ConsumerPerformance, alternating rounds
    const ours: ConsumeRound[] = [];
    const java: JavaPerf[] = [];
    for (let r = 0; r < args.rounds; r++) {
      const round = await consumeAll(log, topic, args.events);
      if (round.views !== expectedViews)
        throw new Error(`counted ${round.views} views, expected ${expectedViews}`);
      ours.push(round);
      const j = await javaConsumerPerf(topic, args.events);
      if (j.messages !== args.events)
        throw new Error(`ConsumerPerformance read ${j.messages} messages, expected ${args.events}`);
      java.push(j);
      console.log(
        `round ${r + 1}/${args.rounds}: ours ${fmt(round.eventsPerSec)}/s (fetch ${fmt(round.fetchEventsPerSec)}/s, join ${round.joinMs} ms); Java ${fmt(j.eventsPerSec)}/s (fetch ${fmt(j.fetchEventsPerSec)}/s, rebalance ${fmt(j.rebalanceMs)} ms)`,
      );
    }

    const results = {
      events: args.events,
      avgEventBytes: Math.round(bytes / args.events),
      partitions: args.partitions,
      batch: args.batch,
      rounds: args.rounds,
      produceEventsPerSec: produceRate,
      produceCpuEventsPerSec: Math.round(args.events / (produce.cpuMs / 1000)),
      oursConsumeEventsPerSec: median(ours.map((o) => o.eventsPerSec)),
      oursConsumeFetchEventsPerSec: median(ours.map((o) => o.fetchEventsPerSec)),
      oursConsumeCpuEventsPerSec: median(ours.map((o) => o.cpuEventsPerSec)),
      oursJoinMs: median(ours.map((o) => o.joinMs)),
      javaConsumerPerfEventsPerSec: median(java.map((j) => j.eventsPerSec)),
      javaConsumerPerfMbPerSec: median(java.map((j) => j.mbPerSec)),
      javaConsumerPerfFetchEventsPerSec: median(java.map((j) => j.fetchEventsPerSec)),
      javaRebalanceMs: median(java.map((j) => j.rebalanceMs)),
      javaCpuEventsPerSec: median(java.map((j) => j.cpuEventsPerSec)),
      ratio: 0,
      fetchRatio: 0,
      loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    };
    results.ratio =
      Math.round((results.oursConsumeEventsPerSec / results.javaConsumerPerfEventsPerSec) * 1000) / 10;
    results.fetchRatio =
      Math.round((results.oursConsumeFetchEventsPerSec / results.javaConsumerPerfFetchEventsPerSec) * 1000) /
      10;

    const rows: Array<[string, string]> = [
      ['figure (median of ' + args.rounds + ' rounds)', 'events/s'],
      [
        `ours: produce (append, batches of ${fmt(args.batch)}, acks=all, idempotent)`,
        fmt(results.produceEventsPerSec),
      ],
      ['ours: consume from earliest + JSON.parse (incl. group join)', fmt(results.oursConsumeEventsPerSec)],
      [
        'Java ConsumerPerformance nMsg.sec (incl. rebalance, no deserialization)',
        fmt(results.javaConsumerPerfEventsPerSec),
      ],
      ['ratio ours / Java (target ≥ 50 %)', `${results.ratio} %`],
      ['ours: consume, first batch → last (like fetch.nMsg.sec)', fmt(results.oursConsumeFetchEventsPerSec)],
      ['Java ConsumerPerformance fetch.nMsg.sec', fmt(results.javaConsumerPerfFetchEventsPerSec)],
      ['ratio ours / Java, fetch only', `${results.fetchRatio} %`],
      ['ours: consume, events per CPU-second of the process', fmt(results.oursConsumeCpuEventsPerSec)],
      ['Java: events per CPU-second of the tool run (JVM start incl.)', fmt(results.javaCpuEventsPerSec)],
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    console.log('');
    console.log(
      `${fmt(args.events)} YSB events of ${results.avgEventBytes} B on average (${fmt(bytes / 2 ** 20)} MiB), ${args.partitions} partitions, brokers ${args.brokers.join(',')}; Java ConsumerPerformance ${fmt(results.javaConsumerPerfMbPerSec)} MB/s; load average at end ${results.loadAverageAtEnd.join(' ')}`,
    );
    for (const [a, b] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}`);
    console.log('');
    const report = {
      bench: 'kafka-log',
      machine,
      results,
      perRound: { ours, java },
      peakRssBytes: peakRssBytes(),
    };
    console.log(JSON.stringify(report));
    if (args.json) writeJson(args.json, report);
  } finally {
    await log
      .deleteTopic(topic)
      .catch((err: unknown) => console.error(`could not delete topic ${topic}:`, err));
    await log.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
