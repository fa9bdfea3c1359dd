/**
 * Embedded job queue: in-process, with BullMQ's semantics (see kernel/ports/job-queue.ts) and all
 * time — backoff, repeat schedules, waitFor timeouts — measured on the injected Clock, so a
 * virtual clock fast-forwards retries and schedules deterministically. Jobs live in memory: a
 * restart forgets them (the batch layer re-runs an interrupted batch run from scratch).
 */
import { setMaxListeners } from 'node:events';
import type { Clock } from '../../clock/clock.js';
import { LabError } from '../../errors/lab-error.js';
import {
  backoffDelay,
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
  JobState,
  JobWorker,
} from '../../ports/job-queue.js';

export interface EmbeddedJobQueueOptions {
  clock: Clock;
  /** Finished jobs kept per queue and state (completed / failed) before the oldest are forgotten. Default 10,000. */
  keepFinished?: number;
}

interface Job {
  id: string;
  name: string;
  data: unknown;
  attempts: number;
  backoffMs: number;
  state: Exclude<JobState, 'unknown'>;
  attemptsMade: number;
  progress: unknown;
  result: unknown;
  failedReason: string | undefined;
  createdAt: number;
  finishedAt: number | undefined;
  /** Callbacks of waitFor() calls, run when the job completes, finally fails or is obliterated. */
  finishWaiters: Set<(gone: boolean) => void>;
}

interface Worker {
  handler: (job: JobContext<unknown>) => Promise<unknown>;
  concurrency: number;
  running: Set<Promise<void>>;
  closing: boolean;
}

class QueueState {
  readonly jobs = new Map<string, Job>();
  readonly waiting: Job[] = [];
  readonly workers: Worker[] = [];
  readonly listeners: Record<JobEvent, Set<(info: JobInfo) => void>> = {
    completed: new Set(),
    failed: new Set(),
    progress: new Set(),
  };
  readonly schedules = new Map<string, AbortController>();
  readonly finished: Record<'completed' | 'failed', string[]> = { completed: [], failed: [] };
  nextId = 1;
  nextWorker = 0;
  /** Bumped by obliterate(): running handlers of an older generation drop their outcome. */
  generation = 0;
}

export class EmbeddedJobQueue implements JobQueue {
  readonly kind = 'embedded' as const;
  private readonly queues = new Map<string, QueueState>();
  /** Aborts every pending sleep (backoff, schedule, waitFor timeout) on close. */
  private readonly life = new AbortController();
  private readonly keepFinished: number;
  private closed = false;

