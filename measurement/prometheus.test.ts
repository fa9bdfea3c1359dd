import { describe, expect, it } from 'vitest';
import type { LagSnapshot } from '../kernel/ingest/lag-monitor.js';
import type { GroupLag } from '../kernel/ports/event-log.js';
import type { MetricsSnapshot } from './measurement-api.js';
import { LabPrometheus } from './prometheus.js';

const snapshot = (): MetricsSnapshot => ({
  at: 1,
  closedBefore: 10,
  correctness: [
    {
      layer: 'speed',
      metric: 'views',
      windows: 4,
      correct: 3,
      differ: 1,
      missing: 0,
      extra: 0,
      correctShare: 0.75,
      absError: 2,
      relError: null,
      truthLogicVersion: 1,
      signedError: 2,
    },
    {
      layer: 'speed',
      metric: 'distinct_users',
      windows: 4,
      correct: 0,
      differ: 4,
      missing: 0,
      extra: 0,
      correctShare: 0,
      absError: 40,
      relError: 0.01,
      truthLogicVersion: 1,
      sketch: {
        registers: 16_384,
        standardError: 0.008125,
        windows: 4,
        rmsRelError: 0.0125,
        within1Sigma: 0.25,
        within2Sigma: 0.75,
        within3Sigma: null,
        recent: [],
      },
    },
  ],
  latency: [{ arch: 'lambda', finalEvent: { count: 2, p50: 100, p90: 200, p99: 200, max: 250 } }],
  batchBoundaryLagMs: null,
  servingLatency: { count: 0, p50: null, p90: null, p99: null, max: null },
  maintenance: [
    {
      arch: 'kappa',
      implementations: 1,
      logicFiles: [],
      logicLines: 9,
      linesChangedV1toV2: 3,
      linesChanged: [
        { from: 1, to: 2, lines: 3 },
        { from: 2, to: 3, lines: 2 },
      ],
      runningComponents: ['a', 'b'],
      computeMs: { 'kappa-job-1': 12.5 },
      workAmplification: 1,
      storageBytes: 100,
    },
  ],
  ingested: 42,
  truth: { logicVersion: 1, events: 42, lag: 0, watermark: 5 },
  computeMs: { 'kappa-job-1': 12.5, 'speed-layer': 1500, 'event-log': 250 },
});

const lag: GroupLag[] = [
  {
    group: 'lklab-speed',
    topic: 'ad-events',
    totalLag: 7,
    partitions: [
      { partition: 0, committed: 10, end: 15, lag: 5 },
      { partition: 1, committed: 8, end: 10, lag: 2 },
    ],
  },
];

const backpressure: LagSnapshot = {
  at: 1,
  limit: 50_000,
  maxLag: 7,
  saturated: true,
  consumers: [{ name: 'speed layer', group: 'lklab-speed', lag: 7, from: 'memory' }],
  throttled: 3,
};

function exporter(): { prom: LabPrometheus; reads: { snapshots: number } } {
  const reads = { snapshots: 0 };
  const prom = new LabPrometheus({
    snapshot: async () => {
      reads.snapshots++;
      return snapshot();
    },
    consumerLag: async () => lag,
    backpressure: () => backpressure,
  });
  return { prom, reads };
}

