/**
 * Job queue on BullMQ (Redis): one Queue per queue name, Workers for work(), one QueueEvents per
 * queue for events and waitFor(), all on an ioredis connection made from the URL with
 * `maxRetriesPerRequest: null` (BullMQ duplicates it for its blocking connections).
 *
 * Attempts use BullMQ's `attempts` + `backoff: { type: 'exponential', delay }`; repeatable
 * schedules use job schedulers (`upsertJobScheduler`, `every`). BullMQ measures backoff and
 * schedules with Redis/wall time; the injected Clock bounds waitFor() and ping().
 *
 * With `maxRetriesPerRequest: null` ioredis queues commands while Redis is down instead of failing
 * them, so every call here is bounded by `operationTimeoutMs` and then fails with
 * LKL_ERR_QUEUE_UNAVAILABLE (a command queued meanwhile may still run when Redis is back: enqueue
 * with a jobId to make a retry idempotent).
 */
import { Queue, QueueEvents, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Clock } from '../../clock/clock.js';
import { LabError } from '../../errors/lab-error.js';
import {
  checkConcurrency,
  checkEveryMs,
  checkJobName,
  checkJobOptions,
  checkQueueName,
  checkTimeout,
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
import { redactUrl } from '../redis-store/redis-realtime-store.js';

export interface BullMqJobQueueOptions {
  /** e.g. redis://127.0.0.1:16379 */
  url: string;
  clock: Clock;
  /** BullMQ key prefix; tests use a random one. Default `lklab:bull`. */
  prefix?: string;
  /** Finished jobs kept per queue and state (removeOnComplete / removeOnFail count). Default 10,000. */
  keepFinished?: number;
  /** Longest a Redis call may take before LKL_ERR_QUEUE_UNAVAILABLE, in ms. Default 10 s. */
  operationTimeoutMs?: number;
  /** waitFor() also polls the job's state this often (a safety net under the events), in ms. Default 1 s. */
  pollMs?: number;
}

type Listener = (info: JobInfo) => void;

const STATE_MAP: Record<string, JobState> = {
  waiting: 'waiting',
  prioritized: 'waiting',
  'waiting-children': 'waiting',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
  delayed: 'delayed',
};

export class BullMqJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly connection: Redis;
  private readonly prefix: string;
  private readonly safeUrl: string;
  private readonly keepFinished: number;
  private readonly opTimeoutMs: number;
  private readonly pollMs: number;
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, Promise<QueueEvents>>();
  private readonly listeners = new Map<string, Record<JobEvent, Set<Listener>>>();
  private readonly workers = new Set<Worker>();
  /** waitFor() callers per queue and job id, woken by the queue's completed/failed events. */
  private readonly finishWaiters = new Map<string, Map<string, Set<() => void>>>();
  private readonly life = new AbortController();
  private lastConnectionError: Error | undefined;
  private closed = false;

  constructor(private readonly options: BullMqJobQueueOptions) {
    this.prefix = options.prefix ?? 'lklab:bull';
    this.safeUrl = redactUrl(options.url);
    this.keepFinished = options.keepFinished ?? 10_000;
    this.opTimeoutMs = options.operationTimeoutMs ?? 10_000;
    this.pollMs = options.pollMs ?? 1_000;
    this.connection = new Redis(options.url, {
      maxRetriesPerRequest: null,
      lazyConnect: true,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    this.connection.on('error', (err: Error) => {
      this.lastConnectionError = err;
    });
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
    const bulk = jobs.map((j) => {
      checkJobName(j.name);
      return { name: j.name, data: j.data, opts: this.jobOptions(j.opts) };
    });
    if (bulk.length === 0) return [];
    const q = this.queue(queue);
    await this.events_(queue); // events of these jobs must not be missed by waitFor()/on()
    const added = await this.call(() => q.addBulk(bulk));
    return added.map((j) => j.id!);
  }

  async work<D, R>(
    queue: string,
    handler: (job: JobContext<D>) => Promise<R>,
    opts?: { concurrency?: number },
  ): Promise<JobWorker> {
    this.assertOpen();
    checkQueueName(queue);
    const concurrency = checkConcurrency(opts?.concurrency);
    const worker = new Worker<D, R>(
      queue,
      async (job) =>
        handler({
          id: job.id!,
          name: job.name,
          data: job.data,
          attempt: job.attemptsMade + 1,
          reportProgress: (p) => job.updateProgress(p),
        }),
      { connection: this.connection, prefix: this.prefix, concurrency, autorun: true },
    );
    worker.on('error', (err) => {
      this.lastConnectionError = err;
    });
    this.workers.add(worker as unknown as Worker);
    await this.call(() => worker.waitUntilReady());
    return {
      close: async () => {
        this.workers.delete(worker as unknown as Worker);
        await worker.close();
      },
    };
  }

  async getJob<R>(queue: string, id: string): Promise<JobInfo<R> | undefined> {
    this.assertOpen();
    checkQueueName(queue);
    const q = this.queue(queue);
    // State first, then the job: a job read after its state is at least as new as that state, so
    // a 'completed' job always carries its result.
    return this.call(async () => {
      const state = await q.getJobState(id);
      if (state === 'unknown') return undefined;
      const job = await q.getJob(id);
      return job ? (toInfo(job, state) as JobInfo<R>) : undefined;
    });
  }

  async waitFor<R>(queue: string, id: string, timeoutMs: number): Promise<JobInfo<R>> {
    this.assertOpen();
    checkQueueName(queue);
    checkTimeout(timeoutMs);
    await this.events_(queue);
    // An event for this job cuts the current nap short; one that arrives while the state is being
    // read makes the loop read it again at once.
    let eventSeen = false;
    let nap: AbortController | undefined;
    const onEvent = (): void => {
      eventSeen = true;
      nap?.abort();
    };
    let byJob = this.finishWaiters.get(queue);
    if (!byJob) this.finishWaiters.set(queue, (byJob = new Map()));
    let waiters = byJob.get(id);
    if (!waiters) byJob.set(id, (waiters = new Set()));
    waiters.add(onEvent);
    const deadline = this.options.clock.now() + timeoutMs;
    try {
      for (;;) {
        eventSeen = false;
        const info = await this.getJob<R>(queue, id);
        if (!info) throw unknownJob(queue, id);
        if (info.state === 'completed' || info.state === 'failed') return info;
        const left = deadline - this.options.clock.now();
        if (left <= 0) {
          throw new LabError(
            'LKL_ERR_QUEUE_WAIT_TIMEOUT',
            `Job ${id} of queue ${queue} did not finish within ${timeoutMs} ms (state ${info.state}); check that a worker runs this queue (lklab batch-worker), or wait longer.`,
            { details: { queue, id, state: info.state } },
          );
        }
        if (eventSeen) continue;
        nap = new AbortController();
        await this.options.clock
          .sleep(Math.min(left, this.pollMs), AbortSignal.any([nap.signal, this.life.signal]))
          .catch(() => undefined);
        nap = undefined;
        if (this.life.signal.aborted) throw closedError(this.safeUrl);
      }
    } finally {
      waiters.delete(onEvent);
      if (waiters.size === 0) byJob.delete(id);
    }
  }

  on(queue: string, event: JobEvent, listener: Listener): () => void {
    checkQueueName(queue);
    if (this.closed) return () => undefined;
    let sets = this.listeners.get(queue);
    if (!sets)
      this.listeners.set(queue, (sets = { completed: new Set(), failed: new Set(), progress: new Set() }));
    sets[event].add(listener);
    this.events_(queue).catch(() => undefined);
    const set = sets[event];
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
    await this.events_(queue);
    await this.call(() =>
      q.upsertJobScheduler(
        name,
        { every: everyMs },
        {
          name,
          data,
          opts: {
            removeOnComplete: { count: this.keepFinished },
            removeOnFail: { count: this.keepFinished },
          },
        },
      ),
    );
  }

  async unrepeat(queue: string, name: string): Promise<void> {
    this.assertOpen();
    checkQueueName(queue);
    const q = this.queue(queue);
    await this.call(() => q.removeJobScheduler(name));
  }

  async counts(queue: string): Promise<JobCounts> {
    this.assertOpen();
    checkQueueName(queue);
    const q = this.queue(queue);
    const c = await this.call(() =>
      q.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed'),
    );
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
      delayed: c.delayed ?? 0,
    };
  }

  async obliterate(queue: string): Promise<void> {
    this.assertOpen();
    checkQueueName(queue);
    const q = this.queue(queue);
    const schedulers = await this.call(() => q.getJobSchedulers());
    for (const s of schedulers) await this.call(() => q.removeJobScheduler(s.key));
    await this.call(() => q.obliterate({ force: true }));
  }

  /** Bounded by min(operationTimeoutMs, 3 s): a health check must answer quickly. */
  async ping(): Promise<void> {
    this.assertOpen();
    await this.call(() => this.connection.ping(), Math.min(this.opTimeoutMs, 3_000));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.life.abort();
    await Promise.allSettled([...this.workers].map((w) => w.close()));
    const events = await Promise.allSettled([...this.events.values()]);
    await Promise.allSettled(events.map((e) => (e.status === 'fulfilled' ? e.value.close() : undefined)));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    try {
      if (this.connection.status === 'ready') await this.connection.quit();
    } catch {
      // fall through
    }
    this.connection.disconnect();
  }

  private jobOptions(opts: JobOptions | undefined): JobsOptions {
    const checked = checkJobOptions(opts);
    const out: JobsOptions = {
      attempts: checked.attempts,
      removeOnComplete: { count: this.keepFinished },
      removeOnFail: { count: this.keepFinished },
    };
    if (checked.backoffMs > 0) out.backoff = { type: 'exponential', delay: checked.backoffMs };
    if (checked.jobId !== undefined) out.jobId = checked.jobId;
    return out;
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      q.on('error', (err) => {
        this.lastConnectionError = err;
      });
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * The queue's QueueEvents, reading the events stream from its current end: created once, before
   * the first job this adapter adds, so no event of those jobs is missed.
   */
  private events_(queue: string): Promise<QueueEvents> {
    let p = this.events.get(queue);
    if (!p) {
      p = this.call(async () => {
        const q = this.queue(queue);
        const last = await this.connection.xrevrange(q.keys.events!, '+', '-', 'COUNT', 1);
        const ev = new QueueEvents(queue, {
          connection: this.connection,
          prefix: this.prefix,
          lastEventId: last[0]?.[0] ?? '0-0',
        });
        ev.on('error', (err) => {
          this.lastConnectionError = err;
        });
        const finished = (event: 'completed' | 'failed', jobId: string): void => {
          for (const wake of [...(this.finishWaiters.get(queue)?.get(jobId) ?? [])]) wake();
          this.dispatch(queue, event, jobId);
        };
        ev.on('completed', ({ jobId }) => finished('completed', jobId));
        ev.on('failed', ({ jobId }) => finished('failed', jobId));
        ev.on('progress', ({ jobId, data }) => this.dispatch(queue, 'progress', jobId, data));
        await ev.waitUntilReady();
        return ev;
      });
      this.events.set(queue, p);
      p.catch(() => this.events.delete(queue));
    }
    return p;
  }

  private dispatch(queue: string, event: JobEvent, jobId: string, progress?: unknown): void {
    const set = this.listeners.get(queue)?.[event];
    if (!set || set.size === 0 || this.closed) return;
    void (async () => {
      let info: JobInfo | undefined;
      try {
        const q = this.queue(queue);
        const state = await q.getJobState(jobId);
        const job = await q.getJob(jobId);
        if (job) info = toInfo(job, state);
      } catch {
        // fall back to what the event carries
      }
      info ??= {
        id: jobId,
        name: '',
        state: event === 'progress' ? 'active' : event,
        attemptsMade: 0,
        progress: progress ?? null,
      };
      if (event === 'progress') info.progress = progress;
      for (const listener of [...set]) {
        try {
          listener(info);
        } catch {
          // A listener's bug must not break event delivery.
        }
      }
    })();
  }

  private async call<T>(fn: () => Promise<T>, timeoutMs = this.opTimeoutMs): Promise<T> {
    const stop = new AbortController();
    const timeout = this.options.clock.sleep(timeoutMs, stop.signal).then(
      () => {
        throw new LabError(
          'LKL_ERR_QUEUE_UNAVAILABLE',
          `The job queue got no answer from Redis at ${this.safeUrl} within ${timeoutMs} ms${this.lastConnectionError ? ` (${this.lastConnectionError.message})` : ''}. Check that Redis runs (npm run stack:status) and REDIS_URL; the call can be retried.`,
          { details: { url: this.safeUrl } },
        );
      },
      () => undefined as never,
    );
    try {
      return await Promise.race([fn(), timeout]);
    } catch (err) {
      if (err instanceof LabError) throw err;
      throw new LabError(
        'LKL_ERR_QUEUE_UNAVAILABLE',
        `The job queue cannot use Redis at ${this.safeUrl} (${(err as Error)?.message ?? String(err)}). Check that Redis runs (npm run stack:status) and REDIS_URL; the call can be retried.`,
        { cause: err, details: { url: this.safeUrl } },
      );
    } finally {
      stop.abort();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw closedError(this.safeUrl);
  }
}

function toInfo(job: Job, bullState: string): JobInfo {
  const state = STATE_MAP[bullState] ?? 'unknown';
  const info: JobInfo = {
    id: job.id!,
    name: job.name,
    state,
    attemptsMade: job.attemptsMade,
    progress: job.progress,
    data: job.data,
    createdAt: job.timestamp,
  };
  if (state === 'completed') info.result = job.returnvalue;
  if (job.failedReason) info.failedReason = job.failedReason;
  if (job.finishedOn !== undefined) info.finishedAt = job.finishedOn;
  return info;
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

function closedError(url: string): LabError {
  return new LabError(
    'LKL_ERR_QUEUE_UNAVAILABLE',
    `The BullMQ job queue (${url}) is closed; create a new one.`,
    { retriable: false },
  );
}

/** Creates the queue and checks that Redis answers (LKL_ERR_QUEUE_UNAVAILABLE otherwise). */
export async function openBullMqJobQueue(options: BullMqJobQueueOptions): Promise<BullMqJobQueue> {
  const queue = new BullMqJobQueue(options);
  try {
    await queue.ping();
  } catch (err) {
    await queue.close();
    throw err;
  }
  return queue;
}
