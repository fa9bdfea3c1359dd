/**
 * SIGTERM / SIGINT for every long-running lklab command: the first signal stops gracefully (flush,
 * commit, close) and exits 0; a second signal, or the deadline (server.shutdownTimeoutMs), exits at
 * once with code 1 and a message naming what had not stopped. So a stop always ends, whatever is
 * running (scenario labs, Kappa replays, batch runs).
 */
export interface ShutdownOptions {
  /** prints `<SIGNAL>: <announce>` at the first signal */
  announce: string;
  /** the graceful stop */
  stop: () => Promise<void>;
  /** ms the graceful stop may take; then the process exits at once */
  timeoutMs: number;
  /** what is still stopping (named in the message of a forced exit) */
  pending?: () => string | undefined;
  /** printed when the graceful stop finished (before the exit) */
  done?: string;
  /** exit code after a graceful stop (0; a headless scenario run that was interrupted exits 1) */
  doneCode?: number;
  signals?: readonly NodeJS.Signals[];
  /** for tests; process.exit by default */
  exit?: (code: number) => void;
}

export const FORCED_EXIT_CODE = 1;

export function exitOnSignals(opts: ShutdownOptions): void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping: string | undefined;
  let startedAt = 0;
  let deadline: NodeJS.Timeout | undefined;
  const forced = (why: string): void => {
    clearTimeout(deadline);
    const what = opts.pending?.();
    console.error(
      `lklab: ${why}; exiting at once (code ${FORCED_EXIT_CODE}) after ${Math.round(performance.now() - startedAt)} ms. ${what ? `Still stopping: ${what}.` : 'The stop had not finished.'} What was not flushed is read again from the log at the next start.`,
    );
    exit(FORCED_EXIT_CODE);
  };
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      forced(`second ${signal} while stopping (after ${stopping})`);
      return;
    }
    stopping = signal;
    startedAt = performance.now();
    console.log(`\n${signal}: ${opts.announce}`);
    deadline = setTimeout(
      () => forced(`the stop did not finish within ${opts.timeoutMs} ms (server.shutdownTimeoutMs)`),
      opts.timeoutMs,
    );
    opts.stop().then(
      () => {
        clearTimeout(deadline);
        if (opts.done) console.log(opts.done);
        exit(opts.doneCode ?? 0);
      },
      (err: Error) => {
        clearTimeout(deadline);
        console.error(`lklab: did not stop cleanly: ${err.message}`);
        exit(FORCED_EXIT_CODE);
      },
    );
  };
  for (const s of opts.signals ?? (['SIGINT', 'SIGTERM'] as const)) process.on(s, () => handler(s));
}
