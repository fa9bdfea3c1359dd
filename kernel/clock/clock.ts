/**
 * Everything that reads time takes a Clock: the system clock live, a virtual clock when
 * fast-forwarding. Layer code never calls Date.now() directly (an ESLint rule enforces it).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
