import type { LatencyFigures, MetricsSnapshot } from './measurement-api.js';

/** Content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

class Exposition {
  private readonly lines: string[] = [];
  private readonly declared = new Set<string>();

  metric(
    name: string,
    help: string,
    type: 'gauge' | 'counter' | 'summary',
    labels: Labels,
    value: number | null,
  ): void {
    if (!this.declared.has(name)) {
      this.declared.add(name);
      this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    if (value === null || !Number.isFinite(value)) return;
    this.lines.push(`${name}${labelText(labels)} ${value}`);
  }

  summary(name: string, help: string, labels: Labels, f: LatencyFigures): void {
    if (!this.declared.has(name)) {
      this.declared.add(name);
      this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} summary`);
    }
    for (const [q, v] of [
      ['0.5', f.p50],
      ['0.9', f.p90],
      ['0.99', f.p99],
    ] as const)
      if (v !== null) this.lines.push(`${name}${labelText({ ...labels, quantile: q })} ${v}`);
    this.lines.push(`${name}_count${labelText(labels)} ${f.count}`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** A snapshot in Prometheus's text format (docs/metrics.md names every series). */
export function toPrometheus(s: MetricsSnapshot): string {
  const x = new Exposition();
  for (const c of s.correctness) {
    const l = { layer: c.layer, metric: c.metric };
    for (const [verdict, n] of [
      ['correct', c.correct],
      ['differ', c.differ],
      ['missing', c.missing],
      ['extra', c.extra],
    ] as const)
      x.metric('lklab_correctness_windows', 'Closed windows by YSB verdict', 'gauge', { ...l, verdict }, n);
    x.metric(
      'lklab_correctness_correct_share',
      'Share of closed windows correct (0..1)',
      'gauge',
      l,
      c.correctShare,
    );
    x.metric(
      'lklab_correctness_abs_error',
      'Sum of |layer - truth| over closed windows',
      'gauge',
      l,
      c.absError,
    );
    x.metric('lklab_correctness_rel_error', 'Absolute error / sum of the truth', 'gauge', l, c.relError);
    x.metric(
      'lklab_correctness_signed_error',
      'Sum of (layer - truth) over closed windows (over-count > 0)',
      'gauge',
      l,
      c.signedError ?? null,
    );
  }
  for (const a of s.latency)
    x.summary('lklab_final_event_latency_ms', 'YSB final-event latency (ms)', { arch: a.arch }, a.finalEvent);
  x.metric('lklab_batch_boundary_lag_ms', 'now - batch boundary (ms)', 'gauge', {}, s.batchBoundaryLagMs);
  x.summary('lklab_serving_latency_ms', 'GET /api/views latency (ms)', {}, s.servingLatency);
  for (const m of s.maintenance) {
    const l = { arch: m.arch };
    x.metric('lklab_logic_implementations', 'Business-logic codebases', 'gauge', l, m.implementations);
    x.metric('lklab_logic_lines', 'Lines of business logic of the current version', 'gauge', l, m.logicLines);
    x.metric(
      'lklab_logic_lines_changed_v1_v2',
      'Lines added + removed by the v1 -> v2 change',
      'gauge',
      l,
      m.linesChangedV1toV2,
    );
    x.metric('lklab_running_components', 'Components running', 'gauge', l, m.runningComponents.length);
    for (const [component, ms] of Object.entries(m.computeMs))
      x.metric(
        'lklab_compute_ms_total',
        'CPU ms attributed to a component',
        'counter',
        { ...l, component },
        ms,
      );
    x.metric(
      'lklab_work_amplification',
      'Events processed by recomputation per event ingested',
      'gauge',
      l,
      m.workAmplification,
    );
    x.metric('lklab_storage_bytes', 'Bytes on storage', 'gauge', l, m.storageBytes);
  }
  x.metric('lklab_events_ingested_total', 'Records appended to the ad-events log', 'counter', {}, s.ingested);
  if (s.truth)
    x.metric(
      'lklab_truth_lag_records',
      'Records the truth oracle has not read yet',
      'gauge',
      {},
      s.truth.lag,
    );
  return x.text();
}
