import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../clock/system-clock.js';
import { isLabError, type LabError } from '../../errors/lab-error.js';
import { jobQueueContract } from '../../ports/contracts/job-queue.contract.js';
import { describeWithRedis, redisUrl } from '../../../test-support/infra.js';
import { escapeGlob } from '../redis-store/redis-realtime-store.js';
import { BullMqJobQueue, openBullMqJobQueue } from './bullmq-job-queue.js';

/** Deletes every key of a test prefix through Redis itself (SCAN + UNLINK). */
async function dropPrefix(url: string, prefix: string): Promise<number> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  let dropped = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) dropped += await admin.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
  return dropped;
}

describeWithRedis('BullMQ job queue', () => {
  const url = redisUrl()!;

  jobQueueContract('bullmq', async () => {
    const prefix = `lkltest-${randomUUID().slice(0, 12)}`;
    const queue = await openBullMqJobQueue({ url, prefix, clock: systemClock, pollMs: 250 });
    return {
      queue,
      cleanup: async () => {
        await queue.close();
        await dropPrefix(url, prefix);
      },
    };
  });

  it('shares work between two adapters (two processes) on the same queue', async () => {
    const prefix = `lkltest-${randomUUID().slice(0, 12)}`;
    const a = await openBullMqJobQueue({ url, prefix, clock: systemClock });
    const b = await openBullMqJobQueue({ url, prefix, clock: systemClock });
    try {
      const ranOn: string[] = [];
      const slow = (who: string) => async () => {
        ranOn.push(who);
        await new Promise((r) => setTimeout(r, 100));
        return who;
      };
      await a.work('shared', slow('a'));
      await b.work('shared', slow('b'));
      const ids = await a.enqueueMany(
        'shared',
        Array.from({ length: 6 }, (_, i) => ({ name: 'task', data: i })),
      );
      // Results can be awaited from the other adapter.
      const infos = await Promise.all(ids.map((id) => b.waitFor<string>('shared', id, 10_000)));
      expect(infos.every((i) => i.state === 'completed')).toBe(true);
      expect(new Set(ranOn)).toEqual(new Set(['a', 'b']));
    } finally {
      await a.close();
      await b.close();
      await dropPrefix(url, prefix);
    }
  });

  it('serves 60 concurrent waitFor calls from one event subscription (no listener build-up)', async () => {
    const prefix = `lkltest-${randomUUID().slice(0, 12)}`;
    const jq = await openBullMqJobQueue({ url, prefix, clock: systemClock });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on('warning', onWarning);
    try {
      await jq.work('many', async (job) => (job.data as number) + 1, { concurrency: 8 });
      const ids = await jq.enqueueMany(
        'many',
        Array.from({ length: 60 }, (_, i) => ({ name: 'inc', data: i })),
      );
      const infos = await Promise.all(ids.map((id) => jq.waitFor<number>('many', id, 15_000)));
      expect(infos.map((i) => i.result)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await jq.close();
      await dropPrefix(url, prefix);
    }
  });

  it('keeps its keys under its prefix, and obliterate removes the queue’s keys', async () => {
    const prefix = `lkltest-${randomUUID().slice(0, 12)}`;
    const jq = await openBullMqJobQueue({ url, prefix, clock: systemClock });
    const admin = new Redis(url);
    try {
      await jq.enqueueMany('keys', [
        { name: 'a', data: 1 },
        { name: 'b', data: 2 },
      ]);
      const [, keys] = await admin.scan('0', 'MATCH', `${prefix}:keys:*`, 'COUNT', 10_000);
      expect(keys.length).toBeGreaterThan(0);
      await jq.obliterate('keys');
      const [, left] = await admin.scan('0', 'MATCH', `${prefix}:keys:*`, 'COUNT', 10_000);
      // Only the events stream may survive (QueueEvents keeps reading it).
      expect(left.filter((k) => !k.endsWith(':events'))).toEqual([]);
    } finally {
      admin.disconnect();
      await jq.close();
      await dropPrefix(url, prefix);
    }
  });
});

// Needs no server: it talks to a port where nothing listens.
describe('BullMQ job queue without a reachable Redis', () => {
  const dead = 'redis://user:s3cret@127.0.0.1:1';

  it('fails to open with LKL_ERR_QUEUE_UNAVAILABLE (retriable), naming the URL without its password', async () => {
    const started = Date.now();
    const err = await openBullMqJobQueue({ url: dead, clock: systemClock }).catch((e: unknown) => e);
    expect(isLabError(err)).toBe(true);
    const e = err as LabError;
    expect(e.code).toBe('LKL_ERR_QUEUE_UNAVAILABLE');
    expect(e.retriable).toBe(true);
    expect(e.message).toContain('redis://127.0.0.1:1');
    expect(e.message).not.toContain('s3cret');
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it('bounds enqueue by operationTimeoutMs instead of hanging', async () => {
    const jq = new BullMqJobQueue({ url: dead, clock: systemClock, operationTimeoutMs: 500 });
    try {
      const started = Date.now();
      const err = await jq.enqueue('q', 'j', {}).catch((e: unknown) => e);
      expect(isLabError(err) && err.code).toBe('LKL_ERR_QUEUE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await jq.close();
    }
  });
});
