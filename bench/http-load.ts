/**
 * Open-loop HTTP load (used by serving-bench in a child process, so the load generator does not
 * share the server's event loop): `rate` requests/s for `seconds`, each timed from its SCHEDULED
 * start (no coordinated omission). Prints one JSON line with the sorted latencies' percentiles.
 * The first `warmup` seconds run at the same rate but are not measured (both sides' JIT and
 * connection pools warm up, as in wrk2's calibration phase).
 *   node dist/bench/http-load.js --url URL --rate 1000 --seconds 20 [--warmup 5] [--paths a|b|c] [--slow-ms 10]
 * --slow-ms N (> 0) adds `slowPerSecond`: how many measured requests took over N ms, per second of
 * the measured run (by scheduled start), to line slow requests up with what the server did then.
 */
import { Agent, request } from 'node:http';
import { flags, percentile } from './bench-support.js';

const a = flags(
  { url: 'http://127.0.0.1:3000', rate: 1000, seconds: 20, warmup: 0, paths: '/api/health', slowMs: 0 },
  {
    about:
      'Open-loop HTTP load: `rate` requests/s for `seconds`, each timed from its scheduled start; prints one JSON line of latency percentiles (ms).',
    flags: {
      url: '<url> base URL of the lab',
      rate: '<requests/s> request rate (open loop)',
      seconds: '<s> measured duration',
      warmup: '<s> requests at the same rate before the measured ones, not measured',
      paths: '<a|b|c> request paths, |-separated, sent in turn',
      slowMs: '<ms> if > 0, also count measured requests over this many ms, per second (slowPerSecond)',
    },
  },
);
const slowPerSecond: Record<string, number> = {};
const paths = a.paths.split('|');
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const base = new URL(a.url);
const latencies: number[] = [];
let errors = 0;
let statusErrors = 0;
const unmeasured = Math.round(a.rate * a.warmup);
const total = unmeasured + Math.round(a.rate * a.seconds);
const interval = 1000 / a.rate;
const start = performance.now();
const measuredStart = start + unmeasured * interval;
await new Promise<void>((resolve) => {
  let sent = 0;
  let done = 0;
  const finish = (): void => {
    done++;
    if (done === total) resolve();
  };
  const tick = (): void => {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) {
      const scheduled = start + sent * interval;
      const path = paths[sent % paths.length]!;
      const measured = sent >= unmeasured;
      sent++;
      const req = request({ host: base.hostname, port: base.port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) statusErrors++;
          if (measured) {
            const ms = performance.now() - scheduled;
            latencies.push(ms);
            if (a.slowMs > 0 && ms > a.slowMs) {
              const second = String(Math.floor((scheduled - measuredStart) / 1000));
              slowPerSecond[second] = (slowPerSecond[second] ?? 0) + 1;
            }
          }
          finish();
        });
      });
      req.on('error', () => {
        errors++;
        finish();
      });
      req.end();
    }
    if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
  };
  tick();
});
latencies.sort((x, y) => x - y);
const elapsed = (performance.now() - measuredStart) / 1000;
console.log(
  JSON.stringify({
    requests: total - unmeasured,
    warmupRequests: unmeasured,
    achievedRps: Math.round((total - unmeasured) / elapsed),
    errors,
    statusErrors,
    p50: Number(percentile(latencies, 50).toFixed(2)),
    p90: Number(percentile(latencies, 90).toFixed(2)),
    p99: Number(percentile(latencies, 99).toFixed(2)),
    max: Number((latencies.at(-1) ?? NaN).toFixed(2)),
    ...(a.slowMs > 0 ? { slowPerSecond } : {}),
  }),
);
agent.destroy();
