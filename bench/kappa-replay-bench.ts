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
 *       [--engines inline,workers:2] [--peer kafka-streams,flink] [--keep-topic] [--json FILE]
 *   node --import tsx bench/kappa-replay-bench.ts [...]                                  (from the sources)
 *
 * The embedded data set is kept in --dir (default $TMPDIR/lklab-kappa-bench) and reused. The Kafka
 * topic gets a random name and is deleted at the end; with --keep-topic it is kappa-bench.ysb-<N>,
 * kept on the broker and reused. Kafka needs KAFKA_BROKERS and REDIS_URL (npm run stack:up).
 * --peer kafka-streams,flink also replays the same topic with the YSB Kafka Streams application
 * (bench/peers/kafka-streams-ysb) and/or the YSB Flink job (bench/peers/flink-ysb), and prints
 * ours / peer and each peer's share of ConsumerPerformance. --json FILE writes the report to FILE.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { arch, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../kernel/clock/system-clock.js';
import { DEFAULTS } from '../kernel/config/defaults.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { createEventLog } from '../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../kernel/adapters/store-factory.js';
import { type KappaSettings } from '../kappa-reprocessor/index.js';
import { flags, peakRssBytes, usageError, writeJson } from './bench-support.js';
import { PEER_LABEL, PEERS, type PeerName, peerReplay, type PeerReplayResult } from './kafka-streams-peer.js';
import type { Args } from './lib/kappa-replay-args.js';
import {
  fmt,
  log,
  produce,
  type ReplayResult,
  timeReplay,
  embeddedReplays,
} from './lib/kappa-replay-runs.js';
import { liveLatency } from './lib/kappa-live-latency.js';
import { parseConsumerPerf, stackScript } from './lib/kafka-tools.js';

const run = promisify(execFile);

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
        peer: '<kafka-streams,flink> also replay with these peers, comma-separated; none = no peer',
        keepTopic: 'keep the Kafka topic (kappa-bench.ysb-<N>) on the broker and reuse it',
        json: '<file> also write the report as JSON to FILE',
      },
    },
    argv,
  );
  for (const p of f.peer.split(',').filter((x) => x && x !== 'none'))
    if (!(PEERS as readonly string[]).includes(p))
      usageError(`--peer ${p}: the peers are ${PEERS.join(', ')} (comma-separated) or none`);
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
    const peers: Partial<Record<PeerName, PeerReplayResult | { error: string }>> = {};
    for (const name of a.peer.split(',').filter((x) => x && x !== 'none') as PeerName[]) {
      log(`kafka: the YSB ${PEER_LABEL[name]} peer (Java) replays the same topic`);
      // Threads / parallelism: the peer's default, the number of cores.
      const r = await peerReplay({ peer: name, brokers, topic: physical, events: a.kafkaEvents }).catch(
        (err: Error) => ({ error: err.message.slice(0, 2000) }),
      );
      if ('error' in r) log(`kafka: the ${PEER_LABEL[name]} peer failed: ${r.error}`);
      else {
        if (r.countSum !== r.views)
          throw new Error(`the ${PEER_LABEL[name]} peer counted ${r.countSum} views of ${r.views}`);
        log(
          `kafka: ${PEER_LABEL[name]} peer replay ${fmt(r.eventsPerSec)} events/s over ${fmt(r.events)} events`,
        );
      }
      peers[name] = r;
    }
    const peer = peers['kafka-streams'] ?? null;
    const flinkPeer = peers.flink ?? null;
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
    return {
      events: a.kafkaEvents,
      topic: physical,
      appendRate,
      javaConsumerPerf: perf,
      peer,
      flinkPeer,
      results,
    };
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
    const { stdout } = await run('bash', [stackScript(), 'consumer-perf', topic, String(n)], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 600_000,
    });
    return parseConsumerPerf(stdout);
  } catch (err) {
    return { error: (err as Error).message.slice(0, 500) };
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
    const best = Math.max(...Object.values(kafka.results as Record<string, ReplayResult>).map((r) => r.rate));
    const ceiling = perf && 'nMsg.sec' in perf ? Number(perf['nMsg.sec']) : 0;
    const ratios: string[] = [];
    for (const [name, key] of [
      ['kafka-streams', 'peer'],
      ['flink', 'flinkPeer'],
    ] as const) {
      const peer = kafka[key] as PeerReplayResult | { error: string } | null;
      if (!peer || 'error' in peer) continue;
      console.log(
        `| replay, ${PEER_LABEL[name]} peer (Java, ${peer.threads} threads, incl. start-up), same topic | ${fmt(peer.events)} | ${peer.seconds.toFixed(1)} | ${fmt(peer.eventsPerSec)} | (other process) |`,
      );
      ratios.push(
        `ours / ${PEER_LABEL[name]} peer (best Kafka replay): ${((best / peer.eventsPerSec) * 100).toFixed(0)} %` +
          (ceiling
            ? `; ${PEER_LABEL[name]} / ConsumerPerformance: ${((peer.eventsPerSec / ceiling) * 100).toFixed(0)} % from start, ${((peer.eventsPerSecFromFirstRecord / ceiling) * 100).toFixed(0)} % from its first record`
            : ''),
      );
    }
    if (ratios.length) console.log(`\n${ratios.join('\n')}`);
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