  constructor(private readonly options: EmbeddedJobQueueOptions) {
    this.keepFinished = options.keepFinished ?? 10_000;
    // Every pending waitFor, retry backoff and schedule listens to this signal and removes its
    // listener when it ends, so the count is the number of concurrent waits (a batch run waits for
    // each of its map tasks at once), not a leak: no MaxListenersExceededWarning at 11.
    setMaxListeners(0, this.life.signal);
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
          () =>
            reject(
              new LabError(
                'LKL_ERR_QUEUE_WAIT_TIMEOUT',
                `Job ${id} of queue ${queue} did not finish within ${timeoutMs} ms (state ${job.state}); check that a worker runs this queue, or wait longer.`,
                { details: { queue, id, state: job.state } },
              ),
            ),
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

  private add(q: QueueState, name: string, data: unknown, opts: ReturnType<typeof checkJobOptions>): string {
    if (opts.jobId !== undefined && q.jobs.has(opts.jobId)) return opts.jobId;
    const id = opts.jobId ?? String(q.nextId++);
    const job: Job = {
      id,
      name,
      data,
      attempts: opts.attempts,
      backoffMs: opts.backoffMs,
      state: 'waiting',
      attemptsMade: 0,
      progress: 0,
      result: undefined,
      failedReason: undefined,
      createdAt: this.options.clock.now(),
      finishedAt: undefined,
      finishWaiters: new Set(),
    };
    q.jobs.set(id, job);
    q.waiting.push(job);
    return id;
  }

  /** Hands waiting jobs to workers with a free slot, round robin. */
  private dispatch(q: QueueState): void {
    if (this.closed) return;
    while (q.waiting.length > 0) {
      const worker = this.freeWorker(q);
      if (!worker) return;
      const job = q.waiting.shift()!;
      const run = this.run(q, worker, job);
      worker.running.add(run);
      void run.finally(() => {
        worker.running.delete(run);
        this.dispatch(q);
      });
    }
  }

  private freeWorker(q: QueueState): Worker | undefined {
    for (let i = 0; i < q.workers.length; i++) {
      const w = q.workers[(q.nextWorker + i) % q.workers.length]!;
      if (!w.closing && w.running.size < w.concurrency) {
        q.nextWorker = (q.nextWorker + i + 1) % q.workers.length;
        return w;
      }
    }
    return undefined;
  }

  private async run(q: QueueState, worker: Worker, job: Job): Promise<void> {
    const generation = q.generation;
    const current = (): boolean => q.generation === generation && !this.closed;
    job.state = 'active';
    const ctx: JobContext<unknown> = {
      id: job.id,
      name: job.name,
      data: viaJson(job.data),
      attempt: job.attemptsMade + 1,
      reportProgress: async (p) => {
        if (!current()) return;
        job.progress = viaJson(p);
        this.emit(q, 'progress', job);
      },
    };
    let result: unknown;
    let error: unknown;
    let ok = false;
    try {
      result = viaJson(await worker.handler(ctx));
      ok = true;
    } catch (err) {
      error = err;
    }
    if (q.generation !== generation) return; // obliterated meanwhile
    job.attemptsMade++;
    if (ok) {
      this.finish(q, job, 'completed', result, undefined);
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    if (job.attemptsMade < job.attempts && !this.closed) {
      job.state = 'delayed';
      job.failedReason = reason;
      void this.retryLater(q, job, generation);
      return;
    }
    this.finish(q, job, 'failed', undefined, reason);
  }

  private async retryLater(q: QueueState, job: Job, generation: number): Promise<void> {
    const delay = backoffDelay(job.backoffMs, job.attemptsMade);
    if (delay > 0) {
      try {
        await this.options.clock.sleep(delay, this.life.signal);
      } catch {
        return; // closed
      }
    }
    if (q.generation !== generation || job.state !== 'delayed') return;
    job.state = 'waiting';
    q.waiting.push(job);
    this.dispatch(q);
  }

  private finish(
    q: QueueState,
    job: Job,
    state: 'completed' | 'failed',
    result: unknown,
    reason: string | undefined,
  ): void {
    job.state = state;
    job.result = result;
    job.failedReason = reason;
    job.finishedAt = this.options.clock.now();
    const kept = q.finished[state];
    kept.push(job.id);
    while (kept.length > this.keepFinished) q.jobs.delete(kept.shift()!);
    for (const w of [...job.finishWaiters]) w(false);
    this.emit(q, state, job);
  }

  private emit(q: QueueState, event: JobEvent, job: Job): void {
    for (const listener of [...q.listeners[event]]) {
      try {
        listener(info(job));
      } catch {
        // A listener's bug must not break the queue.
      }
    }
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

function info(job: Job): JobInfo {
  const out: JobInfo = {
    id: job.id,
    name: job.name,
    state: job.state,
    attemptsMade: job.attemptsMade,
    progress: job.progress,
    data: viaJson(job.data),
    createdAt: job.createdAt,
  };
  if (job.state === 'completed') out.result = viaJson(job.result);
  if (job.failedReason !== undefined) out.failedReason = job.failedReason;
  if (job.finishedAt !== undefined) out.finishedAt = job.finishedAt;
  return out;
}

function unknownJob(queue: string, id: string): LabError {
  return new LabError(
    'LKL_ERR_QUEUE_JOB_UNKNOWN',
    `Queue ${queue} has no job ${id}; it was never added, was obliterated, or is older than the finished jobs kept.`,
    {
      details: { queue, id },
    },
  );
}

function closedError(): LabError {
  return new LabError('LKL_ERR_QUEUE_UNAVAILABLE', 'The embedded job queue is closed; create a new one.', {
    retriable: false,
  });
}

export function createEmbeddedJobQueue(options: EmbeddedJobQueueOptions): EmbeddedJobQueue {
  return new EmbeddedJobQueue(options);
}
