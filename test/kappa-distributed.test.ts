import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { describeWithKafka, describeWithRedis, kafkaBrokers, redisUrl } from '../test-support/infra.js';
import {
  appendCatchUp,
  catchUpEvents,
  catchUpRange,
  ref,
  servedKappa,
  startKappa,
  type KappaRig,
} from '../test-support/kappa-harness.js';
import { recount, verdicts } from '../test-support/recount.js';
import { waitUntil } from '../kernel/util/wait-until.js';

const N = Number(process.env.LKLAB_KAPPA_TEST_EVENTS ?? 1_000_000);
const SEED = 29;
const KNOBS = { botShare: 0.1 };
const describeDistributed = kafkaBrokers() ? describeWithRedis : describeWithKafka;

describeDistributed(
  `Kappa on Kafka + Redis: catch-up of ${N.toLocaleString('en')} YSB events, then a replay v1 → v2 in worker threads`,
  () => {
    const namespace = `kd${randomUUID().slice(0, 8)}`;
    const topic = 'ad-events';
    const { from, to } = catchUpRange(N);
    let log: EventLog;
    let store: RealtimeStore;
    let rig: KappaRig;
    let config: LabConfig;

    beforeAll(async () => {
      const { createEventLog } = await import('../kernel/adapters/event-log-factory.js');
      const { createRealtimeStore } = await import('../kernel/adapters/store-factory.js');
      const { loadConfig } = await import('../kernel/config/load-config.js');
      // The lab's wiring: factories + a random namespace (topics, groups, Redis keys), which replay threads reuse.
      config = loadConfig({
        env: { KAFKA_BROKERS: kafkaBrokers()!.join(','), REDIS_URL: redisUrl()!, LKLAB_NAMESPACE: namespace },
        overrides: { kappa: { autoSwitchover: false, catchUpDwellMs: 500, replayParallelism: 2 } },
      }) as LabConfig;
      log = await createEventLog(config, systemClock);
      store = await createRealtimeStore(config, systemClock);
      await log.ensureTopic(topic, { partitions: 4 });
      const t0 = performance.now();
      await appendCatchUp(log, topic, SEED, N, undefined, KNOBS);
      console.log(`[kappa-dist] appended ${N} events to Kafka in ${Math.round(performance.now() - t0)} ms`);
    }, 180_000);
    afterAll(async () => {
      await rig?.kappa.stop();
      await store?.deleteByPrefix('');
      for (const ns of ['kappa-v1', 'kappa-v2']) await store?.deleteOffsets(ns);
      await store?.close();
      for (const g of ['lklab-kappa-v1', 'lklab-kappa-v2']) await log?.deleteGroup(g).catch(() => undefined);
      await log?.deleteTopic(topic).catch(() => undefined);
      await log?.deleteTopic(`${topic}-dead-letter`).catch(() => undefined);
      await log?.close();
    }, 60_000);

    it('the live job answers 100 % CORRECT views and exact distinct users for every window', async () => {
      const t0 = performance.now();
      rig = await startKappa(log, store, topic, config.kappa, { threadConfig: config });
      await rig.kappa.sync(1, 170_000);
      const ms = performance.now() - t0;
      console.log(
        `[kappa-dist] live job: ${N} events in ${Math.round(ms)} ms (${Math.round((N / ms) * 1000)} events/s incl. join and checkpoints)`,
      );
      const truth = recount(catchUpEvents(SEED, N, undefined, KNOBS), ref);
      const views = await servedKappa(store, 'views', from, to);
      const v = verdicts(views.values, truth.views, from, to);
      expect(v, v.examples.join('\n')).toEqual({
        correct: truth.views.size,
        differ: 0,
        missing: 0,
        extra: 0,
        examples: [],
      });
      const distinct = await servedKappa(store, 'distinct_users', from, to);
      const d = verdicts(distinct.values, truth.distinct, from, to);
      expect(d, d.examples.join('\n')).toEqual({
        correct: truth.distinct.size,
        differ: 0,
        missing: 0,
        extra: 0,
        examples: [],
      });
      expect(Number((await store.getFields('lklab:kappa:v1:meta')).processed)).toBe(N);
    }, 240_000);

    it('a replay of logic v2 by two consumers in worker threads catches up; after the switchover answers equal the v2 truth', async () => {
      const t0 = performance.now();
      const job = await rig.kappa.startReplay({ logicVersion: 2 });
      expect(job).toMatchObject({ id: 2, parallelism: 2, group: 'lklab-kappa-v2' });
      expect(rig.kappa.runner(2)!.status.engine).toBe('worker-threads (2 Kafka consumers)');
      await rig.kappa.waitForState(2, ['caught-up'], 170_000);
      const ms = performance.now() - t0;
      console.log(
        `[kappa-dist] replay: ${N} events in ${Math.round(ms)} ms (${Math.round((N / ms) * 1000)} events/s incl. join, checkpoints and dwell)`,
      );
      expect((await rig.kappa.view()).active).toBe(1);
      await rig.kappa.switchover();
      expect(rig.kappa.runner(2)!.status.engine).toBe('inline'); // the live job's engine after the switchover
      const truth = recount(catchUpEvents(SEED, N, undefined, KNOBS), ref, { excludeBots: true });
      const views = await servedKappa(store, 'views', from, to);
      expect([...views.jobs]).toEqual([2]);
      const v = verdicts(views.values, truth.views, from, to);
      expect(v, v.examples.join('\n')).toEqual({
        correct: truth.views.size,
        differ: 0,
        missing: 0,
        extra: 0,
        examples: [],
      });
      const distinct = await servedKappa(store, 'distinct_users', from, to);
      const d = verdicts(distinct.values, truth.distinct, from, to);
      expect(d, d.examples.join('\n')).toEqual({
        correct: truth.distinct.size,
        differ: 0,
        missing: 0,
        extra: 0,
        examples: [],
      });
      expect(Number((await store.getFields('lklab:kappa:v2:meta')).processed)).toBe(N);
    }, 240_000);
  },
);

