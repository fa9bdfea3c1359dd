/**
 * Argument checks shared by both job-queue adapters, so each rejects exactly what BullMQ would
 * (and says what to do) before anything is enqueued. Pure; no I/O.
 */
import { LabError } from '../errors/lab-error.js';
import type { JobOptions } from './job-queue.js';

export interface CheckedJobOptions {
  attempts: number;
  backoffMs: number;
  jobId: string | undefined;
}

function invalid(message: string, details: Record<string, unknown>): LabError {
  return new LabError('LKL_ERR_QUEUE_OPTIONS_INVALID', message, { details });
}

export function checkQueueName(queue: string): void {
  if (typeof queue !== 'string' || queue.length === 0 || queue.includes(':')) {
    throw invalid(`Queue name ${JSON.stringify(queue)} is invalid: use a non-empty name without ':'.`, {
      queue,
    });
  }
}

export function checkJobName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalid(`Job name ${JSON.stringify(name)} is invalid: use a non-empty string.`, { name });
  }
}

export function checkJobOptions(opts: JobOptions | undefined): CheckedJobOptions {
  const attempts = opts?.attempts ?? 1;
  const backoffMs = opts?.backoffMs ?? 0;
  const jobId = opts?.jobId;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw invalid(`attempts must be an integer ≥ 1 (got ${String(attempts)}).`, { attempts });
  }
  if (!Number.isSafeInteger(backoffMs) || backoffMs < 0) {
    throw invalid(`backoffMs must be an integer ≥ 0 (got ${String(backoffMs)}).`, { backoffMs });
  }
  if (jobId !== undefined) {
    if (typeof jobId !== 'string' || jobId.length === 0)
      throw invalid('jobId must be a non-empty string.', { jobId });
    if (String(Number.parseInt(jobId, 10)) === jobId) {
      throw invalid(
        `jobId ${jobId} is an integer, which would collide with generated ids; add a prefix (e.g. "task-${jobId}").`,
        { jobId },
      );
    }
    if (jobId.includes(':')) throw invalid(`jobId ${jobId} contains ':'; use another separator.`, { jobId });
  }
  return { attempts, backoffMs, jobId };
}

export function checkEveryMs(everyMs: number): void {
  if (!Number.isSafeInteger(everyMs) || everyMs < 1) {
    throw invalid(`everyMs must be an integer ≥ 1 (got ${String(everyMs)}).`, { everyMs });
  }
}

export function checkTimeout(timeoutMs: number): void {
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw invalid(`timeoutMs must be a number ≥ 0 (got ${String(timeoutMs)}).`, { timeoutMs });
  }
}

export function checkConcurrency(concurrency: number | undefined): number {
  const c = concurrency ?? 1;
  if (!Number.isSafeInteger(c) || c < 1)
    throw invalid(`concurrency must be an integer ≥ 1 (got ${String(c)}).`, { concurrency });
  return c;
}

/** Delay before the next attempt after `attemptsMade` failed attempts (BullMQ's exponential backoff). */
export function backoffDelay(backoffMs: number, attemptsMade: number): number {
  return backoffMs <= 0 ? 0 : Math.round(2 ** (attemptsMade - 1) * backoffMs);
}

/** JSON round trip: what a job's data / result looks like after travelling through the queue. */
export function viaJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
