/**
 * Capacity benchmark (not a test): how far the embedded lab's live paths go on this machine, in one
 * run, beside a ceiling measured in the same run.
 *
 * 1. The ceiling: one thread JSON.parse-ing YSB events (the generator's own lines), events/s — the
 *    least per-event work any job does; machines differ, so steps are reported as a ratio to it.
 * 2. Sustained steps: `speed-latency-bench --mode embedded` for the speed layer (lambda) and the
 *    Kappa live job (kappa) at each --rates step for --seconds, each in its own process. A step is
 *    sustained when the generator achieved ≥ 98 % of the rate and the p99 final-event latency is
 *    ≤ --p99-ms.
 * 3. Past capacity (--overload-rate): the same with the lab's back-pressure on
 *    (backpressure.maxLagEvents, maxScheduleLagMs): latency stays bounded, the generator is
 *    throttled or sheds (never appends what the job cannot read), and nothing appended is lost.
 *
 *   npm run build && node dist/bench/capacity-bench.js [--rates 110000,150000,170000] [--seconds 60]
 *       [--archs lambda,kappa] [--overload-rate 250000] [--json FILE]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../kernel/config/defaults.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import { flags, machine, printMachine, table, writeJson } from './bench-support.js';

const args = flags(
  {
    rates: '110000,150000,170000',
    seconds: 60,
    archs: 'lambda,kappa',
    overloadRate: 250_000,
    p99Ms: 1000,
    parseSeconds: 3,
    json: '',
  },
  {
    about:
      'Sustained YSB live steps of the speed layer and the Kappa live job (embedded), the behaviour past capacity with back-pressure on, and the one-thread JSON.parse ceiling of YSB events from the same run.',
    flags: {
      rates: '<events/s,...> the sustained steps to try, comma-separated',
      seconds: '<s> duration of every step',
      archs: '<lambda,kappa> which jobs to run (lambda = the speed layer, kappa = the Kappa live job v1)',
      overloadRate: '<events/s> a step past capacity, run with back-pressure on (0 = skip)',
      p99Ms: '<ms> the p99 final-event latency a sustained step stays within',
      parseSeconds: '<s> how long the JSON.parse ceiling is measured',
      json: '<file> also write the whole report as JSON to this file',
    },
  },
);

printMachine();
const ceiling = parseCeiling(args.parseSeconds);
console.log(
  `ceiling: one thread JSON.parse of YSB events: ${ceiling.toLocaleString()} events/s (${args.parseSeconds} s)`,
);

interface StepResult {
  arch: string;
  targetRate: number;
  achievedRate: number;
  p50: number;
  p99: number;
  max: number;
  windows: number;
  maxBacklogEvents: number;
  unprocessed: number | null;
  shed: number;
  throttledMs: number;
  throttled: number;
  cpuSecondsPerSecond: number;
  peakRssBytes: number;
}

const bench = fileURLToPath(new URL('./speed-latency-bench.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'lkl-capacity-'));
const rows: Array<StepResult & { step: string; verdict: string }> = [];
try {
  for (const arch of args.archs.split(',').filter(Boolean)) {
    for (const rate of args.rates
      .split(',')
      .map(Number)
      .filter((r) => r > 0)) {
      const r = await step(arch, rate, []);
      const sustained =
        r.achievedRate >= 0.98 * rate && measured(r) && r.p99 <= args.p99Ms && r.unprocessed === 0;
      rows.push({ ...r, step: 'sustained?', verdict: sustained ? 'sustained' : 'NOT sustained' });
    }
    if (args.overloadRate > 0) {
      const r = await step(arch, args.overloadRate, [
        '--max-lag',
        String(DEFAULTS.backpressure.maxLagEvents),
        '--max-schedule-lag-ms',
        String(DEFAULTS.backpressure.maxScheduleLagMs),
      ]);
      const graceful = r.unprocessed === 0 && measured(r);
      rows.push({
        ...r,
        step: 'past capacity, back-pressure on',
        verdict: graceful ? 'degraded gracefully' : r.unprocessed !== 0 ? 'LOST EVENTS' : 'no whole window',
      });
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

table(
  rows.map((r) => ({
    arch: r.arch,
    step: r.step,
    target: r.targetRate.toLocaleString(),
    achieved: r.achievedRate.toLocaleString(),
    p50: `${r.p50} ms`,
    p99: `${r.p99} ms`,
    max: `${r.max} ms`,
    maxBacklog: r.maxBacklogEvents.toLocaleString(),
    lost: r.unprocessed ?? '—',
    shed: r.shed.toLocaleString(),
    throttledS: (r.throttledMs / 1000).toFixed(1),
    cores: r.cpuSecondsPerSecond,
    rssMB: Math.round(r.peakRssBytes / 2 ** 20),
    verdict: r.verdict,
  })),
);
const summary = args.archs
  .split(',')
  .filter(Boolean)
  .map((arch) => {
    const best = rows
      .filter((r) => r.arch === arch && r.verdict === 'sustained')
      .reduce((m, r) => Math.max(m, r.targetRate), 0);
    return {
      arch,
      highestSustained: best,
      ratioToParseCeiling: Number((best / ceiling).toFixed(3)),
    };
  });
for (const s of summary) {
  console.log(
    `${s.arch}: highest sustained step ${s.highestSustained.toLocaleString()} events/s = ${s.ratioToParseCeiling} × the JSON.parse ceiling (${ceiling.toLocaleString()} events/s)`,
  );
}
const report = { bench: 'capacity', machine: machine(), args, parseCeiling: ceiling, steps: rows, summary };
console.log(JSON.stringify(report));
if (args.json) writeJson(args.json, report);

/** Whether the step closed whole windows (a p99 to judge); JSON carries NaN as null. */
function measured(r: StepResult): boolean {
  return r.windows > 0 && typeof r.p99 === 'number' && Number.isFinite(r.p99);
}

/** One step in its own process (its own heap, its own event loop), as `speed-latency-bench`. */
async function step(arch: string, rate: number, extra: string[]): Promise<StepResult> {
  const out = join(tmp, `${arch}-${rate}.json`);
  const argv = [
    bench,
    '--arch',
    arch,
    '--mode',
    'embedded',
    '--rate',
    String(rate),
    '--seconds',
    String(args.seconds),
    '--json',
    out,
    ...extra,
  ];
  console.log(
    `\n== ${arch} at ${rate.toLocaleString()} events/s${extra.length ? ' (back-pressure on)' : ''}`,
  );
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`speed-latency-bench ${argv.slice(1).join(' ')} exited with ${code}`);
  const report = JSON.parse(readFileSync(out, 'utf8')) as { result: StepResult };
  return report.result;
}

/** Events/s one thread JSON.parses, over the generator's YSB lines (a pool reused round-robin). */
function parseCeiling(seconds: number): number {
  const gen = new YsbGenerator(buildReferenceData(), {
    seed: 7,
    mode: 'catch-up',
    rate: 0,
    startTime: Date.now(),
  });
  const lines = gen.take(100_000).map((r) => r.value);
  let n = 0;
  let sink = 0;
  // Warm-up (JIT) outside the measured time.
  for (const l of lines) sink += (JSON.parse(l) as { event_time: string }).event_time.length & 1;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 10_000; i++) {
      sink += (JSON.parse(lines[n++ % lines.length]!) as { event_time: string }).event_time.length & 1;
    }
  }
  const rate = Math.round((n * 1000) / (performance.now() - t0));
  if (sink < 0) console.log(sink); // keeps the parse from being optimised away
  return rate;
}
