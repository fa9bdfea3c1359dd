import { spawnSync } from 'node:child_process';

/**
 * V8 flags every long-running lab process starts with (`npm start`, the `lklab` launcher's
 * shebang, the Dockerfile, the benchmarks that host a lab). Node refuses them in NODE_OPTIONS, so
 * each launcher spells them out; test/node-flags.test.ts checks that they all agree with this list.
 *
 * --initial-old-space-size=80: V8 sizes the old generation from the live heap, which for the lab
 * is small (~35–60 MB), so under 1,000 queries/s it ran a major GC every 1–2 s, each holding the
 * serving layer's event loop for 5–30 ms (p99 16–17 ms). Starting the old generation larger makes
 * major GCs rare; an idle `npm start` holds it as RSS, garbage included, so it is no larger than
 * the serving p99 needs.
 * --max-semi-space-size=8: the young generation grew to 2 × 16 MB in an idle lab; 2 × 8 MB is
 * 16 MB less RSS, for twice the scavenges (each as cheap: the survivors are the same).
 * With both, on an AMD EPYC in one quiet quarter hour: serving p99 at 1,000 queries/s 4.17 ms
 * (3.33 ms at 96, 5.12 ms at 64, 4.05 ms with 96 and the default young generation); idle figures
 * in docs/targets.md.
 */
export const LAB_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=80', '--max-semi-space-size=8'];

/**
 * glibc malloc settings every lab process starts with (environment variables glibc reads once, at
 * start: the launchers set them, like LAB_NODE_FLAGS). A fixed mmap threshold of 128 KiB gives
 * every large block back to the system when it is freed; glibc's default raises the threshold
 * after the first large free, after which large buffers come from the heap and their pages stay
 * with the process. Fewer arenas (2, not 8 per core) keep less free memory per thread. Side by
 * side for 8 minutes, an idle lab held ~15–35 MB less RSS with these (docs/targets.md). DuckDB
 * allocates through its own jemalloc (kernel/util/duckdb-allocator.ts); other C libraries ignore
 * them.
 */
export const LAB_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/** `NAME=value` words of LAB_MALLOC_ENV, as a shell command line or `env -S` spells them. */
export function labMallocAssignments(): string {
  return Object.entries(LAB_MALLOC_ENV)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The environment for a lab child process: `env` (default: this process's) with LAB_MALLOC_ENV. */
export function labProcessEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, ...LAB_MALLOC_ENV };
}

/** True when this process was started with every one of LAB_NODE_FLAGS and LAB_MALLOC_ENV. */
export function hasLabNodeFlags(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return (
    LAB_NODE_FLAGS.every((f) => execArgv.includes(f)) &&
    Object.entries(LAB_MALLOC_ENV).every(([k, v]) => env[k] === v)
  );
}

/**
 * For scripts that host a lab in-process (benchmarks): unless this process already has
 * LAB_NODE_FLAGS and LAB_MALLOC_ENV, runs the same script again with them, waits for it, and
 * exits with its status.
 */
export function relaunchWithLabNodeFlags(): void {
  if (hasLabNodeFlags()) return;
  const flags = LAB_NODE_FLAGS.filter((f) => !process.execArgv.includes(f));
  const r = spawnSync(
    process.execPath,
    [...flags, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: labProcessEnv(),
    },
  );
  process.exit(r.status ?? 1);
}
