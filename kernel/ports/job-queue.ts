/**
 * Job-queue port: how the batch layer hands map and reduce tasks to workers, in domain terms
 * (queues, named jobs, attempts with exponential backoff, progress, repeatable schedules).
 * Adapters: the embedded in-process queue (kernel/adapters/embedded-queue) and BullMQ on Redis
 * (kernel/adapters/bullmq-queue). One contract suite (kernel/ports/contracts/job-queue.contract.ts)
 * runs against both.
 *
 * Semantics shared by both adapters (BullMQ's):
 * - Job data and results travel as JSON (a handler never sees the caller's objects).
 * - `attemptsMade` counts finished attempts, successful or not: a job that fails twice and then
 *   succeeds has attemptsMade 3. JobContext.attempt is the running attempt, from 1.
 * - A failed attempt is retried after backoffMs · 2^(attempt-1) while attempts remain; the job is
 *   'delayed' meanwhile. 'failed' (state and event) means finally failed.
 * - Enqueueing with the jobId of an existing job adds nothing and returns that id.
 * - A repeatable schedule runs a job at once and then every `everyMs` (aligned to multiples of it).
 */

export interface JobOptions {
  /** Total attempts, first one included. Default 1. */
  attempts?: number;
  /** Base of the exponential backoff between attempts, in ms. Default 0 (retry at once). */
  backoffMs?: number;
  /** Idempotency key; must not be an integer and must not contain ':' (BullMQ's rules). */
  jobId?: string;
}

export interface JobContext<D> {
  id: string;
  name: string;
  data: D;
  /** The running attempt, from 1. */
  attempt: number;
  reportProgress(progress: number | object): Promise<void>;
}

export type JobState = 'waiting' | 'active' | 'completed' | 'failed' | 'delayed' | 'unknown';

export interface JobInfo<R = unknown> {
  id: string;
  name: string;
  state: JobState;
  attemptsMade: number;
  progress: unknown;
  data?: unknown;
  result?: R;
  failedReason?: string;
  /** Clock ms when the job was enqueued / finally finished. */
  createdAt?: number;
  finishedAt?: number;
}

export type JobEvent = 'completed' | 'failed' | 'progress';

export type JobCounts = Record<'waiting' | 'active' | 'completed' | 'failed' | 'delayed', number>;

export interface JobWorker {
  /** Stops taking jobs and resolves when the jobs it is running have finished. */
  close(): Promise<void>;
}

export interface JobQueue {
  readonly kind: 'embedded' | 'bullmq';
  /** Adds a job; returns its id. */
  enqueue<D>(queue: string, name: string, data: D, opts?: JobOptions): Promise<string>;
  /** Adds many jobs in one step; ids in the order given. */
  enqueueMany<D>(queue: string, jobs: Array<{ name: string; data: D; opts?: JobOptions }>): Promise<string[]>;
  /** Runs `handler` on the queue's jobs, up to `concurrency` (default 1) at a time. */
  work<D, R>(
    queue: string,
    handler: (job: JobContext<D>) => Promise<R>,
    opts?: { concurrency?: number },
  ): Promise<JobWorker>;
  getJob<R>(queue: string, id: string): Promise<JobInfo<R> | undefined>;
  /**
   * Resolves with the job's info once it completed or finally failed (check `state`); rejects with
   * LKL_ERR_QUEUE_JOB_UNKNOWN for a job that does not exist and LKL_ERR_QUEUE_WAIT_TIMEOUT after
   * `timeoutMs` of the queue's clock.
   */
  waitFor<R>(queue: string, id: string, timeoutMs: number): Promise<JobInfo<R>>;
  /** Subscribes to a queue's job events; returns the unsubscribe function. */
  on(queue: string, event: JobEvent, listener: (info: JobInfo) => void): () => void;
  /** Creates or replaces the repeatable schedule `name` of the queue. */
  repeat(queue: string, name: string, data: unknown, everyMs: number): Promise<void>;
  /** Removes the schedule `name` (jobs it already created still run). */
  unrepeat(queue: string, name: string): Promise<void>;
  counts(queue: string): Promise<JobCounts>;
  /** Removes every job and schedule of the queue, running ones included. */
  obliterate(queue: string): Promise<void>;
  /** Resolves when the backend answers; rejects with LKL_ERR_QUEUE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  /** Closes workers (letting running jobs finish), schedules and connections. */
  close(): Promise<void>;
}
