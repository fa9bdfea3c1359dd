/**
 * Starts a worker thread from a module next to the caller. Compiled (dist/*.js) it is a plain
 * Worker; from the TypeScript sources (vitest, `node --import tsx`) the worker first registers
 * tsx's loader, since a worker does not inherit the parent's module hooks.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function spawnThread(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  // The ESM build of tsx's API (its CJS build resolves its own ESM part wrongly from a worker).
  const tsxApi = pathToFileURL(
    join(
      dirname(createRequire(import.meta.url).resolve('tsx/package.json')),
      'dist',
      'esm',
      'api',
      'index.mjs',
    ),
  ).href;
  const code =
    `import(${JSON.stringify(tsxApi)}).then((m) => m.register())` +
    `.then(() => import(${JSON.stringify(moduleUrl.href)}))` +
    `.catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: String(e && e.stack || e) }); });`;
  return new Worker(code, { ...options, eval: true });
}
