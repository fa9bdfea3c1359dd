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
