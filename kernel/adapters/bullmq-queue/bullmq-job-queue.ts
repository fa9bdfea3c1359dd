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
import { Queue, Worker, type QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { Clock } from '../../clock/clock.js';
import {
  checkConcurrency,
  checkEveryMs,
  checkJobName,
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
  JobWorker,
} from '../../ports/job-queue.js';
import { redactUrl } from '../redis-store/redis-errors.js';
import { boundedCall } from './bullmq-call.js';
import { BullMqEventHub, type Listener } from './bullmq-events.js';
import { closedError, toBullJobOptions, toInfo, unknownJob, waitTimeoutError } from './bullmq-job-info.js';

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

export class BullMqJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly connection: Redis;
  private readonly prefix: string;
  private readonly safeUrl: string;
  private readonly keepFinished: number;
  private readonly opTimeoutMs: number;
  private readonly pollMs: number;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Set<Worker>();
  private readonly hub: BullMqEventHub;
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
    this.hub = new BullMqEventHub({
      connection: this.connection,
      prefix: this.prefix,
      queue: (name) => this.queue(name),
      call: (fn) => this.call(fn),
      isClosed: () => this.closed,
      onError: (err) => {
        this.lastConnectionError = err;
      },
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
      return { name: j.name, data: j.data, opts: toBullJobOptions(j.opts, this.keepFinished) };
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
    const stopWaking = this.hub.onFinish(queue, id, onEvent);
    const deadline = this.options.clock.now() + timeoutMs;
    try {
      for (;;) {
        eventSeen = false;
        const info = await this.getJob<R>(queue, id);
        if (!info) throw unknownJob(queue, id);
        if (info.state === 'completed' || info.state === 'failed') return info;
        const left = deadline - this.options.clock.now();
        if (left <= 0) {
          throw waitTimeoutError(queue, id, timeoutMs, info.state);
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
      stopWaking();
    }
  }

  on(queue: string, event: JobEvent, listener: Listener): () => void {
    checkQueueName(queue);
    if (this.closed) return () => undefined;
    const off = this.hub.listen(queue, event, listener);
    this.events_(queue).catch(() => undefined);
    return off;
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
    await this.hub.closeAll();
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    try {
      if (this.connection.status === 'ready') await this.connection.quit();
    } catch {
      // fall through
    }
    this.connection.disconnect();
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

  /** The queue's QueueEvents (see BullMqEventHub.ensure). */
  private events_(queue: string): Promise<QueueEvents> {
    return this.hub.ensure(queue);
  }

  private call<T>(fn: () => Promise<T>, timeoutMs = this.opTimeoutMs): Promise<T> {
    return boundedCall(fn, timeoutMs, this.options.clock, this.safeUrl, () => this.lastConnectionError);
  }

  private assertOpen(): void {
    if (this.closed) throw closedError(this.safeUrl);
  }
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
