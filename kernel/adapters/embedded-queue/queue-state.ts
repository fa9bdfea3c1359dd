/**
 * The embedded job queue's state per queue: its jobs (by id, the waiting line, the finished ids
 * kept per state), its workers and their free slots, listeners, repeat schedules and the
 * obliterate generation. Plus a job as the port's JobInfo and the errors about jobs and the queue.
 */
import { LabError } from '../../errors/lab-error.js';
import { viaJson, type checkJobOptions } from '../../ports/job-queue-validation.js';
import type { JobContext, JobEvent, JobInfo, JobState } from '../../ports/job-queue.js';

export interface Job {
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

export interface Worker {
  handler: (job: JobContext<unknown>) => Promise<unknown>;
  concurrency: number;
  running: Set<Promise<void>>;
  closing: boolean;
}

export type CheckedJobOptions = ReturnType<typeof checkJobOptions>;

export class QueueState {
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

  /** Adds a waiting job (none when a job of that jobId exists); returns its id. */
  add(name: string, data: unknown, opts: CheckedJobOptions, now: number): string {
    if (opts.jobId !== undefined && this.jobs.has(opts.jobId)) return opts.jobId;
    const id = opts.jobId ?? String(this.nextId++);
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
      createdAt: now,
      finishedAt: undefined,
      finishWaiters: new Set(),
    };
    this.jobs.set(id, job);
    this.waiting.push(job);
    return id;
  }

  /** The next worker with a free slot, round robin. */
  freeWorker(): Worker | undefined {
    for (let i = 0; i < this.workers.length; i++) {
      const w = this.workers[(this.nextWorker + i) % this.workers.length]!;
      if (!w.closing && w.running.size < w.concurrency) {
        this.nextWorker = (this.nextWorker + i + 1) % this.workers.length;
        return w;
      }
    }
    return undefined;
  }
}

export function info(job: Job): JobInfo {
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

export function unknownJob(queue: string, id: string): LabError {
  return new LabError(
    'LKL_ERR_QUEUE_JOB_UNKNOWN',
    `Queue ${queue} has no job ${id}; it was never added, was obliterated, or is older than the finished jobs kept.`,
    {
      details: { queue, id },
    },
  );
}

export function waitTimeoutError(queue: string, id: string, timeoutMs: number, state: JobState): LabError {
  return new LabError(
    'LKL_ERR_QUEUE_WAIT_TIMEOUT',
    `Job ${id} of queue ${queue} did not finish within ${timeoutMs} ms (state ${state}); check that a worker runs this queue, or wait longer.`,
    { details: { queue, id, state } },
  );
}

export function closedError(): LabError {
  return new LabError('LKL_ERR_QUEUE_UNAVAILABLE', 'The embedded job queue is closed; create a new one.', {
    retriable: false,
  });
}
