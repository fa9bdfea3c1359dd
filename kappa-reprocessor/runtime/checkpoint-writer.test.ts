import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openEmbeddedEventLog,
  type EmbeddedEventLog,
} from '../../kernel/adapters/embedded-log/embedded-event-log.js';
import {
  openEmbeddedRealtimeStore,
  type EmbeddedRealtimeStore,
} from '../../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../../kernel/clock/system-clock.js';
import { encodeEvent, windowStart, type YsbEvent } from '../../kernel/events/ysb-event.js';
import { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, LabEventBus, type LabEvent } from '../../kernel/instrumentation/lab-events.js';
import type { LogRecord } from '../../kernel/ports/event-log.js';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import { InlineEngine, kappaLogic, NO_EVENT_TIME } from '../operator/index.js';
import { offsetsNamespace, readKappaWindows, readMetaCounters } from '../state/index.js';
import { CheckpointWriter, type CheckpointHooks } from './checkpoint-writer.js';
import { emptyRunnerCounters, type RunnerCounters } from './job-runner-types.js';
import { PartitionCursor } from './partition-cursor.js';

const ref = buildReferenceData();
const ctx = { campaignOf: ref.campaignOf, bots: new Set(ref.bots), movedAds: ref.movedAds };
const ad = ref.ads[0]!;
const campaign = ref.campaignOf.get(ad.ad_id)!;
const T = 1_700_000_000_000;
const JOB = 7;

const view = (t: number, user: string): string =>
  encodeEvent({
    user_id: user,
    page_id: ref.pagePool[0]!,
    ad_id: ad.ad_id,
    ad_type: 'banner',
    event_type: 'view',
    event_time: String(t),
    ip_address: '1.2.3.4',
  } satisfies YsbEvent);

const records = (from: number, values: string[]): LogRecord[] =>
  values.map((value, i) => ({ offset: from + i, timestamp: T, key: undefined, value }));

interface Rig {
  writer: CheckpointWriter;
  engine: InlineEngine;
  cursors: Map<number, PartitionCursor>;
  stats: RunnerCounters;
  fenced: Array<{ partition: number; stored: number | undefined }>;
  commits: Array<{ partition: number; offset: number }>;
  events: LabEvent[];
}

