/**
 * Embedded job queue: in-process, with BullMQ's semantics (see kernel/ports/job-queue.ts) and all
 * time — backoff, repeat schedules, waitFor timeouts — measured on the injected Clock, so a
 * virtual clock fast-forwards retries and schedules deterministically. Jobs live in memory: a
 * restart forgets them (the batch layer re-runs an interrupted batch run from scratch).
 */
import { setMaxListeners } from 'node:events';
import type { Clock } from '../../clock/clock.js';
import {
  checkConcurrency,
  checkEveryMs,
  checkJobName,
  checkJobOptions,
  checkQueueName,
  checkTimeout,
  viaJson,
} from '../../ports/job-queue-validation.js';
import type {
  JobContext,
  JobCounts,
  JobEvent,
  JobInfo,
  JobOptions,
  JobQueue,
  JobWorker,
} from '../../ports/job-queue.js';
import { JobRunner } from './job-runner.js';
import {
  QueueState,
  closedError,
  info,
  unknownJob,
  waitTimeoutError,
  type CheckedJobOptions,
  type Worker,
} from './queue-state.js';

export interface EmbeddedJobQueueOptions {
  clock: Clock;
  /** Finished jobs kept per queue and state (completed / failed) before the oldest are forgotten. Default 10,000. */
  keepFinished?: number;
}

export class EmbeddedJobQueue implements JobQueue {
  readonly kind = 'embedded' as const;
  private readonly queues = new Map<string, QueueState>();
  /** Aborts every pending sleep (backoff, schedule, waitFor timeout) on close. */
  private readonly life = new AbortController();
  private readonly keepFinished: number;
  private readonly runner: JobRunner;
  private closed = false;

  constructor(private readonly options: EmbeddedJobQueueOptions) {
    this.keepFinished = options.keepFinished ?? 10_000;
    // Every pending waitFor, retry backoff and schedule listens to this signal and removes its
    // listener when it ends, so the count is the number of concurrent waits (a batch run waits for
    // each of its map tasks at once), not a leak: no MaxListenersExceededWarning at 11.
    setMaxListeners(0, this.life.signal);
    this.runner = new JobRunner(options.clock, this.life.signal, this.keepFinished, () => this.closed);
  }

  async enqueue<D>(queue: string, name: string, data: D, opts?: JobOptions): Promise<string> {
    const [id] = await this.enqueueMany(queue, [{ name, data, ...(opts ? { opts } : {}) }]);
    return id!;
  }

  async enqueueMany<D>(
    queue: string,
    jobs: Array<{ name: string; data: D; opts?: JobOptions }>,
  ): Promise<string[]> {
    this.assertOpen();
    checkQueueName(queue);
    // Check all before adding any.
    const checked = jobs.map((j) => {
      checkJobName(j.name);
      return { ...j, opts: checkJobOptions(j.opts), data: viaJson(j.data) };
    });
    const q = this.queue(queue);
    const ids = checked.map((j) => this.add(q, j.name, j.data, j.opts));
    this.dispatch(q);
    return ids;
  }

  async work<D, R>(
    queue: string,
    handler: (job: JobContext<D>) => Promise<R>,
    opts?: { concurrency?: number },
  ): Promise<JobWorker> {
    this.assertOpen();
    checkQueueName(queue);
    const q = this.queue(queue);
    const worker: Worker = {
      handler: handler as (job: JobContext<unknown>) => Promise<unknown>,
      concurrency: checkConcurrency(opts?.concurrency),
      running: new Set(),
      closing: false,
    };
    q.workers.push(worker);
    this.dispatch(q);
    return {
      close: async () => {
        worker.closing = true;
        const i = q.workers.indexOf(worker);
        if (i >= 0) q.workers.splice(i, 1);
        await Promise.all([...worker.running]);
      },
    };
  }

  async getJob<R>(queue: string, id: string): Promise<JobInfo<R> | undefined> {
    this.assertOpen();
    const job = this.queues.get(queue)?.jobs.get(id);
    return job ? (info(job) as JobInfo<R>) : undefined;
  }

