/**
 * Polls a condition until it holds or a timeout passes: the one poll-until-timeout loop of the
 * tests, the test support, the scenarios, the CLI and the benchmarks. Real time (performance.now),
 * not a Clock: it waits for I/O, which a virtual clock does not drive.
 */

export interface WaitUntilOptions {
  /**
   * What is waited for, in words: the timeout error names it ("… waiting for <what>"). A function
   * is called at the timeout, so the message can carry the state then (a last error, a count).
   */
  what: string | (() => string);
  /** ms before giving up; default 10 000 */
  timeoutMs?: number;
  /** ms between two checks; default 50 */
  intervalMs?: number;
  /** aborts the wait (rejects with the signal's reason) */
  signal?: AbortSignal;
}

export const WAIT_UNTIL_DEFAULTS = {
  /** ms */
  timeoutMs: 10_000,
  /** ms */
  intervalMs: 50,
} as const;

/** The timeout of waitUntil: names what it waited for and how long. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';

  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`Timed out after ${timeoutMs} ms waiting for ${what}`, options);
  }
}

type Falsy = false | 0 | '' | null | undefined;

/**
 * Calls `predicate` (at once, then every `intervalMs`) until it answers a truthy value, and resolves
 * with that value. Throws WaitTimeoutError once `timeoutMs` passed without one; an error the predicate
 * throws propagates at once (wrap the predicate to retry through errors).
 */
export async function waitUntil<T>(
  predicate: () => T | Promise<T>,
  options: WaitUntilOptions,
): Promise<Exclude<T, Falsy>> {
  const timeoutMs = options.timeoutMs ?? WAIT_UNTIL_DEFAULTS.timeoutMs;
  const intervalMs = options.intervalMs ?? WAIT_UNTIL_DEFAULTS.intervalMs;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const value = await predicate();
    if (value) return value as Exclude<T, Falsy>;
    if (performance.now() >= deadline) {
      const what = typeof options.what === 'function' ? options.what() : options.what;
      throw new WaitTimeoutError(what, timeoutMs);
    }
    await sleep(Math.max(0, Math.min(intervalMs, deadline - performance.now())), options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