describe('CheckpointWriter on the embedded store and log', () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let store: EmbeddedRealtimeStore;
  let deadLetters: DeadLetterWriter;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lkl-ckpt-'));
    log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock, retentionCheckIntervalMs: 0 });
    store = await openEmbeddedRealtimeStore({ clock: systemClock });
    deadLetters = new DeadLetterWriter(log, systemClock, 'kappa-ckpt-dead-letters');
  });
  afterEach(async () => {
    await store.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  function rig(): Rig {
    const engine = new InlineEngine(kappaLogic(1), ctx, { maxOutOfOrderMs: 1_000, allowedLatenessMs: 5_000 });
    const cursors = new Map<number, PartitionCursor>();
    const stats = emptyRunnerCounters();
    const fenced: Rig['fenced'] = [];
    const commits: Rig['commits'] = [];
    const events: LabEvent[] = [];
    const bus = new LabEventBus();
    bus.on('*', (e) => events.push(e));
    const hooks: CheckpointHooks = {
      cursor: (p) => cursors.get(p),
      cursors: () => cursors.values(),
      fence: async (c, stored) => {
        fenced.push({ partition: c.partition, stored });
        cursors.set(c.partition, c.fencedAt(stored));
      },
      engineLost: () => undefined,
      stored: () => undefined,
      commitGroupOffsets: async (offsets) => void commits.push(...offsets),
    };
    const writer = new CheckpointWriter(
      {
        store,
        deadLetters,
        clock: systemClock,
        bus,
        job: { id: JOB, logicVersion: 1, group: 'g' },
        topic: 'ads',
        runner: 'test',
        engine,
        stats,
      },
      hooks,
    );
    return { writer, engine, cursors, stats, fenced, commits, events };
  }

  /** Hands records to the engine the way the runner does, and moves the partition's cursor. */
  function feed(r: Rig, partition: number, batch: LogRecord[]): void {
    let c = r.cursors.get(partition);
    if (!c) {
      c = new PartitionCursor(partition, undefined);
      r.engine.init(partition, NO_EVENT_TIME);
      r.cursors.set(partition, c);
    }
    const admission = c.admit(batch);
    if (admission.kind !== 'process') throw new Error(`unexpected ${admission.kind}`);
    r.engine.process(partition, batch, admission.from);
    c.advance(batch[batch.length - 1]!.offset, batch.length - admission.from);
  }

  it('stores the windows, counters and offsets in one apply, dead letters first, then commits the group offsets', async () => {
    await deadLetters.ensureTopic();
    const r = rig();
    const users = ref.userPool.slice(0, 3);
    feed(
      r,
      0,
      records(0, [view(T, users[0]!), view(T + 1, users[1]!), view(T + 2, users[1]!), 'not an event']),
    );
    feed(r, 1, records(0, [view(T + 3, users[2]!)]));
    await r.writer.checkpoint();

    expect(await store.readOffsets(offsetsNamespace(JOB))).toEqual({ 0: 4, 1: 1 });
    const counters = await readMetaCounters(store, JOB);
    expect(counters).toMatchObject({ processed: 5, counted: 4, invalid: 1 });
    const w = windowStart(T);
    const cells = await readKappaWindows(store, JOB, [w], { distinct: true });
    expect(cells).toEqual([expect.objectContaining({ campaign, window: w, views: 4, distinctUsers: 3 })]);
    expect((await log.offsets(deadLetters.topic))[0]!.end).toBe(1);
    expect(r.commits).toEqual([
      { partition: 0, offset: 4 },
      { partition: 1, offset: 1 },
    ]);
    expect(r.cursors.get(0)!.position()).toMatchObject({ next: 4, checkpointed: 4 });
    expect(r.stats).toMatchObject({ checkpoints: 1, checkpointErrors: 0 });
    const done = r.events.filter((e) => e.name === LAB_EVENTS.KAPPA_CHECKPOINT);
    expect(done.map((e) => e.payload)).toEqual([
      expect.objectContaining({ job: JOB, events: 5, partitions: 2 }),
    ]);

    // Nothing moved since: the next checkpoint writes nothing.
    await r.writer.checkpoint();
    expect(r.stats.checkpoints).toBe(1);
    expect(r.commits).toHaveLength(2);
  });

  it('fences a partition another member checkpointed meanwhile and writes only the others', async () => {
    const other = rig();
    feed(other, 1, records(0, [view(T, ref.userPool[0]!), view(T, ref.userPool[1]!)]));
    await other.writer.checkpoint();

    const r = rig();
    feed(r, 0, records(0, [view(T, ref.userPool[2]!)]));
    feed(r, 1, records(0, [view(T, ref.userPool[3]!)])); // base undefined, the store has 2
    await r.writer.checkpoint();

    expect(r.fenced).toEqual([{ partition: 1, stored: 2 }]);
    expect(r.cursors.get(1)!.position()).toMatchObject({ next: 2, checkpointed: 2 });
    expect(await store.readOffsets(offsetsNamespace(JOB))).toEqual({ 0: 1, 1: 2 });
    const cells = await readKappaWindows(store, JOB, [windowStart(T)], { distinct: true });
    // Partition 1's view from the fenced member is not in the table: 2 (other) + 1 (partition 0).
    expect(cells[0]).toMatchObject({ views: 3, distinctUsers: 3 });
    expect(r.stats.checkpoints).toBe(1);
  });

  it('keeps what a failed checkpoint could not store and writes it, once, with the next one', async () => {
    const r = rig();
    feed(r, 0, records(0, [view(T, ref.userPool[0]!), 'not an event']));
    // The dead-letter topic does not exist yet: the dead letters, hence the whole checkpoint, fail.
    await expect(r.writer.checkpoint()).rejects.toMatchObject({ code: 'LKL_ERR_LOG_TOPIC_UNKNOWN' });
    expect(r.stats).toMatchObject({ checkpoints: 0, checkpointErrors: 1 });
    expect(r.events.some((e) => e.name === LAB_EVENTS.KAPPA_CHECKPOINT_FAILED)).toBe(true);
    expect(await store.readOffsets(offsetsNamespace(JOB))).toEqual({});
    expect(r.cursors.get(0)!.dirty(false)).toBe(true);

    await deadLetters.ensureTopic();
    feed(r, 0, records(2, [view(T + 5, ref.userPool[1]!)]));
    await r.writer.checkpoint();
    expect(await store.readOffsets(offsetsNamespace(JOB))).toEqual({ 0: 3 });
    expect(await readMetaCounters(store, JOB)).toMatchObject({ processed: 3, counted: 2, invalid: 1 });
    const cells = await readKappaWindows(store, JOB, [windowStart(T)], { distinct: true });
    expect(cells[0]).toMatchObject({ views: 2, distinctUsers: 2 });
    expect((await log.offsets(deadLetters.topic))[0]!.end).toBe(1);
  });
});
