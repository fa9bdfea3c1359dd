import type { Clock } from '../../kernel/clock/clock.js';

/**
 * Token bucket for a replay's rate limit (events/s). A batch may overdraw the bucket; the next
 * caller then waits until it is paid back, so the long-run rate is the limit. No burst: the bucket starts empty.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly clock: Clock,
  ) {
    // Starts empty: a replay paced at R events/s never bursts a whole second's worth at start.
    this.tokens = 0;
    this.last = clock.now();
  }

  get limited(): boolean {
    return this.ratePerSecond > 0;
  }

  /** Takes `n` tokens, waiting while the bucket is overdrawn. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (this.ratePerSecond <= 0) return;
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(
        this.ratePerSecond,
        this.tokens + ((now - this.last) * this.ratePerSecond) / 1000,
      );
      this.last = now;
      if (this.tokens >= 0) break;
      await this.clock.sleep(Math.max(1, Math.ceil((-this.tokens * 1000) / this.ratePerSecond)), signal);
    }
    this.tokens -= n;
  }
}
