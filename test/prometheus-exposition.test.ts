/**
 * GET /metrics of a running embedded lab, linted by Prometheus's own `promtool check metrics`
 * (Debian's /usr/bin/promtool, package prometheus): no lint problem, and the key series are there
 * with values that match what the lab did (events appended, queries served, windows sampled).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import type { MetricsSnapshot } from '../measurement/measurement-api.js';
import { projectRoot } from '../kernel/util/project-root.js';
import { describeWithTool } from '../test-support/infra.js';

const PROMTOOL = '/usr/bin/promtool';
const T0 = 1_700_000_000_000;
const EVENTS = 10_000;
const QUERIES = 3;

interface Dashboard {
  __inputs: Array<{ name: string; pluginId: string }>;
  panels: Array<{
    type: string;
    title: string;
    datasource?: { uid: string };
    targets?: Array<{ expr: string }>;
  }>;
}

/** Samples of the exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describeWithTool(PROMTOOL, 'prometheus')('GET /metrics passes promtool check metrics (embedded lab)', () => {
  let dir: string;
  let lab: Lab;
  let text: string;
  let series: Map<string, number>;
  let snapshot: MetricsSnapshot;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-prom-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          generator: { rate: 0 },
          batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
          speed: { flushIntervalMs: 60_000 },
          measurement: { allowedLatenessMs: 0, horizonMs: 3_600_000, intervalMs: 60_000 },
        },
      }),
      { roles: { kappa: false } },
    );
    const gen = new YsbGenerator(buildReferenceData(), {
      seed: 41,
      mode: 'catch-up',
      rate: 0,
      startTime: T0,
    });
    await lab.services.log.append(
      AD_EVENTS_TOPIC,
      gen.take(EVENTS).map((r) => ({ key: r.event!.ad_id, value: r.value })),
    );
    await lab.services.speed.sync(60_000);
    await lab.services.measurement.sync!(60_000);
    for (let i = 0; i < QUERIES; i++) {
      const v = await lab.app.inject({ url: `/api/views?arch=speed&from=${T0}&to=${T0 + 100_000}` });
      expect(v.statusCode).toBe(200);
    }
    // one sampling round of the final-event latency (every second; catch-up windows ended long ago)
    await new Promise((r) => setTimeout(r, 1_500));
    snapshot = (await lab.app.inject({ url: '/api/metrics' })).json() as MetricsSnapshot;
    const res = await lab.app.inject({ url: '/metrics' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    text = res.body;
    series = samples(text);
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has zero lint problems', () => {
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.error).toBeUndefined();
    expect(`${lint.stdout}${lint.stderr}`).toBe('');
    expect(lint.status).toBe(0);
  });

  it('has every lab series in base units and the process metrics', () => {
    expect(text).not.toMatch(/^lklab_\w*_ms\b/m);
    expect(series.get('lklab_events_ingested_total')).toBe(EVENTS);
    expect(series.get('lklab_truth_lag_records')).toBe(0);
    expect(series.get('lklab_correctness_windows{layer="speed",metric="views",verdict="correct"}')).toBe(
      snapshot.correctness.find((c) => c.layer === 'speed' && c.metric === 'views')!.correct,
    );
    expect(series.get('lklab_storage_bytes{arch="lambda"}')).toBeGreaterThan(0);
    expect(series.get('lklab_compute_seconds_total{arch="lambda",component="speed-layer"}')).toBeGreaterThan(
      0,
    );
    expect(series.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(series.get('process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(series.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(1_000_000);
    expect(series.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('has consumer lag per group and partition and the back-pressure state', async () => {
    const lag = [...series].filter(([k]) => k.startsWith('lklab_consumer_lag_events{'));
    const status = (await lab.app.inject({ url: '/api/status' })).json() as {
      groups: Array<{ group: string; topic: string; partitions: Array<{ partition: number; lag: number }> }>;
      backpressure: { limit: number };
    };
    const groups = status.groups.filter((g) => g.topic === AD_EVENTS_TOPIC);
    expect(groups.map((g) => g.group)).toContain('lklab-speed');
    expect(lag).toHaveLength(groups.reduce((n, g) => n + g.partitions.length, 0));
    // the speed layer has committed everything it read: no lag on any partition
    for (const p of groups.find((g) => g.group === 'lklab-speed')!.partitions)
      expect(series.get(`lklab_consumer_lag_events{group="lklab-speed",partition="${p.partition}"}`)).toBe(0);
    expect(series.get('lklab_backpressure_limit_events')).toBe(status.backpressure.limit);
    expect(series.get('lklab_backpressure_saturated')).toBe(0);
    expect(series.get('lklab_backpressure_throttled_total')).toBe(0);
  });

  it('has the latency histograms with one observation per request and per sampled window', () => {
    const route = 'route="/api/views"';
    expect(series.get(`lklab_serving_request_duration_seconds_count{${route}}`)).toBe(QUERIES);
    expect(series.get(`lklab_serving_request_duration_seconds_bucket{le="+Inf",${route}}`)).toBe(QUERIES);
    expect(series.get('lklab_serving_latency_samples')).toBe(QUERIES);
    expect(series.get('lklab_serving_latency_max_seconds')).toBeGreaterThan(0);
    const observed = series.get('lklab_final_event_latency_seconds_count{arch="lambda"}')!;
    expect(observed).toBeGreaterThan(0);
    // every sample the measurement keeps was observed once (more may come between the two reads)
    expect(observed).toBeGreaterThanOrEqual(
      snapshot.latency.find((l) => l.arch === 'lambda')!.finalEvent.count,
    );
    expect(series.get('lklab_final_event_latency_samples{arch="lambda"}')).toBeGreaterThanOrEqual(observed);
    // catch-up data: the windows ended long before the lab read them, so every one is past the last bucket
    expect(series.get('lklab_final_event_latency_seconds_bucket{le="60",arch="lambda"}')).toBe(0);
    expect(series.get('lklab_final_event_latency_p50_seconds{arch="lambda"}')).toBeGreaterThan(60);
  });

  it('serves every series the Grafana dashboard queries, in valid PromQL', () => {
    const dashboard = JSON.parse(
      readFileSync(join(projectRoot(), 'docs', 'grafana', 'lambda-kappa-lab.json'), 'utf8'),
    ) as Dashboard;
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }),
    ]);
    const queries = dashboard.panels.filter((p) => p.type !== 'row');
    expect(queries.length).toBeGreaterThanOrEqual(8);
    const exprs: string[] = [];
    for (const p of queries) {
      expect(p.datasource?.uid, p.title).toBe('${DS_PROMETHEUS}');
      for (const t of p.targets ?? []) exprs.push(t.expr);
    }
    const names = new Set(exprs.flatMap((e) => e.match(/\b(?:lklab|process|nodejs)_\w+/g) ?? []));
    expect(names.size).toBeGreaterThanOrEqual(10);
    for (const name of names) expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    // promtool parses every query as a recording rule (Grafana's variables replaced)
    const rules = join(dir, 'dashboard-rules.yml');
    const rule = (e: string, i: number) =>
      `      - record: lklab:dashboard_query_${i}\n        expr: ${JSON.stringify(
        e.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'),
      )}`;
    writeFileSync(rules, `groups:\n  - name: dashboard\n    rules:\n${exprs.map(rule).join('\n')}\n`);
    const check = spawnSync(PROMTOOL, ['check', 'rules', rules], { encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });
});
