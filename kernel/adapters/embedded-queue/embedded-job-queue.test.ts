import { describe, expect, it } from 'vitest';
import { systemClock } from '../../clock/system-clock.js';
import { VirtualClock } from '../../clock/virtual-clock.js';
import { isLabError } from '../../errors/lab-error.js';
import { jobQueueContract } from '../../ports/contracts/job-queue.contract.js';
import { createEmbeddedJobQueue } from './embedded-job-queue.js';

jobQueueContract('embedded', async () => {
  const queue = createEmbeddedJobQueue({ clock: systemClock });
  return { queue, cleanup: () => queue.close() };
});

/** Lets promise callbacks run without moving the virtual clock. */
const settle = () => new Promise((r) => setImmediate(r));

describe('embedded job queue on a virtual clock', () => {
  it('backs off exponentially on the injected clock: 1 s, then 2 s', async () => {
    const clock = new VirtualClock(0);
    const jq = createEmbeddedJobQueue({ clock });
    const attemptsAt: number[] = [];
    await jq.work('q', async (job) => {
      attemptsAt.push(clock.now());
      if (job.attempt < 3) throw new Error('not yet');
      return job.attempt;
    });
    const id = await jq.enqueue('q', 'j', {}, { attempts: 3, backoffMs: 1_000 });
    await settle();
    expect(attemptsAt).toEqual([0]);
    expect((await jq.getJob('q', id))?.state).toBe('delayed');
    await clock.advance(999);
    expect(attemptsAt).toEqual([0]);
    await clock.advance(1);
    expect(attemptsAt).toEqual([0, 1_000]);
    await clock.advance(1_999);
    expect(attemptsAt).toEqual([0, 1_000]);
    await clock.advance(1);
    expect(attemptsAt).toEqual([0, 1_000, 3_000]);
    expect(await jq.waitFor('q', id, 0)).toMatchObject({
      state: 'completed',
      attemptsMade: 3,
      result: 3,
      finishedAt: 3_000,
    });
    await jq.close();
  });

  it('fires a schedule at once and then on every multiple of everyMs', async () => {
    const clock = new VirtualClock(10_250);
    const jq = createEmbeddedJobQueue({ clock });
    const firedAt: number[] = [];
    await jq.work('q', async () => {
      firedAt.push(clock.now());
    });
    await jq.repeat('q', 'tick', { a: 1 }, 1_000);
    await settle();
    await clock.advance(3_000);
    expect(firedAt).toEqual([10_250, 11_000, 12_000, 13_000]);
    // Upsert: replacing the schedule does not leave the old one running.
    await jq.repeat('q', 'tick', { a: 2 }, 500);
    expect(clock.now()).toBe(13_250);
    await clock.advance(1_000);
    expect(firedAt).toEqual([10_250, 11_000, 12_000, 13_000, 13_250, 13_500, 14_000]);
    await jq.unrepeat('q', 'tick');
    await clock.advance(5_000);
    expect(firedAt).toHaveLength(7);
    expect(clock.pending).toBe(0);
    await jq.close();
  });

  it('times waitFor out on the injected clock, and cancels its timer when the job finishes', async () => {
    const clock = new VirtualClock(0);
    const jq = createEmbeddedJobQueue({ clock });
    const id = await jq.enqueue('q', 'j', {});
    const waiting = jq.waitFor('q', id, 5_000).catch((e: unknown) => e);
    await clock.advance(4_999);
    await jq.work('q', async () => 'late but in time');
    await settle();
    expect(await waiting).toMatchObject({ state: 'completed', result: 'late but in time' });
    expect(clock.pending).toBe(0);

    const id2 = await jq.enqueue('q2', 'j', {});
    const timedOut = jq.waitFor('q2', id2, 5_000).catch((e: unknown) => e);
    await clock.advance(5_000);
    const err = await timedOut;
    expect(isLabError(err) && err.code).toBe('LKL_ERR_QUEUE_WAIT_TIMEOUT');
    await jq.close();
  });

  it('lets 30 callers wait for jobs at once without a MaxListenersExceededWarning, and cleans up after them', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const clock = new VirtualClock(0);
      const jq = createEmbeddedJobQueue({ clock });
      const ids = await jq.enqueueMany(
        'q',
        Array.from({ length: 30 }, (_, i) => ({ name: 'j', data: i })),
      );
      const waiting = Promise.all(ids.map((id) => jq.waitFor<number>('q', id, 60_000)));
      await jq.work('q', async (job) => (job.data as number) * 2, { concurrency: 30 });
      const infos = await waiting;
      expect(infos.map((i) => i.result)).toEqual(ids.map((_, i) => i * 2));
      expect(clock.pending).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
      await jq.close();
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('tells a waiter of an obliterated job that the job is gone', async () => {
    const jq = createEmbeddedJobQueue({ clock: new VirtualClock(0) });
    const id = await jq.enqueue('q', 'j', {});
    const waiting = jq.waitFor('q', id, 60_000).catch((e: unknown) => e);
    await jq.obliterate('q');
    const err = await waiting;
    expect(isLabError(err) && err.code).toBe('LKL_ERR_QUEUE_JOB_UNKNOWN');
    await jq.close();
  });

  it('keeps only the newest finished jobs per state', async () => {
    const jq = createEmbeddedJobQueue({ clock: new VirtualClock(0), keepFinished: 3 });
    await jq.work('q', async (job) => job.data, { concurrency: 2 });
    const ids = await jq.enqueueMany(
      'q',
      Array.from({ length: 5 }, (_, i) => ({ name: 'j', data: i })),
    );
    await jq.waitFor('q', ids[4]!, 0).catch(() => undefined);
    await settle();
    expect((await jq.counts('q')).completed).toBe(3);
    expect(await jq.getJob('q', ids[0]!)).toBeUndefined();
    expect((await jq.getJob('q', ids[4]!))?.result).toBe(4);
    await jq.close();
  });

  it('hands jobs the data as JSON, never the caller’s object', async () => {
    const jq = createEmbeddedJobQueue({ clock: systemClock });
    const data = { when: new Date(0), nested: { n: 1 } };
    let seen: unknown;
    await jq.work('q', async (job) => {
      seen = job.data;
      (job.data as { nested: { n: number } }).nested.n = 99;
      return { ok: true };
    });
    const id = await jq.enqueue('q', 'j', data);
    await jq.waitFor('q', id, 5_000);
    expect(seen).toEqual({ when: '1970-01-01T00:00:00.000Z', nested: { n: 99 } });
    expect(data.nested.n).toBe(1);
    expect((await jq.getJob('q', id))?.data).toEqual({ when: '1970-01-01T00:00:00.000Z', nested: { n: 1 } });
    await jq.close();
  });
});
