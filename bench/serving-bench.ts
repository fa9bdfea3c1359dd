/**
 * Serving-layer benchmark (not a test): an embedded lab with live YSB traffic and a published batch
 * view; a separate process sends `rate` requests/s (open loop) of GET /api/views?arch=lambda over the
 * last 5 minutes (both sides of the boundary) and of one campaign; prints p50/p90/p99.
 *   npm run build && node dist/bench/serving-bench.js [--rate 1000] [--seconds 20] [--warmup 30] [--http-warmup 5] [--event-rate 1000] [--json FILE]
 *     --warmup: seconds of live traffic before the batch run; --http-warmup: seconds of requests at the same
 *     rate before the measured ones (not measured: JIT and connection pools warm up on both sides)
 *     [--measurement-ms 5000]  (the lab's metrics snapshot interval; a snapshot's DuckDB query competes with
 *     the serving layer for the 2 cores, so a large value shows the serving layer alone)
 *     [--cpu-sample-us 5000]  (the lab's CPU-attribution sampling profile, measurement.cpuSampleIntervalUs; 0 = off)
 * --json FILE also writes the report (with the lab process's peak RSS) to FILE.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLab } from '../lab/create-lab.js';
import { DEFAULTS } from '../kernel/config/defaults.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { relaunchWithLabNodeFlags } from '../kernel/util/node-flags.js';
import { flags, machine, peakRssBytes, printMachine, table, writeJson } from './bench-support.js';

// The lab runs in this process: give it the V8 flags `npm start` gives it.
relaunchWithLabNodeFlags();

const args = flags(
  {
    rate: 1000,
    seconds: 20,
    warmup: 30,
    httpWarmup: 5,
    eventRate: 1000,
    measurementMs: 5000,
    cpuSampleUs: DEFAULTS.measurement.cpuSampleIntervalUs,
    json: '',
  },
  {
    about:
      'Serving latency (p50/p90/p99) of GET /api/views?arch=lambda under open-loop load, against an embedded lab with live traffic and a published batch view.',
    flags: {
      rate: '<requests/s> query rate (open loop)',
      seconds: '<s> measured duration',
      warmup: '<s> live traffic before the batch run',
      httpWarmup: '<s> requests at the same rate before the measured ones, not measured',
      eventRate: '<events/s> YSB generator rate into the lab',
      measurementMs: "<ms> the lab's metrics snapshot interval",
      cpuSampleUs:
        "<us> the lab's CPU-attribution sampling interval (measurement.cpuSampleIntervalUs; 0 = off)",
      json: '<file> also write the report as JSON to FILE',
    },
  },
);
printMachine();
const dir = mkdtempSync(join(tmpdir(), 'lkl-serving-bench-'));
const lab = await createLab(
  loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      server: { port: 0 },
      generator: { rate: args.eventRate },
      batch: { intervalMs: 0, ingestIntervalMs: 2000 },
      measurement: { intervalMs: args.measurementMs, cpuSampleIntervalUs: args.cpuSampleUs },
    },
  }),
);
const url = await lab.listen();
console.log(`lab at ${url}; ${args.eventRate} events/s for ${args.warmup} s of warm-up, then a batch run...`);
await new Promise((r) => setTimeout(r, args.warmup * 1000));
const run = await lab.services.batch.waitForRun(lab.services.batch.requestRun('bench').id);
const now = Date.now();
const from = now - 5 * 60_000;
const campaign = lab.services.reference.campaigns[0]!;
const paths = [
  `/api/views?arch=lambda&metric=views&from=${from}&to=${now + 10_000}`,
  `/api/views?arch=lambda&metric=views&from=${from}&to=${now + 10_000}&campaign=${campaign}`,
];
const probe = (await (await fetch(url + paths[0])).json()) as { windows: unknown[]; boundary: number };
console.log(
  `batch view v${run.viewVersion} (boundary lag ${now - probe.boundary} ms); one answer holds ${probe.windows.length} windows`,
);
const loader = fileURLToPath(
  new URL('./http-load.' + (import.meta.url.endsWith('.ts') ? 'ts' : 'js'), import.meta.url),
);
const nodeArgs = import.meta.url.endsWith('.ts') ? ['--import', 'tsx', loader] : [loader];
const { stdout } = await promisify(execFile)(
  process.execPath,
  [
    ...nodeArgs,
    '--url',
    url,
    '--rate',
    String(args.rate),
    '--seconds',
    String(args.seconds),
    '--warmup',
    String(args.httpWarmup),
    '--paths',
    paths.join('|'),
    '--slow-ms',
    '10',
  ],
  { maxBuffer: 1e7 },
);
const { slowPerSecond, ...result } = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<
  string,
  number
> & { slowPerSecond?: Record<string, number> };
table([{ 'target rps': args.rate, ...result }]);
if (slowPerSecond && Object.keys(slowPerSecond).length > 0)
  console.log(
    `requests over 10 ms, by second of the measured run: ${Object.entries(slowPerSecond)
      .map(([s, n]) => `${s}s:${n}`)
      .join(' ')}`,
  );
console.log(`p99 ${result.p99} ms at ${result.achievedRps} requests/s (target ≤ 10 ms at 1,000/s)`);
const report = {
  bench: 'serving',
  machine: machine(),
  args,
  windowsPerAnswer: probe.windows.length,
  result,
  /** The whole embedded lab (generator, ingest, speed layer, batch layer, Kappa job, API) in one process. */
  peakRssBytes: peakRssBytes(),
};
console.log(JSON.stringify(report));
if (args.json) writeJson(args.json, report);
await lab.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
