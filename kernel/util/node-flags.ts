import { spawnSync } from 'node:child_process';

/**
 * V8 flags every long-running lab process starts with (`npm start`, the `lklab` launcher's
 * shebang, the Dockerfile, the benchmarks that host a lab). Node refuses them in NODE_OPTIONS, so
 * each launcher spells them out; test/node-flags.test.ts checks that they all agree with this list.
 *
 * --initial-old-space-size=128: V8 sizes the old generation from the live heap, which for the lab
 * is small (~30–40 MB), so it ran a major GC every 2–4 s under load; each one held the serving
 * layer's event loop for 10–30 ms and put ~40 queries over 10 ms. Starting the old generation
 * larger makes major GCs rare (serving p99 at 1,000 queries/s: 11.1 → 6.8 ms over 90 s at 256 MB,
 * docs/targets.md). 128 MB rather than 256: the same serving bench, same machine, same hour gave
 * p99 5.2 ms at 128 and 4.35 ms at 256, while an idle `npm start` held ~150 MB more RSS at 256
 * after 9 minutes (519 vs 360 MB), a heap V8 filled with garbage before collecting it.
 */
export const LAB_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/** True when this process was started with every one of LAB_NODE_FLAGS. */
export function hasLabNodeFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return LAB_NODE_FLAGS.every((f) => execArgv.includes(f));
}

/**
 * For scripts that host a lab in-process (benchmarks): unless this process already has
 * LAB_NODE_FLAGS, runs the same script again with them, waits for it, and exits with its status.
 */
export function relaunchWithLabNodeFlags(): void {
  if (hasLabNodeFlags()) return;
  const r = spawnSync(
    process.execPath,
    [...LAB_NODE_FLAGS, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}
