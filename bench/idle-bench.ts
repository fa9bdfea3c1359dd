/**
 * Idle-cost benchmark (not a test): what `npm start` costs at its default load. Starts
 * `bin/lklab.js start` (with the lab's V8 flags, as `npm start` does) on a free port and a temp data
 * directory, lets it run for --minutes, samples the process's CPU (/proc/<pid>/stat utime + stime,
 * its descendants included) and RSS (/proc/<pid>/status VmRSS), reads the lab's own CPU attribution
 * (GET /api/metrics → computeMs) at the end, prints cores used, RSS and the share attributed to
 * "other", then stops the lab (SIGTERM) and removes the data directory. Linux only (/proc).
 *   npm run build && node dist/bench/idle-bench.js [--minutes 10] [--rate 1000] [--sample-seconds 5] [--json FILE]
 *     --rate: the generator's events/s (`lklab start --rate`; 1,000 is `npm start`'s default)
 *     targets (issue 14): ≤ 0.10 core and ≤ 300 MB RSS after 10 minutes; "other" < 10 % of the CPU
 *     RSS is printed at the end and as the range over the last minute (min, median, max of the
 *     samples): a split every 15 s and a batch run every 60 s each lift it for a few seconds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_NODE_FLAGS, labMallocAssignments, labProcessEnv } from '../kernel/util/node-flags.js';
import { flags, machine, percentile, printMachine, table, writeJson } from './bench-support.js';
import { waitUntil } from '../kernel/util/wait-until.js';

const args = flags(
  {
    minutes: 10,
    rate: 1000,
    sampleSeconds: 5,
    nodeFlags: LAB_NODE_FLAGS.join(' '),
    glibcMalloc: false,
    json: '',
  },
  {
    about: 'Runs `lklab start` at its default load and prints the cores, RSS and CPU attribution it costs.',
    flags: {
      minutes: '<min> how long the lab runs before the final reading',
      rate: '<events/s> the generator rate (`lklab start --rate`; 1,000 is the default of `npm start`)',
      sampleSeconds: '<s> seconds between CPU and RSS samples',
      nodeFlags:
        '<flags> V8 flags the lab runs with (space-separated; "" = none; the default is what `npm start` uses)',
      glibcMalloc:
        "run the lab with glibc malloc's defaults instead of the settings `npm start` sets (LAB_MALLOC_ENV)",
      json: '<file> also write the figures as JSON to this file',
    },
  },
);
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux for every common architecture). */
const CLK_TCK = 100;

printMachine();
const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'lkl-idle-bench-'));
const bin = fileURLToPath(new URL('../../bin/lklab.js', import.meta.url));
const child = spawn(
  process.execPath,
  [
    ...args.nodeFlags.split(' ').filter(Boolean),
    bin,
    'start',
    '--port',
    String(port),
    '--data-dir',
    join(dir, 'data'),
    '--rate',
    String(args.rate),
  ],
  { stdio: ['ignore', 'pipe', 'pipe'], env: args.glibcMalloc ? process.env : labProcessEnv() },
);
let output = '';
child.stdout.on('data', (d: Buffer) => (output += d.toString()));
child.stderr.on('data', (d: Buffer) => (output += d.toString()));
const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
const url = `http://127.0.0.1:${port}`;
const pid = child.pid!;

