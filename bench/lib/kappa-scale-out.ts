/**
 * Scale-out of a Kappa replay over processes (bench/distributed-capacity-bench.ts): replay job 2
 * (logic v2) of a topic of N YSB events is read by one `lklab kappa-worker` process, then a second
 * joins the replay's consumer group. How workers split a replay: each follows the job registry in
 * the store, joins the group of the running replay, and Kafka's group protocol gives each member
 * its partitions; a member checkpoints its partitions' output AND offsets in one store apply, and
 * fences itself off a partition another member checkpointed after a rebalance
 * (kappa-reprocessor/control/kappa-worker-host.ts). This bench plays the lab's control plane:
 * it writes the registry as a lab writes it when it starts a replay (job 1 live, job 2 replaying,
 * the snapshot of the log's ends), so that the two worker processes are the only consumers.
 *
 * Measured from Kafka's side, like the speed layer's scale-out: the rebalance time (second
 * process started → the group stable with two members holding partitions) and each process's
 * rate (its partitions' committed offsets over time; the runner commits them after each store
 * checkpoint). Then the replay runs to the end and its table is checked against the YSB truth
 * recounted from the events (test-support/recount.ts): exact, or the bench says how far off.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { createRealtimeStore } from '../../kernel/adapters/store-factory.js';
import { systemClock } from '../../kernel/clock/system-clock.js';
import { loadConfig } from '../../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, WINDOW_MS, windowStart } from '../../kernel/events/ysb-event.js';
import type { AppendRecord } from '../../kernel/ports/event-log.js';
import { LAB_MALLOC_ENV, LAB_NODE_FLAGS } from '../../kernel/util/node-flags.js';
import { YsbGenerator } from '../../kernel/workload/ysb-generator.js';
import { DEFAULT_GROUP_PREFIX, newJobRecord } from '../../kappa-reprocessor/control/index.js';
import {
  offsetsNamespace,
  readKappaWindows,
  readMetaCounters,
  saveRegistry,
} from '../../kappa-reprocessor/state/index.js';
import { catchUpEvents, ref, T0 } from '../../test-support/kappa-harness.js';
import { cellKey, recount, verdicts, type Verdicts } from '../../test-support/recount.js';
import { GroupWatch, measureScaleOut, stopProcesses } from './group-watch.js';
import type { ScaleOutResult } from './speed-scale-out.js';

const { Kafka, logLevel } = kafkajs;

export interface KappaScaleOutResult extends ScaleOutResult {
  /** The replay's table against the truth, once both processes read the whole topic. */
  exact: boolean;
  views: Omit<Verdicts, 'examples'>;
  /** Events the replay's checkpoints say it processed (its meta counter); = events when exact. */
  processed: number;
}

const SEED = 7;
const REPLAY_JOB = 2;
const REPLAY_LOGIC = 2;

