/**
 * Conformance suite of the job-queue port. Every adapter runs it (embedded-job-queue.test.ts,
 * bullmq-job-queue.test.ts) on a real clock; it uses nothing but the port.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLabError } from '../../errors/lab-error.js';
import type { JobContext, JobInfo, JobQueue, JobWorker } from '../job-queue.js';
import { waitUntil } from '../../util/wait-until.js';

export interface JobQueueHarness {
  queue: JobQueue;
  /** Closes the queue and removes what the test left behind. */
  cleanup: () => Promise<void>;
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isLabError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection, but the call resolved');
}

export function jobQueueContract(name: string, factory: () => Promise<JobQueueHarness>): void {
  describe(`JobQueue contract: ${name}`, () => {
    let h: JobQueueHarness;
    let jq: JobQueue;
    let q: string;
    const workers: JobWorker[] = [];

    beforeEach(async () => {
      h = await factory();
      jq = h.queue;
      q = `q-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await Promise.allSettled(workers.splice(0).map((w) => w.close()));
      await h.cleanup();
    });

    async function work(
      handler: (job: JobContext<unknown>) => Promise<unknown>,
      concurrency = 1,
    ): Promise<JobWorker> {
      const w = await jq.work<unknown, unknown>(q, handler, { concurrency });
      workers.push(w);
      return w;
    }

    it('answers ping', async () => {
      await expect(jq.ping()).resolves.toBeUndefined();
    });

    it('runs a job and waitFor returns its result', async () => {
      await work(async (job) => ({
        doubled: (job.data as { n: number }).n * 2,
        name: job.name,
        attempt: job.attempt,
      }));
      const id = await jq.enqueue(q, 'double', { n: 21 });
      const info = await jq.waitFor<{ doubled: number }>(q, id, 10_000);
      expect(info).toMatchObject({
        id,
        name: 'double',
        state: 'completed',
        attemptsMade: 1,
        result: { doubled: 42, name: 'double', attempt: 1 },
      });
      expect(await jq.getJob(q, id)).toMatchObject({
        state: 'completed',
        result: { doubled: 42 },
        data: { n: 21 },
      });
    });

    it('enqueues many jobs at once, ids in order, each with its own data', async () => {
      await work(async (job) => (job.data as { i: number }).i * 10, 4);
      const ids = await jq.enqueueMany(
        q,
        Array.from({ length: 12 }, (_, i) => ({ name: `t${i}`, data: { i } })),
      );
      expect(new Set(ids).size).toBe(12);
      const infos = await Promise.all(ids.map((id) => jq.waitFor<number>(q, id, 10_000)));
      expect(infos.map((i) => i.result)).toEqual(Array.from({ length: 12 }, (_, i) => i * 10));
      expect(infos.map((i) => i.name)).toEqual(Array.from({ length: 12 }, (_, i) => `t${i}`));
      expect(await jq.enqueueMany(q, [])).toEqual([]);
    });

    for (const concurrency of [1, 3]) {
      it(`runs at most ${concurrency} job(s) at once with concurrency ${concurrency}, and reaches it`, async () => {
        let inFlight = 0;
        let maxInFlight = 0;
        await work(async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await delay(80);
          inFlight--;
        }, concurrency);
        const ids = await jq.enqueueMany(
          q,
          Array.from({ length: 3 * concurrency + 1 }, (_, i) => ({ name: 'slow', data: { i } })),
        );
        const infos = await Promise.all(ids.map((id) => jq.waitFor(q, id, 20_000)));
        expect(infos.every((i) => i.state === 'completed')).toBe(true);
        expect(maxInFlight).toBe(concurrency);
      });
    }

    it('retries with exponential backoff: fails twice, succeeds on attempt 3 with attemptsMade 3', async () => {
      const seen: Array<{ attempt: number; at: number }> = [];
      await work(async (job) => {
        seen.push({ attempt: job.attempt, at: performance.now() });
        if (job.attempt < 3) throw new Error(`flaky on attempt ${job.attempt}`);
        return 'ok';
      });
      const id = await jq.enqueue(q, 'flaky', {}, { attempts: 3, backoffMs: 100 });
      const info = await jq.waitFor(q, id, 10_000);
      expect(info).toMatchObject({ state: 'completed', attemptsMade: 3, result: 'ok' });
      expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
      // Backoff 100 ms, then 200 ms (small slack for timer granularity).
      expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(90);
      expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(190);
    });

    it('ends a job that always fails as failed, with the reason, after all attempts, firing failed once', async () => {
      const failed: JobInfo[] = [];
      const off = jq.on(q, 'failed', (i) => failed.push(i));
      let runs = 0;
      await work(async () => {
        runs++;
        throw new Error('always broken');
      });
      const id = await jq.enqueue(q, 'doomed', { x: 1 }, { attempts: 2, backoffMs: 20 });
      const info = await jq.waitFor(q, id, 10_000);
      expect(info).toMatchObject({ id, state: 'failed', attemptsMade: 2, failedReason: 'always broken' });
      expect(info.result).toBeUndefined();
      expect(runs).toBe(2);
      await waitUntil(() => failed.length >= 1, {
        what: 'the failed event',
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      await delay(100);
      expect(failed.map((f) => [f.id, f.state, f.failedReason])).toEqual([[id, 'failed', 'always broken']]);
      off();
    });

    it('delivers progress and completed events, and stops after unsubscribe', async () => {
      const progress: unknown[] = [];
      const completed: JobInfo[] = [];
      const offProgress = jq.on(q, 'progress', (i) => progress.push(i.progress));
      const offCompleted = jq.on(q, 'completed', (i) => completed.push(i));
      await work(async (job) => {
        await job.reportProgress(25);
        await delay(20);
        await job.reportProgress(50);
        await delay(20);
        await job.reportProgress({ phase: 'reduce', done: 3 });
        return 'done';
      });
      const id = await jq.enqueue(q, 'long', {});
      await jq.waitFor(q, id, 10_000);
      await waitUntil(() => progress.length >= 3 && completed.length >= 1, {
        what: 'three progress events and the completed event',
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      expect(progress).toEqual([25, 50, { phase: 'reduce', done: 3 }]);
      expect(completed.map((c) => [c.id, c.state, c.result])).toEqual([[id, 'completed', 'done']]);
      expect((await jq.getJob(q, id))?.progress).toEqual({ phase: 'reduce', done: 3 });

      offProgress();
      offCompleted();
      const id2 = await jq.enqueue(q, 'long', {});
      await jq.waitFor(q, id2, 10_000);
      await delay(200);
      expect(progress).toHaveLength(3);
      expect(completed).toHaveLength(1);
    });

    it('repeats a schedule every ~200 ms until unrepeat', async () => {
      const runs: number[] = [];
      const data: unknown[] = [];
      await work(async (job) => {
        runs.push(performance.now());
        data.push(job.data);
      });
      const started = performance.now();
      await jq.repeat(q, 'tick', { tick: true }, 200);
      await waitUntil(() => runs.length >= 3, {
        what: 'three runs of the repeated job',
        timeoutMs: 3_000,
        intervalMs: 20,
      });
      // At least twice within a short interval: 3 runs take about 2 periods.
      expect(runs[2]! - started).toBeLessThan(1_500);
      expect(data.slice(0, 3)).toEqual([{ tick: true }, { tick: true }, { tick: true }]);
      await jq.unrepeat(q, 'tick');
      await delay(250); // a run already due may still finish
      const after = runs.length;
      await delay(600);
      expect(runs.length).toBe(after);
    });

    it('counts jobs per state', async () => {
      expect(await jq.counts(q)).toEqual({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 });
      const ids = await jq.enqueueMany(q, [
        { name: 'ok', data: 1 },
        { name: 'ok', data: 2 },
        { name: 'bad', data: 3 },
      ]);
      expect(await jq.counts(q)).toEqual({ waiting: 3, active: 0, completed: 0, failed: 0, delayed: 0 });
      await work(async (job) => {
        if (job.name === 'bad') throw new Error('bad job');
        return job.data;
      });
      await Promise.all(ids.map((id) => jq.waitFor(q, id, 10_000)));
      expect(await jq.counts(q)).toEqual({ waiting: 0, active: 0, completed: 2, failed: 1, delayed: 0 });
    });

    it('reports a job waiting for its backoff as delayed', async () => {
      await work(async () => {
        throw new Error('later');
      });
      const id = await jq.enqueue(q, 'slow-retry', {}, { attempts: 2, backoffMs: 2_000 });
      await waitUntil(async () => (await jq.getJob(q, id))?.state === 'delayed', {
        what: `job ${id} delayed for its retry`,
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      expect(await jq.getJob(q, id)).toMatchObject({ state: 'delayed', attemptsMade: 1 });
      expect((await jq.counts(q)).delayed).toBe(1);
    });

    it('obliterates a queue: jobs and schedules gone', async () => {
      const ids = await jq.enqueueMany(q, [
        { name: 'a', data: 1 },
        { name: 'b', data: 2 },
      ]);
      await jq.repeat(q, 'tick', {}, 60_000);
      await jq.obliterate(q);
      expect(await jq.counts(q)).toEqual({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 });
      expect(await jq.getJob(q, ids[0]!)).toBeUndefined();
      let runs = 0;
      await work(async () => {
        runs++;
      });
      await delay(300);
      expect(runs).toBe(0);
    });

    it('adds a job with an existing jobId only once', async () => {
      const first = await jq.enqueue(q, 'once', { v: 1 }, { jobId: 'task-7' });
      const second = await jq.enqueue(q, 'once', { v: 2 }, { jobId: 'task-7' });
      expect([first, second]).toEqual(['task-7', 'task-7']);
      expect(await jq.counts(q)).toMatchObject({ waiting: 1 });
      expect((await jq.getJob(q, 'task-7'))?.data).toEqual({ v: 1 });
    });

    it('rejects invalid names and options with LKL_ERR_QUEUE_OPTIONS_INVALID, adding nothing', async () => {
      const bad: Array<Promise<unknown>> = [
        jq.enqueue('a:b', 'x', {}),
        jq.enqueue(q, '', {}),
        jq.enqueue(q, 'x', {}, { attempts: 0 }),
        jq.enqueue(q, 'x', {}, { backoffMs: -1 }),
        jq.enqueue(q, 'x', {}, { jobId: '123' }),
        jq.enqueue(q, 'x', {}, { jobId: 'a:b' }),
        jq.enqueueMany(q, [
          { name: 'fine', data: {} },
          { name: 'x', data: {}, opts: { attempts: 1.5 } },
        ]),
        jq.repeat(q, 'x', {}, 0),
        jq.work(q, async () => undefined, { concurrency: 0 }),
      ];
      for (const p of bad) expect((await rejection(p)).code).toBe('LKL_ERR_QUEUE_OPTIONS_INVALID');
      expect(await jq.counts(q)).toEqual({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 });
    });

    it('waitFor rejects an unknown job with LKL_ERR_QUEUE_JOB_UNKNOWN and times out with LKL_ERR_QUEUE_WAIT_TIMEOUT', async () => {
      expect((await rejection(jq.waitFor(q, 'no-such-job', 1_000))).code).toBe('LKL_ERR_QUEUE_JOB_UNKNOWN');
      const id = await jq.enqueue(q, 'nobody-works', {});
      const started = performance.now();
      const err = await rejection(jq.waitFor(q, id, 300));
      expect(err.code).toBe('LKL_ERR_QUEUE_WAIT_TIMEOUT');
      expect(err.message).toContain(id);
      expect(performance.now() - started).toBeGreaterThanOrEqual(280);
      expect(performance.now() - started).toBeLessThan(3_000);
    });

    it('closing a worker lets its running job finish and takes no more jobs', async () => {
      let finished = 0;
      const w = await work(async () => {
        await delay(150);
        finished++;
      });
      const first = await jq.enqueue(q, 'j', {});
      await waitUntil(async () => (await jq.getJob(q, first))?.state === 'active', {
        what: `job ${first} active`,
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      await w.close();
      expect(finished).toBe(1);
      expect((await jq.getJob(q, first))?.state).toBe('completed');
      const second = await jq.enqueue(q, 'j', {});
      await delay(300);
      expect((await jq.getJob(q, second))?.state).toBe('waiting');
    });

    it('rejects calls after close with LKL_ERR_QUEUE_UNAVAILABLE', async () => {
      await jq.close();
      expect((await rejection(jq.enqueue(q, 'x', {}))).code).toBe('LKL_ERR_QUEUE_UNAVAILABLE');
      expect((await rejection(jq.ping())).code).toBe('LKL_ERR_QUEUE_UNAVAILABLE');
    });
  });
}
