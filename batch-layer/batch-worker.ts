import type { Clock } from '../kernel/clock/clock.js';
import type { JobQueue } from '../kernel/ports/job-queue.js';
import type { AnalyticDb } from './analytic-db.js';
import { runMapTask, runReduceTask, type MapTask, type ReduceTask } from './map-reduce/tasks.js';

export const BATCH_QUEUE = 'lklab-batch';

/** Task data as queued: the task, plus an optional injected fault (fail attempts below N). */
export type BatchTaskData = ({ kind: 'map' } & MapTask) | ({ kind: 'reduce' } & ReduceTask);
export type QueuedTask = BatchTaskData & { failUntilAttempt?: number };

/**
 * A batch worker: takes map and reduce tasks from the job queue and runs them on DuckDB. Embedded,
 * the lab runs one in-process; distributed, `lklab batch-worker` runs one per process over BullMQ.
 */
export async function startBatchWorker(
  queue: JobQueue,
  db: AnalyticDb,
  clock: Clock,
  concurrency: number,
): Promise<{ close(): Promise<void> }> {
  const connections = await Promise.all(Array.from({ length: concurrency }, () => db.connect()));
  const free = [...connections];
  return queue.work<QueuedTask, unknown>(
    BATCH_QUEUE,
    async (job) => {
      const data = job.data;
      if (data.failUntilAttempt !== undefined && job.attempt < data.failUntilAttempt) {
        throw new Error(
          `injected fault: ${data.kind} task failed on attempt ${job.attempt} (scenario fault injection)`,
        );
      }
      const c = free.pop() ?? (await db.connect());
      try {
        const now = (): number => clock.now();
        return data.kind === 'map' ? await runMapTask(c, data, now) : await runReduceTask(c, data, now);
      } finally {
        free.push(c);
      }
    },
    { concurrency },
  );
}
