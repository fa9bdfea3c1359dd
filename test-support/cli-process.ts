/** Spawning the real CLI (`node bin/lklab.js ...`, compiled by `npm run build`) and reading its output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LAB_MALLOC_ENV, LAB_NODE_FLAGS } from '../kernel/util/node-flags.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

export interface CliProcess {
  proc: ChildProcess;
  /** Resolves with the first match of `re` in stdout (rejects on exit or timeout). */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** Sends a signal and waits for the exit (rejects after timeoutMs, then kills it). */
  stop(
    signal: NodeJS.Signals,
    timeoutMs: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function cliBuilt(): boolean {
  return existsSync(MAIN);
}

export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  if (!cliBuilt()) throw new Error('dist/ is missing: run `npm run build` before the CLI process tests.');
  const proc = spawn(process.execPath, [...LAB_NODE_FLAGS, 'bin/lklab.js', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    // A key set to undefined is removed (e.g. KAFKA_BROKERS for an embedded lab).
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...LAB_MALLOC_ENV, ...env }).filter(([, v]) => v !== undefined),
    ) as NodeJS.ProcessEnv,
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    for (const l of [...listeners]) l();
  });
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const describe = (): string =>
    `lklab ${args.join(' ')} (pid ${proc.pid}); stdout: ${out.slice(-1500)}; stderr: ${err.slice(-1500)}`;
  return {
    proc,
    exited,
    stdout: () => out,
    stderr: () => err,
    waitForOutput(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = out.match(re);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${re} within ${timeoutMs} ms from ${describe()}`));
        }, timeoutMs);
        const onExit = (): void => {
          setTimeout(() => {
            check();
            cleanup();
            reject(new Error(`exited before printing ${re}: ${describe()}`));
          }, 50);
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          proc.off('exit', onExit);
        };
        listeners.add(check);
        proc.on('exit', onExit);
        check();
      });
    },
    async stop(signal, timeoutMs) {
      if (!done) proc.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          proc.kill('SIGKILL');
          reject(new Error(`did not exit within ${timeoutMs} ms of ${signal}: ${describe()}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