export async function kappaWorkersScaleOut(opts: {
  brokers: string[];
  redisUrl: string;
  partitions: number;
  /** YSB events in the backlog (a catch-up stream, 10 ms of event time apart). */
  events: number;
  /** Appends records to a topic (namespaced name): the producer pool. */
  append: (topic: string, records: AppendRecord[]) => Promise<void>;
  /** Seconds measured with one process, and with two. */
  seconds: number;
  bin: string;
}): Promise<KappaScaleOutResult> {
  const ns = `kscale${randomUUID().slice(0, 6)}`;
  const topic = `${ns}.${AD_EVENTS_TOPIC}`;
  const jobGroup = `${DEFAULT_GROUP_PREFIX}${REPLAY_JOB}`;
  const kafka = new Kafka({
    brokers: opts.brokers,
    clientId: 'lkl-kappa-scale-out',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const env = { KAFKA_BROKERS: opts.brokers.join(','), REDIS_URL: opts.redisUrl, LKLAB_NAMESPACE: ns };
  const store = await createRealtimeStore(loadConfig({ env }), systemClock);
  const dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-scale-out-'));
  const procs: ChildProcess[] = [];
  const start = (): ChildProcess => {
    const p = spawn(
      process.execPath,
      [...LAB_NODE_FLAGS, opts.bin, 'kappa-worker', '--jobs', 'replays', '--poll-ms', '200'],
      { env: { ...process.env, ...LAB_MALLOC_ENV, ...env, LKLAB_DATA_DIR: dir }, stdio: 'ignore' },
    );
    procs.push(p);
    return p;
  };
  const watch = new GroupWatch(admin, `${ns}.${jobGroup}`, topic);
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: opts.partitions }], waitForLeaders: true });
    const gen = new YsbGenerator(ref, { seed: SEED, mode: 'catch-up', rate: 0, startTime: T0 });
    for (let done = 0; done < opts.events;) {
      const chunk = gen.take(Math.min(10_000, opts.events - done));
      done += chunk.length;
      await opts.append(
        topic,
        chunk.filter((r) => r.event).map((r) => ({ key: r.event!.ad_id, value: r.value })),
      );
    }
    const ends = await admin.fetchTopicOffsets(topic);
    // The registry as the lab leaves it at the start of a replay: job 1 live (its runner elsewhere,
    // not started here), job 2 replaying from the earliest offset up to this snapshot.
    const now = Date.now();
    const live = newJobRecord({
      id: 1,
      logicVersion: 1,
      group: `${DEFAULT_GROUP_PREFIX}1`,
      state: 'live',
      kind: 'initial',
      createdAt: now,
    });
    live.activatedAt = now;
    const replay = newJobRecord({
      id: REPLAY_JOB,
      logicVersion: REPLAY_LOGIC,
      group: jobGroup,
      state: 'replaying',
      kind: 'replay',
      createdAt: now,
    });
    replay.parallelism = 1;
    replay.source = 'log';
    replay.snapshot = ends.map((p) => ({ partition: p.partition, end: Number(p.high) }));
    await saveRegistry(store, [live, replay], { job: 1, logicVersion: 1, previous: null, switchedAt: null });

    const figures = await measureScaleOut(watch, start, opts.seconds, 'kappa-worker', async () => {
      // From its first checkpoint on (the group's offsets are committed after each), plus one interval.
      for (let i = 0; i < 600 && [...(await watch.committed()).values()].every((o) => o === 0); i++)
        await sleep(100);
      await sleep(1000);
    });

    // The rest of the replay, then its table against the truth. The store's offsets are the job's
    // own record of progress (the group's are for display).
    const total = opts.events;
    const stored = async (): Promise<number> =>
      Object.values(await store.readOffsets(offsetsNamespace(REPLAY_JOB))).reduce((a, b) => a + b, 0);
    const drainBy =
      performance.now() +
      Math.max(
        120_000,
        (figures.backlogLeftAtEnd / Math.max(1, figures.twoProcessesTotalEventsPerSec)) * 3000,
      );
    while ((await stored()) < total && performance.now() < drainBy) await sleep(500);
    await stopProcesses(procs);
    const truth = recount(catchUpEvents(SEED, total, T0), ref, { excludeBots: true });
    const windows: number[] = [];
    for (let w = windowStart(T0); w <= windowStart(T0 + total * 10); w += WINDOW_MS) windows.push(w);
    const served = new Map<string, number>();
    for (let i = 0; i < windows.length; i += 500)
      for (const c of await readKappaWindows(store, REPLAY_JOB, windows.slice(i, i + 500), {
        distinct: false,
      }))
        served.set(cellKey(c.campaign, c.window), c.views);
    const { examples: _examples, ...views } = verdicts(served, truth.views, -Infinity, Infinity);
    const processed = (await readMetaCounters(store, REPLAY_JOB)).processed;
    return {
      events: total,
      partitions: opts.partitions,
      ...figures,
      exact: views.differ === 0 && views.missing === 0 && views.extra === 0 && processed === total,
      views,
      processed,
    };
  } finally {
    await stopProcesses(procs);
    await store.deleteByPrefix('').catch(() => undefined);
    for (const job of [1, REPLAY_JOB])
      await store.deleteOffsets(offsetsNamespace(job)).catch(() => undefined);
    await store.close();
    await admin.deleteTopics({ topics: [topic, `${topic}-dead-letter`] }).catch(() => undefined);
    await admin.deleteGroups([`${ns}.${jobGroup}`]).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
