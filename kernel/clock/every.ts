import type { Clock } from './clock.js';

/**
 * Runs `tick` every `ms` of the clock's time until `signal` aborts (the first run after one
 * interval). A tick's error goes to `onError` and the loop goes on. Resolves when the loop ends.
 */
export async function every(
  clock: Clock,
  ms: number,
  signal: AbortSignal,
  tick: () => Promise<void>,
  onError: (err: Error) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await clock.sleep(ms, signal);
    } catch {
      return;
    }
    await tick().catch(onError);
  }
}

/**
 * Phase of the flush and checkpoint ticks past a whole interval, in ms. YSB's windows end on whole
 * 10-second boundaries, so ticks at whole seconds + this phase give each window its final update
 * this long after it closes (time for the last events to be appended and read), instead of at a
 * random point of the interval.
 */
export const TICK_PHASE_MS = 150;

/** The first tick time after `after` that lies on a whole `intervalMs` + TICK_PHASE_MS of the epoch. */
export function alignedTick(after: number, intervalMs: number): number {
  const phase = TICK_PHASE_MS % intervalMs;
  const base = Math.floor((after - phase) / intervalMs) * intervalMs + phase;
  return base + intervalMs;
}
