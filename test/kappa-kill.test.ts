import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbeddedEventLog } from '../kernel/adapters/embedded-log/embedded-event-log.js';
import { openEmbeddedRealtimeStore } from '../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { spawnTsChild } from '../test-support/child-process.js';
import { describeWithKafka, describeWithRedis, kafkaBrokers, redisUrl } from '../test-support/infra.js';
import {
  appendCatchUp,
  catchUpEvents,
  catchUpRange,
  ref,
  servedKappa,
} from '../test-support/kappa-harness.js';
import { recount, verdicts } from '../test-support/recount.js';
import type { ChildArgs } from './fixtures/kappa-job-child.js';

const CHILD = 'test/fixtures/kappa-job-child.ts';
interface Progress {
  checkpointed: number;
  total: number;
  processed: number;
  done?: boolean;
}

/** Runs the job in children: kill -9 at each share of progress, then a last child to the end. */
async function killAndRestart(args: Omit<ChildArgs, 'untilDone'>, killAt: number[]): Promise<number[]> {
  const killedAt: number[] = [];
  for (const share of killAt) {
    const child = spawnTsChild(CHILD, [JSON.stringify({ ...args, untilDone: false })]);
    const p = await child.waitFor<Progress>((l) => l.total > 0 && l.checkpointed >= share * l.total, 120_000);
    expect(p.checkpointed).toBeLessThan(p.total); // killed mid-run
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    killedAt.push(p.checkpointed);
  }
  const last = spawnTsChild(CHILD, [JSON.stringify({ ...args, untilDone: true })]);
  await last.waitFor<Progress>((l) => l.done === true, 180_000);
  expect((await last.exited).code, last.stderr()).toBe(0);
  return killedAt;
}

async function expectExact(store: RealtimeStore, seed: number, n: number): Promise<void> {
  const { from, to } = catchUpRange(n);
  const truth = recount(catchUpEvents(seed, n), ref);
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
  // The processed counter is part of the atomic checkpoint: every record exactly once.
  expect(Number((await store.getFields('lklab:kappa:v1:meta')).processed)).toBe(n);
}

describe('Kappa exactly-once under kill -9 (embedded data dir)', () => {
  const N = 400_000;
  const dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-kill-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a child running the job is killed -9 twice mid-run; the restarted job still answers 100 % CORRECT', async () => {
    const log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock });
    await log.ensureTopic('ad-events', { partitions: 4 });
    await appendCatchUp(log, 'ad-events', 17, N);
    await log.close();
    const killedAt = await killAndRestart(
      // Checkpoints every 50 ms: the restarted child reads its history at more than 500,000 events/s,
      // so coarser checkpoints could cover the rest of the run before the kill lands.
      { topic: 'ad-events', checkpointIntervalMs: 50, embedded: { dataDir: dir, storeCheckpointMs: 700 } },
      [0.2, 0.55],
    );
    expect(killedAt[1]!).toBeGreaterThan(killedAt[0]!);
    const store = await openEmbeddedRealtimeStore({ dir: join(dir, 'store'), clock: systemClock });
    try {
      await expectExact(store, 17, N);
    } finally {
      await store.close();
    }
  }, 300_000);
});

const describeDistributed = kafkaBrokers() ? describeWithRedis : describeWithKafka;
describeDistributed('Kappa exactly-once under kill -9 (Kafka + Redis)', () => {
  it('a child running the job against Kafka and Redis is killed -9 twice mid-run; the restarted job still answers 100 % CORRECT', async () => {
    const N = 300_000;
    const id = randomUUID().slice(0, 8);
    const topic = `kappa-kill-${id}`;
    const { openKafkaEventLog } = await import('../kernel/adapters/kafka-log/kafka-event-log.js');
    const { openRedisRealtimeStore } = await import('../kernel/adapters/redis-store/redis-realtime-store.js');
    const log = await openKafkaEventLog({
      brokers: kafkaBrokers()!,
      clientId: 'kappa-kill-test',
      clock: systemClock,
    });
    const prefix = `lklab-test-${id}:`;
    const store = await openRedisRealtimeStore({ url: redisUrl()!, prefix });
    const groupPrefix = `kappa-kill-${id}-v`;
    try {
      await log.ensureTopic(topic, { partitions: 4 });
      await appendCatchUp(log, topic, 23, N);
      await killAndRestart(
        {
          topic,
          checkpointIntervalMs: 300,
          distributed: { brokers: kafkaBrokers()!, redisUrl: redisUrl()!, redisPrefix: prefix, groupPrefix },
        },
        [0.2, 0.55],
      );
      await expectExact(store, 23, N);
      // The log's group offsets are for display only; the store's are the truth, and they cover everything.
      expect(Object.values(await store.readOffsets('kappa-v1')).reduce((s, o) => s + o, 0)).toBe(N);
    } finally {
      await store.deleteByPrefix('');
      await store.deleteOffsets('kappa-v1');
      await store.close();
      await log.deleteGroup(`${groupPrefix}1`).catch(() => undefined);
      await log.deleteTopic(topic).catch(() => undefined);
      await log.deleteTopic(`${topic}-dead-letter`).catch(() => undefined);
      await log.close();
    }
  }, 400_000);
});
