/**
 * Errors of the Redis realtime store: a failed command mapped to LKL_ERR_STORE_CONFLICT (wrong
 * kind of key) or LKL_ERR_STORE_UNAVAILABLE (Redis refuses, or cannot be reached), and the
 * Redis URL without credentials for the messages.
 */
import { LabError } from '../../errors/lab-error.js';
import { conflict } from '../../ports/realtime-store-validation.js';

/**
 * The LabError of a failed command on `key`; `lastConnectionError` is what ioredis last
 * reported about the connection (it says more than the command's own error).
 */
export function mapRedisError(
  err: unknown,
  key: string | undefined,
  safeUrl: string,
  lastConnectionError: Error | undefined,
): LabError {
  if (err instanceof LabError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('WRONGTYPE')) {
    return conflict(
      `Key ${key ?? '?'} holds the other kind of value (fields vs sketch); read fields with getFields() and sketches with sketchCount().`,
      { key },
    );
  }
  if (isReplyError(err)) {
    // OOM, READONLY, LOADING, MISCONF, BUSY...: Redis is up but not serving writes/reads now.
    return new LabError(
      'LKL_ERR_STORE_UNAVAILABLE',
      `Redis at ${safeUrl} refused a realtime-store command (${message}); fix Redis (memory, replica role, persistence) and retry.`,
      { cause: err, details: { url: safeUrl } },
    );
  }
  const why = lastConnectionError?.message ?? message;
  return new LabError(
    'LKL_ERR_STORE_UNAVAILABLE',
    `The realtime store cannot reach Redis at ${safeUrl} (${why}). Check that Redis runs (npm run stack:status) and REDIS_URL; the operation can be retried.`,
    { cause: err, details: { url: safeUrl } },
  );
}

function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/** The URL without credentials, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid Redis URL>';
  }
}
