/**
 * Running the jobs of the embedded queue: hand waiting jobs to workers with a free slot, run a
 * handler with the job's context, retry with backoff on the clock, finish (keeping at most
 * `keepFinished` finished jobs per state), and tell waiters and listeners.
 */
import type { Clock } from '../../clock/clock.js';
import { backoffDelay, viaJson } from '../../ports/job-queue-validation.js';
import type { JobContext, JobEvent } from '../../ports/job-queue.js';
import { info, type Job, type QueueState, type Worker } from './queue-state.js';

export class JobRunner {
  constructor(
    private readonly clock: Clock,
    /** Aborted when the queue closes: ends backoff sleeps. */
    private readonly lifeSignal: AbortSignal,
    private readonly keepFinished: number,
    private readonly isClosed: () => boolean,
  ) {}

  /** Hands waiting jobs to workers with a free slot, round robin. */
  dispatch(q: QueueState): void {
    if (this.isClosed()) return;
    while (q.waiting.length > 0) {
      const worker = q.freeWorker();
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

  private async run(q: QueueState, worker: Worker, job: Job): Promise<void> {
    const generation = q.generation;
    const current = (): boolean => q.generation === generation && !this.isClosed();
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
    if (job.attemptsMade < job.attempts && !this.isClosed()) {
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
        await this.clock.sleep(delay, this.lifeSignal);
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
    job.finishedAt = this.clock.now();
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
}
