/**
 * Translation between the job-queue port and BullMQ: a BullMQ job and its state as the port's
 * JobInfo, the port's job options as BullMQ's (attempts, exponential backoff, kept finished
 * jobs, job id), and the errors the adapter raises about jobs and its own state.
 */
import type { Job, JobsOptions } from 'bullmq';
import { LabError } from '../../errors/lab-error.js';
import { checkJobOptions } from '../../ports/job-queue-validation.js';
import type { JobInfo, JobOptions, JobState } from '../../ports/job-queue.js';

const STATE_MAP: Record<string, JobState> = {
  waiting: 'waiting',
  prioritized: 'waiting',
  'waiting-children': 'waiting',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
  delayed: 'delayed',
};

export function toInfo(job: Job, bullState: string): JobInfo {
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

/** The port's options checked (LKL_ERR_QUEUE_INVALID_ARGUMENT) and as BullMQ's; `keepFinished` per state. */
export function toBullJobOptions(opts: JobOptions | undefined, keepFinished: number): JobsOptions {
  const checked = checkJobOptions(opts);
  const out: JobsOptions = {
    attempts: checked.attempts,
    removeOnComplete: { count: keepFinished },
    removeOnFail: { count: keepFinished },
  };
  if (checked.backoffMs > 0) out.backoff = { type: 'exponential', delay: checked.backoffMs };
  if (checked.jobId !== undefined) out.jobId = checked.jobId;
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
    `Job ${id} of queue ${queue} did not finish within ${timeoutMs} ms (state ${state}); check that a worker runs this queue (lklab batch-worker), or wait longer.`,
    { details: { queue, id, state } },
  );
}

export function closedError(url: string): LabError {
  return new LabError(
    'LKL_ERR_QUEUE_UNAVAILABLE',
    `The BullMQ job queue (${url}) is closed; create a new one.`,
    { retriable: false },
  );
}
