/**
 * A Redis call of the BullMQ adapter, bounded in time: with `maxRetriesPerRequest: null` ioredis
 * queues commands while Redis is down instead of failing them, so each call races a timer of the
 * injected clock and fails with LKL_ERR_QUEUE_UNAVAILABLE (as does any non-LabError failure).
 */
import type { Clock } from '../../clock/clock.js';
import { LabError } from '../../errors/lab-error.js';

export async function boundedCall<T>(
  fn: () => Promise<T>,
  timeoutMs: number,
  clock: Clock,
  safeUrl: string,
  /** What the connection last reported, for the timeout's message. */
  lastConnectionError: () => Error | undefined,
): Promise<T> {
  const stop = new AbortController();
  const timeout = clock.sleep(timeoutMs, stop.signal).then(
    () => {
      const last = lastConnectionError();
      throw new LabError(
        'LKL_ERR_QUEUE_UNAVAILABLE',
        `The job queue got no answer from Redis at ${safeUrl} within ${timeoutMs} ms${last ? ` (${last.message})` : ''}. Check that Redis runs (npm run stack:status) and REDIS_URL; the call can be retried.`,
        { details: { url: safeUrl } },
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
      `The job queue cannot use Redis at ${safeUrl} (${(err as Error)?.message ?? String(err)}). Check that Redis runs (npm run stack:status) and REDIS_URL; the call can be retried.`,
      { cause: err, details: { url: safeUrl } },
    );
  } finally {
    stop.abort();
  }
}
