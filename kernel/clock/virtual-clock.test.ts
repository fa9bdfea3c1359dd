import { describe, expect, it } from 'vitest';
import { SystemClock } from './system-clock.js';
import { VirtualClock } from './virtual-clock.js';

describe('VirtualClock', () => {
  it('moves only when advanced, waking sleepers in time order', async () => {
    const clock = new VirtualClock(1000);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
    void clock.sleep(300).then(() => woke.push(`c@${clock.now()}`));
    expect(clock.now()).toBe(1000);
    await clock.advance(200);
    expect(woke).toEqual(['a@1100']);
    expect(clock.now()).toBe(1200);
    await clock.advance(100);
    expect(woke).toEqual(['a@1100', 'b@1300', 'c@1300']);
  });

  it('lets a woken task finish its async work before time moves on', async () => {
    const clock = new VirtualClock(0);
    const ticks: number[] = [];
    const abort = new AbortController();
    const loop = (async () => {
      for (;;) {
        try {
          await clock.sleep(50, abort.signal);
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 2)); // real I/O inside the tick
        ticks.push(clock.now());
      }
    })();
    await clock.advance(1000);
    abort.abort();
    await loop;
    expect(ticks).toHaveLength(20);
    expect(ticks[0]).toBe(50);
    expect(ticks.at(-1)).toBe(1000);
  });

  it('runs as fast as possible with runAll, bounded by maxMs', async () => {
    const clock = new VirtualClock(0);
    let n = 0;
    const loop = (async () => {
      while (n < 1000) {
        await clock.sleep(1000);
        n++;
      }
    })();
    const t = performance.now();
    await clock.runAll(500_000);
    expect(n).toBe(500);
    expect(clock.now()).toBe(500_000);
    await clock.runAll();
    await loop;
    expect(n).toBe(1000);
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('rejects a sleep when its signal aborts', async () => {
    const clock = new VirtualClock(0);
    const abort = new AbortController();
    const p = clock.sleep(100, abort.signal);
    abort.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
  });
});

describe('SystemClock', () => {
  it('reads wall time and sleeps for real', async () => {
    const clock = new SystemClock();
    const t0 = clock.now();
    expect(Math.abs(t0 - Date.now())).toBeLessThan(50);
    await clock.sleep(30);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(25);
  });
});