describeDistributed(
  'lklab kappa-worker: a second process shares a replay through the consumer group (Kafka + Redis)',
  () => {
    it('the worker joins the replay group, both processes checkpoint their partitions, and the answers are exact', async () => {
      const { createEventLog } = await import('../kernel/adapters/event-log-factory.js');
      const { createRealtimeStore } = await import('../kernel/adapters/store-factory.js');
      const { loadConfig } = await import('../kernel/config/load-config.js');
      const { spawnTsChild } = await import('../test-support/child-process.js');
      const namespace = `kw${randomUUID().slice(0, 8)}`;
      const env = {
        KAFKA_BROKERS: kafkaBrokers()!.join(','),
        REDIS_URL: redisUrl()!,
        LKLAB_NAMESPACE: namespace,
      };
      const config = loadConfig({
        env,
        overrides: {
          kappa: {
            checkpointIntervalMs: 300,
            catchUpDwellMs: 300,
            autoSwitchover: false,
            replayParallelism: 1,
          },
        },
      });
      const log = await createEventLog(config, systemClock);
      const store = await createRealtimeStore(config, systemClock);
      const M = 200_000;
      const { from: f, to: t } = catchUpRange(M);
      let rigW: KappaRig | undefined;
      const worker = spawnTsChild(
        'test/fixtures/lklab-cli.ts',
        ['kappa-worker', '--jobs', 'replays', '--poll-ms', '200'],
        env,
      );
      try {
        await log.ensureTopic('ad-events', { partitions: 4 });
        await appendCatchUp(log, 'ad-events', 31, M, undefined, KNOBS);
        rigW = await startKappa(log, store, 'ad-events', config.kappa, {
          deadLetterTopic: 'ad-events-dead-letter',
        });
        await rigW.kappa.sync(1, 120_000);
        // Rate-limited per process, so the replay lasts long enough for the worker to join its group.
        await rigW.kappa.startReplay({ logicVersion: 2, rateLimit: 10_000 });
        await rigW.kappa.waitForState(2, ['caught-up'], 120_000);
        const local = rigW.kappa.runner(2)!.status.processed;
        await rigW.kappa.switchover();
        // The worker leaves once job 2 is no longer a replay: at caught-up or at the switchover,
        // whichever its poll sees first. Its non-JSON output lines are kept (stderr()), so a line
        // printed before this point is not missed.
        const left = await waitUntil(
          () => /left job 2 \((?:caught-up|live)\) after processing (\d+) events/.exec(worker.stderr())?.[1],
          { what: () => `the worker to leave job 2: ${worker.stderr()}`, timeoutMs: 30_000, intervalMs: 100 },
        );
        const remote = Number(left);
        expect(remote).toBeGreaterThan(0);
        expect(local).toBeGreaterThan(0);
        expect(local + remote).toBeGreaterThanOrEqual(M);
        const truth = recount(catchUpEvents(31, M, undefined, KNOBS), ref, { excludeBots: true });
        const views = await servedKappa(store, 'views', f, t);
        expect([...views.jobs]).toEqual([2]);
        const v = verdicts(views.values, truth.views, f, t);
        expect(v, v.examples.join('\n')).toEqual({
          correct: truth.views.size,
          differ: 0,
          missing: 0,
          extra: 0,
          examples: [],
        });
        expect(Number((await store.getFields('lklab:kappa:v2:meta')).processed)).toBe(M);
      } finally {
        worker.proc.kill('SIGTERM');
        await worker.exited;
        await rigW?.kappa.stop();
        await store.deleteByPrefix('');
        for (const ns of ['kappa-v1', 'kappa-v2']) await store.deleteOffsets(ns);
        await store.close();
        for (const g of ['lklab-kappa-v1', 'lklab-kappa-v2']) await log.deleteGroup(g).catch(() => undefined);
        await log.deleteTopic('ad-events').catch(() => undefined);
        await log.deleteTopic('ad-events-dead-letter').catch(() => undefined);
        await log.close();
      }
    }, 240_000);
  },
);
