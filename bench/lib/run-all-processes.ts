/**
 * What bench/run-all.ts runs each part with: the repository root, the Kafka + Redis to use, the
 * machine and tool versions it reports, one bench script in its own process group (with a time
 * limit), and the rule that says whether a load step was sustained.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BenchResults, type PartRun } from '../bench-results.js';

export const ALL_PARTS = ['load', 'replay', 'ceiling', 'mapreduce', 'serving', 'log'] as const;
export type Part = (typeof ALL_PARTS)[number];

export const root = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();
export const fromSources = import.meta.url.endsWith('.ts');

export const log = (m: string): void => console.log(`[bench] ${m}`);
export const run = promisify(execFile);

/** KAFKA_BROKERS / REDIS_URL, else the local stack's addresses if it is up, else null. */
export async function infra(): Promise<{ brokers: string; redis: string } | null> {
  if (process.env.KAFKA_BROKERS && process.env.REDIS_URL)
    return { brokers: process.env.KAFKA_BROKERS, redis: process.env.REDIS_URL };
  try {
    const { stdout } = await run('bash', [join(root, 'scripts', 'stack', 'stack.sh'), 'status']);
    const brokers = /KAFKA_BROKERS=(\S+)/.exec(stdout)?.[1];
    const redis = /REDIS_URL=(\S+)/.exec(stdout)?.[1];
    return brokers && redis ? { brokers, redis } : null;
  } catch {
    return null;
  }
}

export async function versionOf(cmd: string, args: string[], re: RegExp): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args);
    return re.exec(stdout + stderr)?.[1] ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

/** The machine, as BENCHMARKS.md describes it. */
export async function describeMachine(): Promise<BenchResults['machine']> {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${process.arch} ${release()}`,
    node: process.version,
    java: await versionOf('java', ['-version'], /version "([^"]+)"/),
    kafka: await versionOf(
      'bash',
      [join(root, 'bench', 'peers', 'kafka-streams-ysb', 'peer.sh'), 'version'],
      /(\S+)/,
    ),
    redis: await versionOf('redis-server', ['--version'], /v=(\S+)/),
    loadAverageBefore: loadavg().map((l) => Number(l.toFixed(2))),
    loadAverageAfter: [],
  };
}

/**
 * Runs one bench script with --json into a temp file; returns the run with its report. The
 * command recorded is the one a reader types to reproduce the row (npm run build first).
 */
let current: number | undefined;
/** Per bench script (the profile's); a script past it is stopped and its row marked failed. */
let scriptTimeoutSeconds = 1800;
/** The profile's time limit of one bench script (s). */
export function setScriptTimeoutSeconds(seconds: number): void {
  scriptTimeoutSeconds = seconds;
}

/** SIGTERM to a child's process group, SIGKILL 5 s later if it is still there. */
export function stopGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, 5000).unref();
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    stopping = true;
    log(`${signal}: stopping the running bench script and its processes`);
    stopGroup(current);
    setTimeout(() => process.exit(130), 6000).unref();
  });

export async function runScript(
  part: Part,
  script: string,
  args: string[],
  env: Record<string, string>,
  label: string,
  timeoutSeconds = scriptTimeoutSeconds,
): Promise<PartRun> {
  if (stopping) process.exit(130);
  const tmp = mkdtempSync(join(tmpdir(), 'lkl-bench-json-'));
  const json = join(tmp, 'report.json');
  const file = join(root, fromSources ? 'bench' : 'dist/bench', `${script}.${fromSources ? 'ts' : 'js'}`);
  const envPrefix = Object.entries(env)
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const command = `${envPrefix}node dist/bench/${script}.js ${args.join(' ')}`.trim();
  log(`${label}: ${command}`);
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const out: PartRun = { part, label, command, startedAt, seconds: 0, ok: false, report: null, error: null };
  try {
    await new Promise<void>((resolve, reject) => {
      // Its own process group, so that a timeout or Ctrl-C also ends what it started (producer
      // processes, the peer's JVM).
      const child = spawn(
        process.execPath,
        [...(fromSources ? ['--import', 'tsx'] : []), file, ...args, '--json', json],
        { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
      );
      current = child.pid;
      const timer = setTimeout(() => {
        log(`${label}: no result after ${timeoutSeconds} s, stopping it`);
        stopGroup(child.pid);
      }, timeoutSeconds * 1000);
      child.on('exit', () => {
        clearTimeout(timer);
        current = undefined;
      });
      let tail = '';
      const keep = (c: Buffer): void => {
        tail = (tail + c.toString('utf8')).slice(-4000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`exit code ${String(code)}: …${tail.slice(-1500)}`)),
      );
    });
    out.report = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    out.ok = true;
  } catch (err) {
    out.error = (err as Error).message;
    log(`${label}: FAILED — ${out.error.split('\n')[0]}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  out.seconds = Math.round((performance.now() - t0) / 100) / 10;
  log(`${label}: ${out.ok ? 'done' : 'failed'} in ${out.seconds} s`);
  return out;
}

/** A load step is sustained when ≥ 95 % of the target rate was produced and p99 ≤ the limit. */
export function sustained(report: Record<string, unknown> | null, p99LimitMs: number): boolean {
  const r = (report?.result ?? null) as {
    targetRate: number;
    achievedRate: number;
    windows: number;
    p99: number | null;
  } | null;
  if (!r || !r.windows || r.p99 === null || !Number.isFinite(r.p99)) return false;
  return r.achievedRate >= 0.95 * r.targetRate && r.p99 <= p99LimitMs;
}
