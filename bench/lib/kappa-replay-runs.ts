/**
 * The Kappa replay benchmark's replays (bench/kappa-replay-bench.ts): producing a YSB history,
 * timing one replay through the reprocessor, and part (a), the replays from the embedded log.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openEmbeddedEventLog } from '../../kernel/adapters/embedded-log/embedded-event-log.js';
import { openEmbeddedRealtimeStore } from '../../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../../kernel/clock/system-clock.js';
import { DEFAULTS, type LabConfig } from '../../kernel/config/defaults.js';
import { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import { YsbGenerator } from '../../kernel/workload/ysb-generator.js';
import {
  KappaReprocessor,
  type KappaSettings,
  offsetsNamespace,
  readMetaCounters,
  createReplayEngine,
} from '../../kappa-reprocessor/index.js';
import { waitUntil } from '../../kernel/util/wait-until.js';
import { type Args } from './kappa-replay-args.js';

export const ref = buildReferenceData();
export const TOPIC = 'ad-events';

export const fmt = (n: number): string => Math.round(n).toLocaleString('en');
export const log = (m: string): void => console.error(`[bench] ${m}`);

/**
 * Appends a YSB catch-up stream (seed 42); returns events/s. With `parallel`, one sequential
 * append loop per partition (records carry their partition: ad index mod partitions), so several
 * appends are in flight without reordering any partition — event time must grow per partition,
 * or the job rightly drops the "late" events.
 */
export async function produce(
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

export interface ReplayResult {
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
export async function timeReplay(
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

export async function embeddedReplays(a: Args): Promise<Record<string, unknown>> {
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
