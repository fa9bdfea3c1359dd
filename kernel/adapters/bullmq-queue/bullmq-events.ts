/**
 * Events of the BullMQ adapter: one QueueEvents per queue, created before the first job this
 * adapter adds (reading the stream from its current end, so no event of those jobs is missed),
 * the port's listeners per queue and event, and the waitFor() callers woken when a job finishes.
 */
import { QueueEvents, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobEvent, JobInfo } from '../../ports/job-queue.js';
import { toInfo } from './bullmq-job-info.js';

export type Listener = (info: JobInfo) => void;

/** What the hub needs from the job queue. */
export interface EventHubHost {
  readonly connection: Redis;
  readonly prefix: string;
  queue(name: string): Queue;
  /** A bounded Redis call (LKL_ERR_QUEUE_UNAVAILABLE on timeout). */
  call<T>(fn: () => Promise<T>): Promise<T>;
  isClosed(): boolean;
  onError(err: Error): void;
}

export class BullMqEventHub {
  private readonly events = new Map<string, Promise<QueueEvents>>();
  private readonly listeners = new Map<string, Record<JobEvent, Set<Listener>>>();
  /** waitFor() callers per queue and job id, woken by the queue's completed/failed events. */
  private readonly finishWaiters = new Map<string, Map<string, Set<() => void>>>();

  constructor(private readonly host: EventHubHost) {}

  /**
   * The queue's QueueEvents, reading the events stream from its current end: created once, before
   * the first job this adapter adds, so no event of those jobs is missed.
   */
  ensure(queue: string): Promise<QueueEvents> {
    let p = this.events.get(queue);
    if (!p) {
      p = this.host.call(async () => {
        const q = this.host.queue(queue);
        const last = await this.host.connection.xrevrange(q.keys.events!, '+', '-', 'COUNT', 1);
        const ev = new QueueEvents(queue, {
          connection: this.host.connection,
          prefix: this.host.prefix,
          lastEventId: last[0]?.[0] ?? '0-0',
        });
        ev.on('error', (err) => {
          this.host.onError(err);
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

  /** Adds a listener of the queue's event; returns the function that removes it. */
  listen(queue: string, event: JobEvent, listener: Listener): () => void {
    let sets = this.listeners.get(queue);
    if (!sets)
      this.listeners.set(queue, (sets = { completed: new Set(), failed: new Set(), progress: new Set() }));
    sets[event].add(listener);
    const set = sets[event];
    return () => {
      set.delete(listener);
    };
  }

  /** Calls `wake` whenever job `id` of the queue completes or fails; returns the function that stops it. */
  onFinish(queue: string, id: string, wake: () => void): () => void {
    let byJob = this.finishWaiters.get(queue);
    if (!byJob) this.finishWaiters.set(queue, (byJob = new Map()));
    let waiters = byJob.get(id);
    if (!waiters) byJob.set(id, (waiters = new Set()));
    waiters.add(wake);
    const jobs = byJob;
    const set = waiters;
    return () => {
      set.delete(wake);
      if (set.size === 0) jobs.delete(id);
    };
  }

  /** Closes every QueueEvents (those whose creation failed are skipped); never rejects. */
  async closeAll(): Promise<void> {
    const events = await Promise.allSettled([...this.events.values()]);
    await Promise.allSettled(events.map((e) => (e.status === 'fulfilled' ? e.value.close() : undefined)));
  }

  private dispatch(queue: string, event: JobEvent, jobId: string, progress?: unknown): void {
    const set = this.listeners.get(queue)?.[event];
    if (!set || set.size === 0 || this.host.isClosed()) return;
    void (async () => {
      let info: JobInfo | undefined;
      try {
        const q = this.host.queue(queue);
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
}
