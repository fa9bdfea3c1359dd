import type { Clock } from './clock.js';

interface Sleeper {
  wakeAt: number;
  seq: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A clock whose time only moves when told to: by hand with advance()/set(), or as fast as
 * possible with runUntil()/runAll(), which jump straight to the next sleeper's wake time.
 * Sleepers wake in (time, registration) order, so a run is deterministic for a seed.
 */
export class VirtualClock implements Clock {
  private current: number;
  private sleepers: Sleeper[] = [];
  private seq = 0;

  /**
   * @param startMs the clock's first reading
   * @param settleMs real ms a woken task may take to reach its next sleep before time moves on
   *   (a task that does not sleep again costs this much once)
   */
  constructor(
    startMs = 0,
    private readonly settleMs = 100,
  ) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = {
        wakeAt: this.current + Math.max(0, ms),
        seq: this.seq++,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        sleeper.onAbort = () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        };
        signal.addEventListener('abort', sleeper.onAbort, { once: true });
      }
      this.sleepers.push(sleeper);
    });
  }

  /** Number of pending sleepers. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** Moves time forward by `ms`, waking every sleeper due on the way, in order. */
  async advance(ms: number): Promise<void> {
    await this.runUntil(this.current + ms);
  }

  /** Moves time to `target` (never backwards), waking sleepers due on the way. */
  async runUntil(target: number): Promise<void> {
    for (;;) {
      const next = this.nextSleeper();
      if (!next || next.wakeAt > target) break;
      this.current = Math.max(this.current, next.wakeAt);
      await this.wakeAndWait(next);
    }
    this.current = Math.max(this.current, target);
    await settle();
  }

  /**
   * Wakes a sleeper and lets it run until it sleeps again (or `idleMs` of real time passes, for a
   * task that ended), so that a woken task's I/O completes before time moves on.
   */
  private async wakeAndWait(s: Sleeper, idleMs = this.settleMs): Promise<void> {
    const before = this.sleepers.length;
    this.wake(s);
    const started = performance.now();
    await settle();
    while (this.sleepers.length < before && performance.now() - started < idleMs) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Runs as fast as possible until no sleeper is left or `maxMs` of virtual time has passed. */
  async runAll(maxMs = Number.POSITIVE_INFINITY): Promise<void> {
    const limit = this.current + maxMs;
    for (;;) {
      const next = this.nextSleeper();
      if (!next || next.wakeAt > limit) break;
      this.current = Math.max(this.current, next.wakeAt);
      await this.wakeAndWait(next);
    }
  }

  private nextSleeper(): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.sleepers) {
      if (!best || s.wakeAt < best.wakeAt || (s.wakeAt === best.wakeAt && s.seq < best.seq)) best = s;
    }
    return best;
  }

  private wake(s: Sleeper): void {
    this.sleepers = this.sleepers.filter((x) => x !== s);
    if (s.signal && s.onAbort) s.signal.removeEventListener('abort', s.onAbort);
    s.resolve();
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
