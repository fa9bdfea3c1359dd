/** Spawning TypeScript children (`node --import tsx file.ts`) that report JSON lines on stdout. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Child {
  proc: ChildProcess;
  /** Resolves with the first reported line for which `until` is true (rejects if the child exits first). */
  waitFor<T = Record<string, unknown>>(until: (line: T) => boolean, timeoutMs: number): Promise<T>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function spawnTsChild(file: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let buffered = '';
  let err = '';
  const lines: unknown[] = [];
  const listeners = new Set<() => void>();
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        err += `${line}\n`;
      }
      for (const l of [...listeners]) l();
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    exited,
    stderr: () => err,
    waitFor<T>(until: (line: T) => boolean, timeoutMs: number): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let seen = 0;
        const check = (): void => {
          for (; seen < lines.length; seen++) {
            if (until(lines[seen] as T)) {
              cleanup();
              resolve(lines[seen] as T);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `child ${proc.pid} did not report the expected line within ${timeoutMs} ms; last: ${JSON.stringify(lines.at(-1))}; stderr: ${err.slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        const onExit = (): void => {
          setTimeout(() => {
            check();
            cleanup();
            reject(
              new Error(
                `child ${proc.pid} exited before reporting the expected line; last: ${JSON.stringify(lines.at(-1))}; stderr: ${err.slice(-2000)}`,
              ),
            );
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
  };
}
