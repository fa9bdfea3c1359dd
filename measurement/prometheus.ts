import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LagSnapshot } from '../kernel/ingest/lag-monitor.js';
import type { GroupLag } from '../kernel/ports/event-log.js';
import { archOfComponent } from './cpu-meter.js';
import type { ArchName, LatencyFigures, MetricsSnapshot } from './measurement-api.js';
import { processMetrics } from './process-metrics.js';

/** What a scrape reads: the measurement, the log's consumer groups and the back-pressure state. */
export interface PrometheusSources {
  /** A metrics snapshot measured now (LabMeasurement.snapshot). */
  snapshot(): Promise<MetricsSnapshot>;
  /** Lag per consumer group and partition of the ad-events topic (as GET /api/status). */
  consumerLag(): Promise<GroupLag[]>;
  /** The back-pressure monitor's last refresh (LagMonitor.current). */
  backpressure(): LagSnapshot;
}

/** Final-event latency buckets (s): YSB windows settle in tens of ms (Kappa) to seconds (flushes). */
export const FINAL_EVENT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60];
/** Serving-request buckets (s): a query answers in about a millisecond, a slow one in seconds. */
export const SERVING_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

type Labels = Record<string, string>;
type Put = (labels: Labels, value: number | null | undefined) => void;
interface Scrape {
  snapshot: Promise<MetricsSnapshot>;
  lag: Promise<GroupLag[]>;
}

const seconds = (ms: number | null | undefined): number | null | undefined =>
  ms === null || ms === undefined ? ms : ms / 1000;

/**
 * The figures of /api/metrics' latency distributions, one gauge each (as prom-client's
 * `nodejs_eventloop_lag_p99_seconds`: a `quantile` label belongs to summaries only).
 */
const FIGURES = ['p50', 'p90', 'p99', 'max'] as const satisfies ReadonlyArray<keyof LatencyFigures>;

/**
 * One lab's Prometheus exposition (`GET /metrics`; docs/metrics.md names every series): a registry
 * of its own (never prom-client's global one: several labs can live in one process), holding
 * - gauges and counters read at scrape time from one metrics snapshot taken for that scrape
 *   (correctness, latency figures, maintenance cost, CPU per component), the consumer groups' lag
 *   per partition and the back-pressure state;
 * - histograms observed as things happen: every query request (`observeRequest`) and every
 *   final-event latency sample (`observeFinalEventLatency`);
 * - the process's default metrics (process-metrics.ts).
 * Every series is in base units (seconds, bytes); counters end in `_total`.
 */
export class LabPrometheus {
  private readonly registry = new Registry();
  private readonly requests: Histogram<'route'>;
  private readonly finalEvent: Histogram<'arch'>;
  private scrape: Scrape | undefined;
  private withProcess = false;
  /** Scrapes run one after the other: the collectors set a metric's samples, then it is rendered. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly sources: PrometheusSources) {
    const registers = [this.registry];
    this.requests = new Histogram({
      name: 'lklab_serving_request_duration_seconds',
      help: 'Duration of successful query requests (GET /api/views), by route',
      labelNames: ['route'],
      buckets: SERVING_BUCKETS,
      registers,
    });
    this.finalEvent = new Histogram({
      name: 'lklab_final_event_latency_seconds',
      help: 'YSB final-event latency: time_updated - window end, one observation per (campaign, window)',
      labelNames: ['arch'],
      buckets: FINAL_EVENT_BUCKETS,
      registers,
    });
    this.snapshotSeries();
    this.lagSeries();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One served query request (seconds). */
  observeRequest(route: string, durationSeconds: number): void {
    this.requests.observe({ route }, durationSeconds);
  }

  /** One final-event latency sample (seconds), as the measurement takes it. */
  observeFinalEventLatency(arch: ArchName, latencySeconds: number): void {
    this.finalEvent.observe({ arch }, latencySeconds);
  }

