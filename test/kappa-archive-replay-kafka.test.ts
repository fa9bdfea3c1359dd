import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import {
  buildArchivedHistory,
  dropLogStart,
  type ArchivedHistory,
} from '../test-support/archived-history.js';
import { expectAllCorrect } from '../test-support/expect-all-correct.js';
import { describeDistributed, kafkaBrokers, redisUrl } from '../test-support/infra.js';
import { catchUpRange, ref, servedKappa, startKappa, type KappaRig } from '../test-support/kappa-harness.js';
import { recount } from '../test-support/recount.js';

/** LKLAB_KAPPA_KAFKA_ARCHIVE_EVENTS changes the size; 150 K runs in well under 2 min on 2 cores. */
const N = Number(process.env.LKLAB_KAPPA_KAFKA_ARCHIVE_EVENTS ?? 150_000);
const ARCHIVED = Math.floor(N * 0.9);
const TOPIC = 'ad-events';
const KNOBS = { botShare: 0.1 };

describeDistributed(
  `Kappa+ archive replay on Kafka + Redis after retention removed the log's start (${N.toLocaleString('en')} YSB events)`,
  () => {
    const namespace = `ka${randomUUID().slice(0, 8)}`;
    const { from, to } = catchUpRange(N);
    let dir: string;
    let config: LabConfig;
    let log: EventLog;
    let store: RealtimeStore;
    let history: ArchivedHistory;
    let rig: KappaRig | undefined;
    /** What the broker deleted per partition: up to the cut-over itself on even partitions, half of it on odd ones. */
    const dropped = new Map<number, number>();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'lkl-archive-kafka-'));
      const { createEventLog } = await import('../kernel/adapters/event-log-factory.js');
      const { createRealtimeStore } = await import('../kernel/adapters/store-factory.js');
      const { loadConfig } = await import('../kernel/config/load-config.js');
      config = loadConfig({
        env: { KAFKA_BROKERS: kafkaBrokers()!.join(','), REDIS_URL: redisUrl()!, LKLAB_NAMESPACE: namespace },
        overrides: { kappa: { checkpointIntervalMs: 300, catchUpDwellMs: 300, replayParallelism: 2 } },
      }) as LabConfig;
      log = await createEventLog(config, systemClock);
      store = await createRealtimeStore(config, systemClock);
      await log.ensureTopic(TOPIC, { partitions: 4 });
      history = await buildArchivedHistory(log, {
        dir,
        topic: TOPIC,
        seed: 41,
        n: N,
        archived: ARCHIVED,
        knobs: KNOBS,
        maxSplitEvents: 50_000,
      });
      for (const [p, cut] of history.cutover()) dropped.set(p, p % 2 === 0 ? cut : Math.floor(cut / 2));
      await dropLogStart(kafkaBrokers()!, `${namespace}.${TOPIC}`, dropped);
    }, 180_000);
    afterAll(async () => {
      await rig?.kappa.stop();
      history?.close();
      await store?.deleteByPrefix('');
      for (const ns of ['kappa-v1', 'kappa-v2']) await store?.deleteOffsets(ns);
      await store?.close();
      for (const g of ['lklab-kappa-v1', 'lklab-kappa-v2', 'lklab-batch-ingest'])
        await log?.deleteGroup(g).catch(() => undefined);
      await log?.deleteTopic(TOPIC).catch(() => undefined);
      await log?.deleteTopic(`${TOPIC}-dead-letter`).catch(() => undefined);
      await log?.close();
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('the broker dropped the log start below the cut-over; the pre-flight refuses the log and offers the archive', async () => {
      const offsets = await log.offsets(TOPIC);
      expect(offsets.map((p) => p.low)).toEqual(offsets.map((p) => dropped.get(p.partition)));
      expect(offsets.every((p) => p.low > 0)).toBe(true);
      rig = await startKappa(log, store, TOPIC, config.kappa, { archive: history.archive });
      const pre = await rig.kappa.preflight();
      expect(pre.options.log.possible).toBe(false);
      expect(pre.options.archive).toMatchObject({ possible: true, problems: [] });
      expect(pre.options.choice).toBe('archive');
      for (const p of pre.options.archive.partitions) {
        expect(p.cutover).toBe(history.cutover().get(p.partition));
        expect(p.low).toBe(dropped.get(p.partition));
      }
      expect(pre.options.archive.fromLog).toBe(N - ARCHIVED);
      await expect(rig.kappa.startReplay({ logicVersion: 2 })).rejects.toThrow(/source "archive"/);
    }, 60_000);

    it('a v2 replay from the archive, then from Kafka past the cut-over, serves every window exactly as the truth', async () => {
      const t0 = performance.now();
      const job = await rig!.kappa.startReplay({ logicVersion: 2, source: 'auto' });
      expect(job).toMatchObject({ id: 2, source: 'archive', state: 'replaying' });
      await rig!.kappa.waitForState(2, ['live'], 100_000);
      const ms = performance.now() - t0;
      await rig!.kappa.sync(2, 30_000);
      const truth = recount(history.events(), ref, { excludeBots: true });
      const views = await servedKappa(store, 'views', from, to);
      expect([...views.jobs]).toEqual([2]);
      expectAllCorrect(views.values, truth.views, from, to);
      const distinct = await servedKappa(store, 'distinct_users', from, to);
      expectAllCorrect(distinct.values, truth.distinct, from, to);
      const view = (await rig!.kappa.view()).jobs.find((j) => j.id === 2)!;
      expect(view.counters).toMatchObject({ processed: N, invalid: 0, dropped: 0 });
      expect(Number((await store.getFields('lklab:kappa:v2:meta')).processed)).toBe(N);
      console.log(
        `[kappa+ kafka] archive replay: ${N} events in ${ms.toFixed(0)} ms (${Math.round((N / ms) * 1000)} events/s incl. switchover)`,
      );
    }, 120_000);
  },
);
