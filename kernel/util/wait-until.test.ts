import { describe, expect, it } from 'vitest';
import { WaitTimeoutError, waitUntil } from './wait-until.js';

describe('waitUntil', () => {
  it('resolves with the first truthy answer, checking at once and then every interval', async () => {
    let calls = 0;
    const started = performance.now();
    const value = await waitUntil(() => (++calls >= 3 ? `after ${calls}` : undefined), {
      what: 'the third call',
      intervalMs: 20,
    });
    expect(value).toBe('after 3');
    expect(calls).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('awaits an async predicate', async () => {
    let n = 0;
    await expect(waitUntil(async () => ++n === 2, { what: 'n = 2', intervalMs: 1 })).resolves.toBe(true);
  });

  it('throws a timeout error that names what it waited for and how long', async () => {
    let calls = 0;
    const started = performance.now();
    const err = await waitUntil(
      () => {
        calls++;
        return false;
      },
      { what: 'the batch view v2', timeoutMs: 60, intervalMs: 10 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).message).toBe('Timed out after 60 ms waiting for the batch view v2');
    expect((err as WaitTimeoutError).what).toBe('the batch view v2');
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('names the state at the timeout when `what` is a function', async () => {
    let seen = 0;
    await expect(
      waitUntil(() => ++seen > 1_000, {
        what: () => `1,000 calls (saw ${seen})`,
        timeoutMs: 30,
        intervalMs: 10,
      }),
    ).rejects.toThrow(/^Timed out after 30 ms waiting for 1,000 calls \(saw [2-9]\)$/);
  });

  it('checks once more at the deadline: a condition met by then is not a timeout', async () => {
    const started = performance.now();
    const ok = await waitUntil(() => performance.now() - started >= 40, {
      what: 'the deadline',
      timeoutMs: 40,
      intervalMs: 1_000,
    });
    expect(ok).toBe(true);
  });

  it('passes a predicate error through at once', async () => {
    let calls = 0;
    await expect(
      waitUntil(
        () => {
          calls++;
          throw new Error('broken');
        },
        { what: 'x', timeoutMs: 1_000 },
      ),
    ).rejects.toThrow('broken');
    expect(calls).toBe(1);
  });

  it('stops waiting when its signal aborts', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('cancelled')), 20);
    await expect(
      waitUntil(() => false, { what: 'never', timeoutMs: 5_000, intervalMs: 1_000, signal: abort.signal }),
    ).rejects.toThrow('cancelled');
  });
});