interface Sample {
  t: number;
  cpuS: number;
  rssBytes: number;
}
const samples: Sample[] = [];
let report: Record<string, unknown> | undefined;
try {
  await waitForHealth(url, 60_000);
  console.log(
    `lab at ${url} (pid ${pid}, ${args.rate} events/s, data ${dir}); sampling every ${args.sampleSeconds} s for ${args.minutes} min...`,
  );
  const started = performance.now();
  const end = started + args.minutes * 60_000;
  const take = (): Sample => {
    const s = { t: (performance.now() - started) / 1000, ...usage(pid) };
    samples.push(s);
    return s;
  };
  take();
  let lastPrint = 0;
  while (performance.now() < end) {
    await sleep(Math.min(args.sampleSeconds * 1000, Math.max(0, end - performance.now())));
    const s = take();
    if (s.t - lastPrint >= 60 || performance.now() >= end) {
      lastPrint = s.t;
      const prev = samples.find((x) => x.t >= s.t - 60) ?? samples[0]!;
      console.log(
        `  ${(s.t / 60).toFixed(1)} min: CPU ${s.cpuS.toFixed(1)} s, last minute ${cores(prev, s).toFixed(3)} cores, RSS ${mb(s.rssBytes)} MB`,
      );
    }
  }
  const metrics = (await (await fetch(`${url}/api/metrics`)).json()) as {
    computeMs?: Record<string, number>;
  };
  const computeMs = metrics.computeMs ?? {};
  const attributedMs = Object.values(computeMs).reduce((a, b) => a + b, 0);
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const lastMinute = samples.find((x) => x.t >= last.t - 60) ?? first;
  const otherShare = attributedMs > 0 ? (computeMs.other ?? 0) / attributedMs : null;
  const result = {
    minutes: Number((last.t / 60).toFixed(2)),
    coresWholeRun: Number(cores(first, last).toFixed(3)),
    coresLastMinute: Number(cores(lastMinute, last).toFixed(3)),
    cpuSeconds: Number(last.cpuS.toFixed(1)),
    rssMBAtEnd: mb(last.rssBytes),
    rssMBPeak: mb(Math.max(...samples.map((s) => s.rssBytes))),
    // The last minute's samples: RSS swings by 20–40 MB within seconds (a batch-ingest split every
    // 15 s and a batch run every 60 s both peak at the 10-minute mark), so one reading is luck.
    rssMBLastMinute: range(samples.filter((s) => s.t >= last.t - 60).map((s) => mb(s.rssBytes))),
    attributedCpuS: Number((attributedMs / 1000).toFixed(1)),
    otherCpuS: Number(((computeMs.other ?? 0) / 1000).toFixed(1)),
    otherShare: otherShare === null ? null : Number(otherShare.toFixed(3)),
  };
  const { rssMBLastMinute, ...shown } = result;
  table([
    {
      rate: args.rate,
      ...shown,
      rssMBLastMinute: `${rssMBLastMinute.min}–${rssMBLastMinute.max} (median ${rssMBLastMinute.median})`,
      otherShare: result.otherShare ?? 'n/a',
    },
  ]);
  console.log("the lab's own CPU attribution (GET /api/metrics → computeMs, s):");
  table(
    Object.entries(computeMs)
      .sort((a, b) => b[1] - a[1])
      .map(([component, ms]) => ({
        component,
        cpuS: (ms / 1000).toFixed(1),
        share: attributedMs > 0 ? `${((100 * ms) / attributedMs).toFixed(1)} %` : 'n/a',
      })),
  );
  console.log(
    `cores ${result.coresLastMinute} over the last minute (target ≤ 0.10), RSS ${result.rssMBAtEnd} MB at the end, at most ${rssMBLastMinute.max} MB over the last minute (target ≤ 300), "other" ${otherShare === null ? 'n/a' : (100 * otherShare).toFixed(1) + ' %'} of the attributed CPU (target < 10 %)`,
  );
  report = {
    bench: 'idle',
    machine: machine(),
    args,
    command: `${args.glibcMalloc ? '' : labMallocAssignments() + ' '}node ${args.nodeFlags} bin/lklab.js start --rate ${args.rate}`,
    result,
    computeMs,
    samples: samples.map((s) => ({
      t: Number(s.t.toFixed(1)),
      cpuS: Number(s.cpuS.toFixed(2)),
      rssMB: mb(s.rssBytes),
    })),
  };
  console.log(JSON.stringify({ bench: 'idle', result, computeMs }));
  if (args.json) writeJson(args.json, report);
} catch (err) {
  console.error(`idle-bench: ${(err as Error).message}\n--- lab output ---\n${output}`);
  process.exitCode = 1;
} finally {
  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    console.error('the lab did not exit within 15 s of SIGTERM; killing it');
    child.kill('SIGKILL');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Smallest, median and largest of some readings. */
function range(xs: number[]): { min: number; median: number; max: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: percentile(sorted, 0), median: percentile(sorted, 50), max: percentile(sorted, 100) };
}

/** CPU seconds (user + system) and RSS of `root` and its descendants. */
function usage(root: number): { cpuS: number; rssBytes: number } {
  let ticks = 0;
  let rss = 0;
  for (const p of [root, ...descendants(root)]) {
    try {
      // Fields after the command name (which may hold spaces) start at field 3: utime is field 14.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      rss += m ? Number(m[1]) * 1024 : 0;
    } catch {
      // the process ended between the listing and the read
    }
  }
  return { cpuS: ticks / CLK_TCK, rssBytes: rss };
}

function descendants(p: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${p}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ').filter(Boolean).map(Number)) out.push(c, ...descendants(c));
  }
  return out;
}

function cores(a: Sample, b: Sample): number {
  return b.t > a.t ? (b.cpuS - a.cpuS) / (b.t - a.t) : 0;
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitForHealth(base: string, timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => {
      try {
        if ((await fetch(`${base}/api/health`)).ok) return true;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null)
        throw new Error(`the lab exited with code ${child.exitCode} before it answered`);
      return false;
    },
    { what: `the lab to answer ${base}/api/health`, timeoutMs, intervalMs: 200 },
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as { port: number };
      srv.close(() => resolve(p));
    });
  });
}