describe('Prometheus exposition (prom-client, one registry per lab)', () => {
  it('exposes the snapshot in base units, nulls left out, from one snapshot per scrape', async () => {
    const { prom, reads } = exporter();
    const text = await prom.metrics();
    expect(reads.snapshots).toBe(1);
    expect(text).toContain('lklab_correctness_windows{layer="speed",metric="views",verdict="differ"} 1\n');
    expect(text).toContain('lklab_correctness_correct_share{layer="speed",metric="views"} 0.75\n');
    expect(text).not.toContain('lklab_correctness_rel_error{layer="speed",metric="views"}');
    expect(text).toContain('lklab_sketch_standard_error{layer="speed",metric="distinct_users"} 0.008125\n');
    expect(text).toContain(
      'lklab_sketch_within_sigma_share{layer="speed",metric="distinct_users",sigmas="1"} 0.25\n',
    );
    expect(text).toContain(
      'lklab_sketch_within_sigma_share{layer="speed",metric="distinct_users",sigmas="2"} 0.75\n',
    );
    expect(text).not.toContain('sigmas="3"');
    expect(text).toContain('lklab_sketch_rms_rel_error{layer="speed",metric="distinct_users"} 0.0125\n');
    expect(text).not.toContain('lklab_sketch_standard_error{layer="speed",metric="views"}');
    expect(text).toContain('lklab_final_event_latency_p99_seconds{arch="lambda"} 0.2\n');
    expect(text).toContain('lklab_final_event_latency_max_seconds{arch="lambda"} 0.25\n');
    expect(text).toContain('lklab_final_event_latency_samples{arch="lambda"} 2\n');
    expect(text).toMatch(/^# TYPE lklab_batch_boundary_lag_seconds gauge$/m);
    expect(text).not.toMatch(/^lklab_batch_boundary_lag_seconds /m);
    expect(text).toMatch(/^# TYPE lklab_serving_latency_p50_seconds gauge$/m);
    expect(text).not.toMatch(/^lklab_serving_latency_p50_seconds /m);
    expect(text).toContain('lklab_compute_seconds_total{arch="kappa",component="kappa-job-1"} 0.0125\n');
    expect(text).toContain('lklab_compute_seconds_total{arch="lambda",component="speed-layer"} 1.5\n');
    expect(text).toContain('lklab_compute_seconds_total{arch="shared",component="event-log"} 0.25\n');
    expect(text).toContain('lklab_running_components{arch="kappa"} 2\n');
    expect(text).toContain('lklab_logic_lines_changed_v1_v2{arch="kappa"} 3\n');
    expect(text).toContain('lklab_logic_lines_changed{arch="kappa",from="1",to="2"} 3\n');
    expect(text).toContain('lklab_logic_lines_changed{arch="kappa",from="2",to="3"} 2\n');
    expect(text).toContain('lklab_storage_bytes{arch="kappa"} 100\n');
    expect(text).toContain('lklab_events_ingested_total 42\n');
    expect(text).toContain('lklab_truth_lag_records 0\n');
    expect(text).toContain('lklab_consumer_lag_events{group="lklab-speed",partition="0"} 5\n');
    expect(text).toContain('lklab_consumer_lag_events{group="lklab-speed",partition="1"} 2\n');
    expect(text).toContain('lklab_backpressure_limit_events 50000\n');
    expect(text).toContain('lklab_backpressure_saturated 1\n');
    expect(text).toContain('lklab_backpressure_throttled_total 3\n');
    expect(text).toContain('lklab_backpressure_lag_events{consumer="speed layer"} 7\n');
    expect(text.match(/^# TYPE lklab_correctness_windows gauge$/gm)).toHaveLength(1);
    expect(text).not.toMatch(/^lklab_\w*_ms\b/m);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).not.toContain('nodejs_active_handles_total');
    // concurrent scrapes run one after the other, each with its own snapshot and every series
    const [x, y] = await Promise.all([prom.metrics(), prom.metrics()]);
    expect(reads.snapshots).toBe(3);
    const lab = (t: string) => t.split('\n').filter((l) => l.startsWith('lklab_'));
    expect(lab(x)).toEqual(lab(text));
    expect(lab(y)).toEqual(lab(text));
  });

  it('observes histograms per request and per final-event sample, separately per lab', async () => {
    const a = exporter().prom;
    const b = exporter().prom;
    a.observeRequest('/api/views', 0.003);
    a.observeRequest('/api/views', 0.2);
    a.observeFinalEventLatency('kappa', 0.6);
    const text = await a.metrics();
    expect(text).toContain(
      'lklab_serving_request_duration_seconds_bucket{le="0.005",route="/api/views"} 1\n',
    );
    expect(text).toContain('lklab_serving_request_duration_seconds_count{route="/api/views"} 2\n');
    expect(text).toContain('lklab_final_event_latency_seconds_bucket{le="0.5",arch="kappa"} 0\n');
    expect(text).toContain('lklab_final_event_latency_seconds_bucket{le="0.75",arch="kappa"} 1\n');
    expect(text).toContain('lklab_final_event_latency_seconds_sum{arch="kappa"} 0.6\n');
    const other = await b.metrics();
    expect(other).not.toContain('route="/api/views"');
    expect(other).not.toContain('lklab_final_event_latency_seconds_count{arch="kappa"}');
    // the process metrics are shared, and both labs expose them
    expect(other).toMatch(/^process_cpu_seconds_total \d/m);
  });

  it('fails the scrape when the snapshot fails (the route answers with the error)', async () => {
    const prom = new LabPrometheus({
      snapshot: () => Promise.reject(new Error('no truth')),
      consumerLag: async () => [],
      backpressure: () => backpressure,
    });
    await expect(prom.metrics()).rejects.toThrow('no truth');
  });
});
