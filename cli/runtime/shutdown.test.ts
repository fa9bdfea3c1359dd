import { afterEach, describe, expect, it, vi } from 'vitest';
import { exitOnSignals, FORCED_EXIT_CODE } from './shutdown.js';
import { waitUntil } from '../../kernel/util/wait-until.js';

// SIGUSR2 emitted on `process` only calls the listeners: nothing is killed.
const SIGNAL = 'SIGUSR2' as const;
const later = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('exitOnSignals', () => {
  afterEach(() => {
    process.removeAllListeners(SIGNAL);
    vi.restoreAllMocks();
  });

  function setup(stop: () => Promise<void>, timeoutMs: number, pending?: () => string) {
    const exits: number[] = [];
    const errors: string[] = [];
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
    exitOnSignals({
      announce: 'stopping...',
      stop,
      timeoutMs,
      signals: [SIGNAL],
      exit: (c) => void exits.push(c),
      ...(pending ? { pending } : {}),
    });
    return { exits, errors };
  }

  it('exits 0 once the graceful stop is done', async () => {
    const { exits } = setup(() => later(20), 1000);
    process.emit(SIGNAL);
    await later(60);
    expect(exits).toEqual([0]);
  });

  it('exits at once with code 1 at the deadline, naming what had not stopped', async () => {
    const { exits, errors } = setup(
      () => new Promise(() => undefined),
      100,
      () => 'the Kappa jobs',
    );
    const t = performance.now();
    process.emit(SIGNAL);
    await waitUntil(() => exits.length > 0, { what: 'the forced exit', timeoutMs: 2_000, intervalMs: 5 });
    expect(performance.now() - t).toBeLessThan(400);
    expect(exits).toEqual([FORCED_EXIT_CODE]);
    expect(errors.join('\n')).toContain('did not finish within 100 ms');
    expect(errors.join('\n')).toContain('Still stopping: the Kappa jobs.');
  });

  it('a second signal exits at once with code 1', async () => {
    const { exits, errors } = setup(
      () => new Promise(() => undefined),
      60_000,
      () => 'the API server',
    );
    process.emit(SIGNAL);
    await later(10);
    expect(exits).toEqual([]);
    process.emit(SIGNAL);
    expect(exits).toEqual([FORCED_EXIT_CODE]);
    expect(errors.join('\n')).toContain(`second ${SIGNAL}`);
    expect(errors.join('\n')).toContain('Still stopping: the API server.');
  });

  it('a stop that fails exits 1', async () => {
    const { exits, errors } = setup(() => Promise.reject(new Error('disk gone')), 1000);
    process.emit(SIGNAL);
    await later(20);
    expect(exits).toEqual([FORCED_EXIT_CODE]);
    expect(errors.join('\n')).toContain('disk gone');
  });
});