  /** The exposition text: one snapshot and one read of the consumer groups for the whole scrape. */
  metrics(): Promise<string> {
    const run = this.queue.then(() => this.render());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async render(): Promise<string> {
    if (!this.withProcess) {
      for (const m of processMetrics()) this.registry.registerMetric(m);
      this.withProcess = true;
    }
    this.scrape = this.read();
    try {
      return await this.registry.metrics();
    } finally {
      this.scrape = undefined;
    }
  }

  private read(): Scrape {
    const scrape = { snapshot: this.sources.snapshot(), lag: this.sources.consumerLag() };
    // Every collector awaits both; these handlers only keep a failed read from going unhandled.
    scrape.snapshot.catch(() => undefined);
    scrape.lag.catch(() => undefined);
    return scrape;
  }

  /** A gauge (or counter) whose samples are set from the scrape's reads; null values are left out. */
  private series(
    type: 'gauge' | 'counter',
    name: string,
    help: string,
    labelNames: string[],
    fill: (scrape: Scrape, put: Put) => Promise<void>,
  ): void {
    // Outside metrics() (prom-client's own aggregation) a collector reads for itself.
    const current = (): Scrape => this.scrape ?? this.read();
    const registers = [this.registry];
    if (type === 'gauge') {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const scrape = current();
          await Promise.all([scrape.snapshot, scrape.lag]);
          this.reset();
          if (labelNames.length === 0) this.remove({});
          await fill(scrape, (labels, v) => {
            if (v !== null && v !== undefined && Number.isFinite(v)) this.set(labels, v);
          });
        },
      });
      return;
    }
    new Counter({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const scrape = current();
        await Promise.all([scrape.snapshot, scrape.lag]);
        this.reset();
        await fill(scrape, (labels, v) => {
          if (v !== null && v !== undefined && Number.isFinite(v) && v >= 0) this.inc(labels, v);
        });
      },
    });
  }

  private fromSnapshot(
    type: 'gauge' | 'counter',
    name: string,
    help: string,
    labelNames: string[],
    fill: (s: MetricsSnapshot, put: Put) => void,
  ): void {
    this.series(type, name, help, labelNames, async (scrape, put) => fill(await scrape.snapshot, put));
  }

  private snapshotSeries(): void {
    const g = (name: string, help: string, labels: string[], fill: (s: MetricsSnapshot, put: Put) => void) =>
      this.fromSnapshot('gauge', name, help, labels, fill);
    const layerMetric = ['layer', 'metric'];
    g('lklab_correctness_windows', 'Closed windows by YSB verdict', [...layerMetric, 'verdict'], (s, put) => {
      for (const c of s.correctness)
        for (const [verdict, n] of [
          ['correct', c.correct],
          ['differ', c.differ],
          ['missing', c.missing],
          ['extra', c.extra],
        ] as const)
          put({ layer: c.layer, metric: c.metric, verdict }, n);
    });
    g('lklab_correctness_correct_share', 'Share of closed windows correct (0..1)', layerMetric, (s, put) => {
      for (const c of s.correctness) put({ layer: c.layer, metric: c.metric }, c.correctShare);
    });
    g('lklab_correctness_abs_error', 'Sum of |layer - truth| over closed windows', layerMetric, (s, put) => {
      for (const c of s.correctness) put({ layer: c.layer, metric: c.metric }, c.absError);
    });
    g('lklab_correctness_rel_error', 'Absolute error / sum of the truth', layerMetric, (s, put) => {
      for (const c of s.correctness) put({ layer: c.layer, metric: c.metric }, c.relError);
    });
    g(
      'lklab_correctness_signed_error',
      'Sum of (layer - truth) over closed windows (over-count > 0)',
      layerMetric,
      (s, put) => {
        for (const c of s.correctness) put({ layer: c.layer, metric: c.metric }, c.signedError);
      },
    );
    const sketches = (s: MetricsSnapshot) =>
      s.correctness.flatMap((c) => (c.sketch ? [{ layer: c.layer, metric: c.metric, ...c.sketch }] : []));
    g(
      'lklab_sketch_standard_error',
      'Theoretical relative standard error 1.04/sqrt(m) of the HyperLogLog the layer counts with',
      layerMetric,
      (s, put) => {
        for (const k of sketches(s)) put({ layer: k.layer, metric: k.metric }, k.standardError);
      },
    );
    g(
      'lklab_sketch_within_sigma_share',
      'Share of closed (campaign, window) cells whose sketch estimate is within k standard errors of the exact count',
      [...layerMetric, 'sigmas'],
      (s, put) => {
        for (const k of sketches(s))
          for (const [sigmas, v] of [
            ['1', k.within1Sigma],
            ['2', k.within2Sigma],
            ['3', k.within3Sigma],
          ] as const)
            put({ layer: k.layer, metric: k.metric, sigmas }, v);
      },
    );
    g(
      'lklab_sketch_rms_rel_error',
      'Root mean square of the sketch relative errors over closed cells (the observed counterpart of the standard error)',
      layerMetric,
      (s, put) => {
        for (const k of sketches(s)) put({ layer: k.layer, metric: k.metric }, k.rmsRelError);
      },
    );
    for (const f of FIGURES)
      g(
        `lklab_final_event_latency_${f}_seconds`,
        `Final-event latency ${f} over the newest 100,000 samples (nearest rank)`,
        ['arch'],
        (s, put) => {
          for (const a of s.latency) put({ arch: a.arch }, seconds(a.finalEvent[f]));
        },
      );
    g('lklab_final_event_latency_samples', 'Final-event latency samples kept', ['arch'], (s, put) => {
      for (const a of s.latency) put({ arch: a.arch }, a.finalEvent.count);
    });
    g(
      'lklab_served_correct_share',
      'Share of (campaign, window) cells GET /api/views served right, by seconds after the window closed (judged on the final truth)',
      ['arch', 'age_seconds'],
      (s, put) => {
        for (const a of s.served ?? [])
          for (const b of a.byAge) put({ arch: a.arch, age_seconds: String(b.ageMs / 1000) }, b.correctShare);
      },
    );
    for (const f of ['p50', 'p90', 'max'] as const)
      g(
        `lklab_served_time_to_correct_${f}_seconds`,
        `Time from a window's close until GET /api/views served its true values for good, ${f} over the judged windows`,
        ['arch'],
        (s, put) => {
          for (const a of s.served ?? []) put({ arch: a.arch }, seconds(a.timeToCorrect[f]));
        },
      );
    g(
      'lklab_served_never_correct_windows',
      'Judged windows not served right within 300 s of their close',
      ['arch'],
      (s, put) => {
        for (const a of s.served ?? []) put({ arch: a.arch }, a.timeToCorrect.neverCorrect);
      },
    );
    // Replay interference: the newest replay of each job (the snapshot lists the newest first).
    g(
      'lklab_replay_rate_events_per_second',
      'Events/s a Kappa replay checkpointed, over the replay (until now while it runs)',
      ['job'],
      (s, put) => {
        for (const r of s.interference?.replays ?? []) put({ job: String(r.job) }, r.replayRate);
      },
    );
    g(
      'lklab_replay_interference_p99_seconds',
      'Final-event latency p99 of the live readers (arch) for the windows that ended in the minute before a Kappa replay (phase=before) and while it ran (phase=during)',
      ['job', 'arch', 'phase'],
      (s, put) => {
        for (const r of s.interference?.replays ?? [])
          for (const arch of ['lambda', 'kappa'] as const)
            for (const phase of ['before', 'during'] as const)
              put({ job: String(r.job), arch, phase }, seconds(r[arch][phase].p99));
      },
    );
    g('lklab_batch_boundary_lag_seconds', 'now - the current batch view boundary', [], (s, put) =>
      put({}, seconds(s.batchBoundaryLagMs)),
    );
    for (const f of FIGURES)
      g(
        `lklab_serving_latency_${f}_seconds`,
        `GET /api/views latency ${f} over the newest 10,000 requests (nearest rank)`,
        [],
        (s, put) => put({}, seconds(s.servingLatency[f])),
      );
    g('lklab_serving_latency_samples', 'GET /api/views latency samples kept', [], (s, put) =>
      put({}, s.servingLatency.count),
    );
    const perArch = (
      name: string,
      help: string,
      value: (m: MetricsSnapshot['maintenance'][number]) => number | null,
    ) =>
      g(name, help, ['arch'], (s, put) => {
        for (const m of s.maintenance) put({ arch: m.arch }, value(m));
      });
    perArch('lklab_logic_implementations', 'Business-logic codebases', (m) => m.implementations);
    perArch('lklab_logic_lines', 'Lines of business logic of the current version', (m) => m.logicLines);
    perArch(
      'lklab_logic_lines_changed_v1_v2',
      'Lines added + removed by the v1 -> v2 change',
      (m) => m.linesChangedV1toV2,
    );
    g(
      'lklab_logic_lines_changed',
      'Lines added + removed per logic change vN -> vN+1',
      ['arch', 'from', 'to'],
      (s, put) => {
        for (const m of s.maintenance)
          for (const step of m.linesChanged)
            put({ arch: m.arch, from: String(step.from), to: String(step.to) }, step.lines);
      },
    );
    perArch('lklab_running_components', 'Components running', (m) => m.runningComponents.length);
    perArch(
      'lklab_work_amplification',
      'Events processed by recomputation per event ingested',
      (m) => m.workAmplification,
    );
    perArch('lklab_storage_bytes', 'Bytes on storage', (m) => m.storageBytes);
    this.fromSnapshot(
      'counter',
      'lklab_compute_seconds_total',
      'CPU seconds attributed to a component (arch shared: log, store, serving, GC, runtime)',
      ['arch', 'component'],
      (s, put) => {
        const all: Record<string, number> =
          s.computeMs ?? Object.assign({}, ...s.maintenance.map((m) => m.computeMs));
        for (const [component, ms] of Object.entries(all))
          put({ arch: archOfComponent(component) ?? 'shared', component }, seconds(ms));
      },
    );
    this.fromSnapshot(
      'counter',
      'lklab_events_ingested_total',
      'Records appended to the ad-events log',
      [],
      (s, put) => put({}, s.ingested),
    );
    g('lklab_truth_lag_records', 'Records the truth oracle has not read yet', [], (s, put) =>
      put({}, s.truth?.lag),
    );
  }

  private lagSeries(): void {
    this.series(
      'gauge',
      'lklab_consumer_lag_events',
      'Records of ad-events past the consumer group committed offset, per partition',
      ['group', 'partition'],
      async (scrape, put) => {
        for (const g of await scrape.lag)
          for (const p of g.partitions) put({ group: g.group, partition: String(p.partition) }, p.lag);
      },
    );
    const bp = (
      type: 'gauge' | 'counter',
      name: string,
      help: string,
      labels: string[],
      fill: (b: LagSnapshot, put: Put) => void,
    ) =>
      this.series(type, name, help, labels, async (_scrape, put) => fill(this.sources.backpressure(), put));
    bp(
      'gauge',
      'lklab_backpressure_limit_events',
      'Consumer lag past which producers wait (0 = off)',
      [],
      (b, put) => put({}, b.limit),
    );
    bp('gauge', 'lklab_backpressure_saturated', '1 while producers are told to wait', [], (b, put) =>
      put({}, b.saturated ? 1 : 0),
    );
    bp(
      'gauge',
      'lklab_backpressure_lag_events',
      'Lag of each latency-bounding consumer at the last back-pressure refresh',
      ['consumer'],
      (b, put) => {
        for (const c of b.consumers) put({ consumer: c.name }, c.lag);
      },
    );
    bp('counter', 'lklab_backpressure_throttled_total', 'Times producers were told to wait', [], (b, put) =>
      put({}, b.throttled),
    );
  }
}