  async waitFor<R>(queue: string, id: string, timeoutMs: number): Promise<JobInfo<R>> {
    this.assertOpen();
    checkTimeout(timeoutMs);
    const job = this.queues.get(queue)?.jobs.get(id);
    if (!job) throw unknownJob(queue, id);
    if (job.state === 'completed' || job.state === 'failed') return info(job) as JobInfo<R>;
    const stopTimer = new AbortController();
    const onClose = (): void => stopTimer.abort();
    this.life.signal.addEventListener('abort', onClose, { once: true });
    let onFinish: ((gone: boolean) => void) | undefined;
    try {
      return await new Promise<JobInfo<R>>((resolve, reject) => {
        onFinish = (gone) => (gone ? reject(unknownJob(queue, id)) : resolve(info(job) as JobInfo<R>));
        job.finishWaiters.add(onFinish);
        this.options.clock.sleep(timeoutMs, stopTimer.signal).then(
          () => reject(waitTimeoutError(queue, id, timeoutMs, job.state)),
          () => {
            if (this.life.signal.aborted) reject(closedError());
          },
        );
      });
    } finally {
      if (onFinish) job.finishWaiters.delete(onFinish);
      stopTimer.abort();
      this.life.signal.removeEventListener('abort', onClose);
    }
  }

  on(queue: string, event: JobEvent, listener: (info: JobInfo) => void): () => void {
    checkQueueName(queue);
    const set = this.queue(queue).listeners[event];
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  async repeat(queue: string, name: string, data: unknown, everyMs: number): Promise<void> {
    this.assertOpen();
    checkQueueName(queue);
    checkJobName(name);
    checkEveryMs(everyMs);
    const q = this.queue(queue);
    q.schedules.get(name)?.abort();
    const stop = new AbortController();
    q.schedules.set(name, stop);
    const clock = this.options.clock;
    const signal = AbortSignal.any([stop.signal, this.life.signal]);
    const payload = viaJson(data);
    const fire = (): void => {
      const now = clock.now();
      this.add(q, name, viaJson(payload), { attempts: 1, backoffMs: 0, jobId: `repeat:${name}:${now}` });
      this.dispatch(q);
    };
    fire();
    void (async () => {
      while (!signal.aborted) {
        const now = clock.now();
        const next = (Math.floor(now / everyMs) + 1) * everyMs;
        try {
          await clock.sleep(next - now, signal);
        } catch {
          return;
        }
        if (!signal.aborted) fire();
      }
    })();
  }

  async unrepeat(queue: string, name: string): Promise<void> {
    this.assertOpen();
    const q = this.queues.get(queue);
    q?.schedules.get(name)?.abort();
    q?.schedules.delete(name);
  }

  async counts(queue: string): Promise<JobCounts> {
    this.assertOpen();
    const counts: JobCounts = { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 };
    for (const job of this.queues.get(queue)?.jobs.values() ?? []) counts[job.state]++;
    return counts;
  }

  async obliterate(queue: string): Promise<void> {
    this.assertOpen();
    const q = this.queues.get(queue);
    if (!q) return;
    for (const s of q.schedules.values()) s.abort();
    q.schedules.clear();
    q.generation++;
    const gone = [...q.jobs.values()];
    q.jobs.clear();
    q.waiting.length = 0;
    q.finished.completed.length = 0;
    q.finished.failed.length = 0;
    // Anyone waiting for an obliterated job learns it is gone instead of timing out.
    for (const job of gone) for (const w of [...job.finishWaiters]) w(true);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.life.abort();
    const running: Array<Promise<void>> = [];
    for (const q of this.queues.values()) {
      for (const w of q.workers) {
        w.closing = true;
        running.push(...w.running);
      }
      q.workers.length = 0;
    }
    await Promise.all(running);
  }

  private add(q: QueueState, name: string, data: unknown, opts: CheckedJobOptions): string {
    return q.add(name, data, opts, this.options.clock.now());
  }

  /** Hands waiting jobs to workers with a free slot, round robin (see JobRunner). */
  private dispatch(q: QueueState): void {
    this.runner.dispatch(q);
  }

  private queue(name: string): QueueState {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new QueueState()));
    return q;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

export function createEmbeddedJobQueue(options: EmbeddedJobQueueOptions): EmbeddedJobQueue {
  return new EmbeddedJobQueue(options);
}
