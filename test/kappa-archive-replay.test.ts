import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticDb, BatchIngestor, MasterArchive, MasterDataset } from '../batch-layer/index.js';
import {
  openEmbeddedEventLog,
  type EmbeddedEventLog,
} from '../kernel/adapters/embedded-log/embedded-event-log.js';
import {
  openEmbeddedRealtimeStore,
  type EmbeddedRealtimeStore,
} from '../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import {
  appendCatchUp,
  catchUpEvents,
  catchUpRange,
  kappaSettings,
  ref,
  servedKappa,
  startKappa,
  T0,
  type KappaRig,
} from '../test-support/kappa-harness.js';
import { expectAllCorrect } from '../test-support/expect-all-correct.js';
import { recount } from '../test-support/recount.js';

/** LKLAB_KAPPA_TEST_EVENTS lowers it on a slow machine; the issue asks for 1 M. */
const N = Number(process.env.LKLAB_KAPPA_TEST_EVENTS ?? 1_000_000);
const TOPIC = 'ad-events';
const SEED = 23;
const KNOBS = { botShare: 0.1 };
/** The batch ingest reads this share of the stream before it stops; the rest is only in the log. */
const ARCHIVED = Math.floor(N * 0.9);
/** The rest continues in event time (catch-up streams advance 10 ms per event). */
const REST_START = T0 + ARCHIVED * 10;

describe(`Kappa+ archive replay after retention removed offset 0 (${N.toLocaleString('en')} YSB events, embedded)`, () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let store: EmbeddedRealtimeStore;
  let db: AnalyticDb;
  let master: MasterDataset;
  let rig: KappaRig;
  const { from, to } = catchUpRange(N);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-archive-'));
    log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock, retentionCheckIntervalMs: 0 });
    // About 400 bytes per event on disk: a partition keeps the newest ~20 % (more than the 10 % not archived).
    const perPartition = Math.ceil((N / 4) * 0.25) * 310;
    await log.ensureTopic(TOPIC, {
      partitions: 4,
      segmentBytes: Math.max(16_384, Math.floor(perPartition / 8)),
      retentionBytes: perPartition,
    });
    store = await openEmbeddedRealtimeStore({ clock: systemClock });
    db = await AnalyticDb.open(ref);
    master = new MasterDataset(dir, TOPIC);
    const bus = new LabEventBus(1000);
    const deadLetters = new DeadLetterWriter(log, systemClock, `${TOPIC}-dead-letter`);
    await deadLetters.ensureTopic();
    // The first 90 % goes through the batch ingest into the master dataset (the archive).
    await appendCatchUp(log, TOPIC, SEED, ARCHIVED, undefined, KNOBS);
    const ingest = new BatchIngestor(log, master, db, deadLetters, systemClock, bus, {
      topic: TOPIC,
      group: 'lklab-batch-ingest',
      intervalMs: 60_000,
      maxSplitEvents: 200_000,
    });
    await ingest.start();
    await ingest.sync(120_000);
    await ingest.stop();
    // The rest only reaches the log; then retention drops every partition's oldest segments.
    await appendCatchUp(log, TOPIC, SEED + 1, N - ARCHIVED, REST_START, KNOBS);
    await log.enforceRetention!();
    rig = await startKappa(
      log,
      store,
      TOPIC,
      kappaSettings({ checkpointIntervalMs: 300, catchUpDwellMs: 300, replayParallelism: 2 }),
      { archive: new MasterArchive(master, () => db) },
    );
  }, 240_000);
  afterAll(async () => {
    await rig?.kappa.stop();
    db?.close();
    await store?.close();
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function* allEvents() {
    yield* catchUpEvents(SEED, ARCHIVED, undefined, KNOBS);
    yield* catchUpEvents(SEED + 1, N - ARCHIVED, REST_START, KNOBS);
  }

  it('the pre-flight offers the archive (log replay impossible), with the cut-over per partition', async () => {
    const offsets = await log.offsets(TOPIC);
    expect(offsets.every((p) => p.low > 0)).toBe(true);
    const pre = await rig.kappa.preflight();
    expect(pre.ok).toBe(false);
    expect(pre.options.log.possible).toBe(false);
    expect(pre.options.archive).toMatchObject({ possible: true, problems: [] });
    expect(pre.options.choice).toBe('archive');
    const manifest = master.snapshot.offsets;
    for (const p of pre.options.archive.partitions) {
      expect(p.cutover).toBe(manifest[String(p.partition)]);
      expect(p.low).toBeGreaterThan(0);
      expect(p.low).toBeLessThanOrEqual(p.cutover);
    }
    expect(pre.options.archive.fromLog).toBe(N - ARCHIVED);
    // The default source stays the log: refused, and the message names the archive.
    await expect(rig.kappa.startReplay({ logicVersion: 2 })).rejects.toThrow(/source "archive"/);
  });

  it('replays logic v2 from the archive up to the cut-over, then from the log: every window equals the truth', async () => {
    const t0 = performance.now();
    const job = await rig.kappa.startReplay({ logicVersion: 2, source: 'archive' });
    expect(job).toMatchObject({ id: 2, source: 'archive', state: 'replaying' });
    expect(job.cutover).toHaveLength(4);
    await rig.kappa.waitForState(2, ['live'], 200_000);
    const ms = performance.now() - t0;
    await rig.kappa.sync(2, 60_000);
    const truth = recount(allEvents(), ref, { excludeBots: true });
    const views = await servedKappa(store, 'views', from, to);
    expect([...views.jobs]).toEqual([2]);
    expectAllCorrect(views.values, truth.views, from, to);
    const distinct = await servedKappa(store, 'distinct_users', from, to);
    expectAllCorrect(distinct.values, truth.distinct, from, to);
    const view = (await rig.kappa.view()).jobs.find((j) => j.id === 2)!;
    expect(view.counters.processed).toBe(N);
    expect(view.counters.invalid).toBe(0);
    expect(view.counters.dropped).toBe(0);
    console.log(
      `[kappa+] archive replay: ${N} events in ${ms.toFixed(0)} ms (${Math.round((N / ms) * 1000)} events/s incl. catch-up and switchover)`,
    );
  }, 240_000);
});

describe('Kappa+ archive replay: a restart mid-archive resumes from the archive, past the cut-over from the log', () => {
  const n = 100_000;
  const archived = 90_000;
  const restStart = T0 + archived * 10;
  let dir: string;
  let log: EmbeddedEventLog;
  let store: EmbeddedRealtimeStore;
  let db: AnalyticDb;
  let master: MasterDataset;
  const rigs: KappaRig[] = [];
  const { from, to } = catchUpRange(n);
  const settings = kappaSettings({ checkpointIntervalMs: 100, catchUpDwellMs: 300, replayParallelism: 2 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-archive-restart-'));
    log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock, retentionCheckIntervalMs: 0 });
    await log.ensureTopic(TOPIC, { partitions: 2, segmentBytes: 65_536, retentionBytes: 25_000 * 310 });
    store = await openEmbeddedRealtimeStore({ clock: systemClock });
    db = await AnalyticDb.open(ref);
    master = new MasterDataset(dir, TOPIC);
    const deadLetters = new DeadLetterWriter(log, systemClock, `${TOPIC}-dead-letter`);
    await deadLetters.ensureTopic();
    await appendCatchUp(log, TOPIC, 5, archived);
    const ingest = new BatchIngestor(log, master, db, deadLetters, systemClock, new LabEventBus(100), {
      topic: TOPIC,
      group: 'lklab-batch-ingest',
      intervalMs: 60_000,
      maxSplitEvents: 30_000,
    });
    await ingest.start();
    await ingest.sync(60_000);
    await ingest.stop();
    await appendCatchUp(log, TOPIC, 6, n - archived, restStart);
    await log.enforceRetention!();
  }, 120_000);
  afterAll(async () => {
    for (const r of rigs) await r.kappa.stop();
    db?.close();
    await store?.close();
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stopped while reading the archive and started again, the replay counts every event once', async () => {
    const archive = new MasterArchive(master, () => db);
    expect((await log.offsets(TOPIC)).every((p) => p.low > 0)).toBe(true);
    const first = await startKappa(log, store, TOPIC, settings, { archive });
    rigs.push(first);
    // Rate-limited so that the stop lands inside the archive phase.
    await first.kappa.startReplay({ logicVersion: 1, source: 'archive', rateLimit: 20_000 });
    const cutover = new Map(first.kappa.job(2)!.cutover!.map((c) => [c.partition, c.cutover]));
    const deadline = Date.now() + 30_000;
    let mid: Array<{ partition: number; checkpointed: number | undefined }> = [];
    while (Date.now() < deadline) {
      mid = first.kappa.runner(2)?.positions() ?? [];
      if (mid.reduce((s, p) => s + (p.checkpointed ?? 0), 0) > 20_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await first.kappa.stop();
    const stored = await store.readOffsets('kappa-v2');
    // Stopped inside the archive: every partition still below its cut-over.
    for (const [p, c] of cutover) expect(stored[p] ?? 0).toBeLessThan(c);
    expect(Object.values(stored).reduce((s, x) => s + x, 0)).toBeGreaterThan(20_000);

    const second = await startKappa(log, store, TOPIC, settings, { archive });
    rigs.push(second);
    await second.kappa.waitForState(2, ['live'], 60_000);
    await second.kappa.sync(2, 30_000);
    function* all() {
      yield* catchUpEvents(5, archived);
      yield* catchUpEvents(6, n - archived, restStart);
    }
    const truth = recount(all(), ref);
    const views = await servedKappa(store, 'views', from, to);
    expectAllCorrect(views.values, truth.views, from, to);
    const job = (await second.kappa.view()).jobs.find((j) => j.id === 2)!;
    expect(job.counters.processed).toBe(n);
  }, 120_000);
});
