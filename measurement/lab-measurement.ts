import { every } from '../kernel/clock/every.js';
import { join } from 'node:path';
import { batchViewsDir, masterDatasetDir, type BatchLayer } from '../batch-layer/index.js';
import {
  loadRegistry,
  RUNNING_STATES,
  type KappaReprocessor,
  KAPPA_PREFIX,
  readMetaCounters,
} from '../kappa-reprocessor/index.js';
import type { Clock } from '../kernel/clock/clock.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import { LabError } from '../kernel/errors/lab-error.js';
import { WINDOW_MS, windowStart } from '../kernel/events/ysb-event.js';
import { LAB_EVENTS, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { projectRoot } from '../kernel/util/project-root.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import {
  readRequestedSpeedLogicVersion,
  realtimeViewsMemoryBytes,
  type SpeedLayer,
} from '../speed-layer/index.js';
import { correctness, closedBefore, type CellValues } from './correctness.js';
import { archOfComponent, type CpuMeter } from './cpu-meter.js';
import { divergenceCells } from './divergence.js';
import { FinalEventLatency, type FinalEventLatencyListener } from './latency.js';
import { SampleRing, latencyFigures } from './latency-figures.js';
import { readLayers, readServed } from './layer-values.js';
import { ServedCorrectness, type WindowValues } from './served-correctness.js';
import { codeFigures, diskBytes, LOGIC_CODEBASES } from './maintenance-cost.js';
import type {
  CorrectnessFigures,
  DivergenceAnswer,
  DivergenceQuery,
  MaintenanceFigures,
  MeasuredLayer,
  MeasuredMetric,
  Measurement,
  MetricsHistory,
  MetricsSnapshot,
  TimelineMark,
} from './measurement-api.js';
import { MetricsHistoryBuffer } from './metrics-history.js';
import { Timeline } from './timeline.js';
import { TRUTH_LOGIC, truthLogicVersions } from './truth-logic.js';
import { TruthOracle, type TruthCell } from './truth-oracle.js';

export type MeasurementSettings = LabConfig['measurement'];

/** The parts of the running lab the measurement reads. */
export interface MeasurementDeps {
  clock: Clock;
  config: Readonly<LabConfig>;
  /** The log as the layers see it (metered by `meter`). */
  log: EventLog;
  store: RealtimeStore;
  queueKind: string;
  bus: LabEventBus;
  reference: ReferenceData;
  batch: BatchLayer;
  speed: SpeedLayer;
  kappa: KappaReprocessor;
  meter: CpuMeter;
  topic: string;
}

/** Most windows (10 s each) one divergence query may span: 1,000 windows ≈ 2.8 hours. */
export const MAX_DIVERGENCE_WINDOWS = 1_000;
/** Most windows one snapshot compares per layer. */
const MAX_SNAPSHOT_WINDOWS = 2_000;
/** How often CPU is attributed and final windows are sampled for latency (ms). */
const SAMPLE_INTERVAL_MS = 1_000;
const LAYERS: MeasuredLayer[] = ['batch', 'speed', 'lambda', 'kappa', 'kappa_candidate'];

const truthValue = (t: TruthCell, version: number, metric: MeasuredMetric): number | undefined => {
  const views = t.views[version] ?? 0;
  if (views === 0) return undefined;
  return metric === 'views' ? views : (t.users[version] ?? 0);
};

/**
 * The lab's measurement service: the truth oracle, correctness per layer over closed windows,
 * final-event and serving latency, maintenance cost from the code and the running system,
 * divergence with causes, timeline marks and a bounded history of snapshots.
 */
export class LabMeasurement implements Measurement {
  readonly oracle: TruthOracle;
  private readonly settings: MeasurementSettings;
  private readonly historyBuf: MetricsHistoryBuffer;
  private readonly timeline_ = new Timeline();
  private readonly latency: FinalEventLatency;
  private readonly served = new ServedCorrectness({ maxTrackMs: 300_000, keepWindows: 360 });
  private readonly serving = new SampleRing(10_000);
  private readonly replayWork = new Map<number, number>();
  private crashes = 0;
  private unsubscribe: (() => void) | undefined;
  private abort = new AbortController();
  private loops: Array<Promise<void>> = [];
  private started = false;
  lastError: string | undefined;

  constructor(private readonly deps: MeasurementDeps) {
    this.settings = deps.config.measurement;
    this.historyBuf = new MetricsHistoryBuffer(this.settings.historySize);
    this.oracle = new TruthOracle(deps.log, deps.reference, deps.clock, {
      topic: deps.topic,
      group: 'lklab-truth',
      path: join(deps.config.dataDir, 'truth', 'truth.duckdb'),
      maxOutOfOrderMs: deps.config.kappa.maxOutOfOrderMs,
      allowedLatenessMs: deps.config.kappa.allowedLatenessMs,
      // Every read (snapshot, divergence, sync) flushes first, so the timer only bounds how much is
      // pending; each flush is a DuckDB transaction with a WAL fsync (500 ms: a third of the oracle's CPU at idle).
      flushIntervalMs: 2_000,
      memoryLimit: this.settings.truthMemoryLimit,
    });
    this.latency = new FinalEventLatency(deps.store, this.settings.latencySettleMs);
    this.timeline_.attach(deps.bus);
    deps.meter.attach(deps.bus);
    for (const e of deps.bus.recent(1000))
      if (e.name === LAB_EVENTS.SPEED_CRASH && e.payload.point === 'after-flush-before-commit')
        this.crashes++;
    this.unsubscribe = deps.bus.on(LAB_EVENTS.SPEED_CRASH, (e) => {
      if (e.payload.point === 'after-flush-before-commit') this.crashes++;
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.oracle.start();
    } catch (err) {
      throw new LabError(
        'LKL_ERR_MEASUREMENT_TRUTH_UNAVAILABLE',
        `The truth oracle could not open its DuckDB database under ${join(this.deps.config.dataDir, 'truth')} (${(err as Error).message}); check that no other lab uses this data directory.`,
        { cause: err },
      );
    }
    // The sampling profile is of this process's main thread: only with the system clock (a lab
    // fast-forwarding a scenario shares the process with the one that serves).
    if (this.settings.cpuSampleIntervalUs > 0 && this.deps.clock === systemClock)
      await this.deps.meter.startSampling(this.settings.cpuSampleIntervalUs);
    const abort = (this.abort = new AbortController());
    const repeat = (ms: number, fn: () => Promise<void>): Promise<void> =>
      every(this.deps.clock, ms, abort.signal, fn, (err) => (this.lastError = err.message));
    this.loops = [
      repeat(SAMPLE_INTERVAL_MS, async () => {
        await this.deps.meter.tick();
        await this.latency.sample(this.oracle.windowStarts(), this.deps.clock.now());
        await this.sampleServed();
      }),
      repeat(this.settings.intervalMs, async () => {
        this.historyBuf.add(await this.snapshot());
      }),
    ];
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.abort.abort();
    await Promise.all(this.loops);
    this.unsubscribe?.();
    this.timeline_.detach();
    this.deps.meter.stopSampling();
    this.deps.meter.detach();
    await this.oracle.stop();
  }

  async sync(timeoutMs: number): Promise<void> {
    if (!this.started) {
      throw new LabError(
        'LKL_ERR_MEASUREMENT_TRUTH_UNAVAILABLE',
        'The truth oracle does not run in this process (roles.measurement is off); it runs in the all-in-one lab and in `lklab serve`.',
        { retriable: false },
      );
    }
    await this.oracle.sync(timeoutMs);
  }

  onFinalEventLatency(listener: FinalEventLatencyListener): () => void {
    return this.latency.onSample(listener);
  }

  /** What the serving layer answers now for the windows that closed lately (served correctness). */
  private async sampleServed(): Promise<void> {
    const now = this.deps.clock.now();
    const src = { views: this.deps.batch.views, store: this.deps.store };
    await this.served.sample(now, {
      served: (arch, from, to) => readServed(src, arch, from, to, now),
      finalBefore: () => closedBefore(this.oracle.watermark(), this.settings.allowedLatenessMs),
      truth: async (from, to) => {
        const version = await this.intendedLogicVersion();
        const out = new Map<number, WindowValues>();
        for (const t of (await this.oracle.cells(from, to)).values()) {
          const v = truthValue(t, version, 'views');
          if (v === undefined) continue;
          let w = out.get(t.window);
          if (!w) out.set(t.window, (w = new Map()));
          w.set(t.campaign, v);
        }
        return out;
      },
    });
  }

  recordQuery(_route: string, ms: number): void {
    this.serving.add(ms);
  }

  history(since?: number): MetricsHistory {
    return this.historyBuf.since(since);
  }

  timeline(since?: number): TimelineMark[] {
    return this.timeline_.since(since);
  }

  /** The newest logic version deployed or requested anywhere: what the layers are meant to compute. */
  async intendedLogicVersion(): Promise<number> {
    const requested = await readRequestedSpeedLogicVersion(this.deps.store);
    const registry = await loadRegistry(this.deps.store);
    const versions = [
      this.deps.batch.logicVersion,
      this.deps.speed.logicVersion,
      ...(requested !== undefined ? [requested] : []),
      ...(registry.active ? [registry.active.logicVersion] : []),
      ...[...registry.jobs.values()]
        .filter((j) => j.state === 'replaying' || j.state === 'caught-up')
        .map((j) => j.logicVersion),
    ];
    const intended = Math.max(...versions);
    if (!TRUTH_LOGIC.has(intended)) {
      throw new LabError(
        'LKL_ERR_MEASUREMENT_LOGIC_UNKNOWN',
        `Logic v${intended} is deployed, but the truth oracle has no statement of it (it knows ${truthLogicVersions()
          .map((v) => `v${v}`)
          .join(', ')}); add it to measurement/truth-logic.ts.`,
        { details: { logicVersion: intended } },
      );
    }
    return intended;
  }

  async snapshot(): Promise<MetricsSnapshot> {
    const at = this.deps.clock.now();
    const truthLogicVersion = await this.intendedLogicVersion();
    const watermark = this.oracle.watermark();
    const closed = closedBefore(watermark, this.settings.allowedLatenessMs);
    const correctnessFigures: CorrectnessFigures[] = [];
    let measuredFrom: number | null = null;
    const current = this.deps.batch.views.current();
    if (closed !== null) {
      const first = this.oracle.windowStarts()[0] ?? closed;
      const from = Math.max(
        first,
        windowStart(closed - this.settings.horizonMs),
        closed - MAX_SNAPSHOT_WINDOWS * WINDOW_MS,
      );
      measuredFrom = from;
      const windows: number[] = [];
      for (let w = from; w < closed; w += WINDOW_MS) windows.push(w);
      const [truth, readings] = await Promise.all([
        this.oracle.cells(from, closed),
        readLayers({ views: this.deps.batch.views, store: this.deps.store }, windows, at),
      ]);
      const boundary = readings.boundary;
      for (const metric of ['views', 'distinct_users'] as const) {
        const truthMap = new Map<string, number>();
        for (const [k, t] of truth) {
          const v = truthValue(t, truthLogicVersion, metric);
          if (v !== undefined) truthMap.set(k, v);
        }
        for (const layer of LAYERS) {
          const cells = readings.cells[layer];
          if (!cells) continue;
          const served: CellValues = new Map(
            [...cells].map(([k, c]) => [k, metric === 'views' ? c.views : c.users]),
          );
          let lo = from;
          let hi = closed;
          if (layer === 'batch') hi = Math.min(closed, boundary ?? from);
          if (layer === 'speed' && boundary !== null) lo = Math.max(from, boundary);
          correctnessFigures.push(
            correctness(layer, metric, truthMap, served, lo, Math.max(lo, hi), truthLogicVersion),
          );
        }
      }
    }
    const ends = await this.deps.log.offsets(this.deps.topic);
    const ingested = ends.reduce((s, e) => s + e.end, 0);
    const compute = this.deps.meter.totalsMs();
    return {
      at,
      closedBefore: closed,
      correctness: correctnessFigures,
      latency: this.latency.figures(),
      served: this.served.figures(),
      batchBoundaryLagMs: current ? Math.max(0, at - current.boundary) : null,
      servingLatency: latencyFigures(this.serving.values()),
      maintenance: await this.maintenance(ingested, compute),
      ingested,
      truth: {
        logicVersion: truthLogicVersion,
        events: this.oracle.stats.events,
        lag: ends.reduce(
          (s, e) => s + Math.max(0, e.end - Math.max(e.low, this.oracle.position(e.partition))),
          0,
        ),
        watermark,
      },
      computeMs: compute,
      measuredFrom,
    };
  }

  private async maintenance(
    ingested: number,
    compute: Record<string, number>,
  ): Promise<MaintenanceFigures[]> {
    const d = this.deps;
    const root = this.settings.sourceDir || projectRoot();
    const registry = await loadRegistry(d.store);
    const speedLogic = (await readRequestedSpeedLogicVersion(d.store)) ?? d.speed.logicVersion;
    const kappaLogic = registry.active?.logicVersion ?? d.config.kappa.logicVersion;
    const lambdaCode = codeFigures(root, LOGIC_CODEBASES.lambda, {
      batch: d.batch.logicVersion,
      speed: speedLogic,
    });
    const kappaCode = codeFigures(root, LOGIC_CODEBASES.kappa, { kappa: kappaLogic });

    const consumers = d.meter.runningConsumers();
    const speedStatus = await d.speed
      .currentStatus()
      .catch(() => ({ running: false }) as Record<string, unknown>);
    const lambdaComponents = [
      `event-log (${d.log.kind})`,
      ...consumers.filter((c) => archOfComponent(c) === 'lambda'),
      ...(consumers.includes('batch-ingest')
        ? ['batch-scheduler', `master-dataset (Parquet, DuckDB)`, `job-queue (${d.queueKind})`]
        : []),
      ...(consumers.includes('batch-ingest') && d.config.batch.localWorkers > 0
        ? [`batch-workers ×${d.config.batch.localWorkers}`]
        : []),
      ...(!consumers.includes('speed-layer') && speedStatus.running ? ['speed-layer (remote)'] : []),
      `realtime-store (${d.store.kind})`,
      'serving-layer',
    ];
    const kappaComponents = [
      `event-log (${d.log.kind})`,
      ...[...registry.jobs.values()]
        .filter((j) => RUNNING_STATES.has(j.state))
        .sort((a, b) => a.id - b.id)
        .map((j) => `kappa-job-${j.id} (${j.state}, logic v${j.logicVersion})`),
      `realtime-store (${d.store.kind})`,
      'serving-layer',
    ];

    // Work amplification: events read by recomputation per event ingested.
    const batchRecomputed = d.batch
      .listRuns()
      .filter((r) => r.state === 'completed')
      .reduce((s, r) => s + r.events, 0);
    let replayRecomputed = 0;
    for (const job of registry.jobs.values()) {
      if (job.kind !== 'replay') continue;
      const snapshotTotal = (job.snapshot ?? []).reduce((s, p) => s + p.end, 0);
      let work = this.replayWork.get(job.id) ?? 0;
      if (job.caughtUpAt !== null) work = snapshotTotal;
      else if (RUNNING_STATES.has(job.state)) {
        const counters = await readMetaCounters(d.store, job.id).catch(() => undefined);
        if (counters) work = Math.min(snapshotTotal, counters.processed);
      }
      this.replayWork.set(job.id, work);
      replayRecomputed += work;
    }

    const memory = async (prefix: string): Promise<number | null> =>
      d.store.memoryBytes ? d.store.memoryBytes(prefix).catch(() => null) : null;
    const lambdaStorage = [
      { part: 'master dataset', bytes: diskBytes(masterDatasetDir(d.config.dataDir)) },
      { part: 'batch views', bytes: diskBytes(batchViewsDir(d.config.dataDir)) },
      { part: 'realtime views', bytes: await realtimeViewsMemoryBytes(d.store).catch(() => null) },
    ];
    const kappaStorage = [
      {
        part: 'log',
        bytes: d.log.kind === 'embedded' ? diskBytes(join(d.config.dataDir, 'log')) : null,
      },
      { part: 'output tables', bytes: await memory(KAPPA_PREFIX) },
    ];
    const sum = (parts: Array<{ bytes: number | null }>): number =>
      parts.reduce((s, p) => s + (p.bytes ?? 0), 0);
    const computeOf = (arch: 'lambda' | 'kappa'): Record<string, number> =>
      Object.fromEntries(Object.entries(compute).filter(([c]) => archOfComponent(c) === arch));
    return [
      {
        arch: 'lambda',
        ...lambdaCode,
        runningComponents: lambdaComponents,
        computeMs: computeOf('lambda'),
        workAmplification: ingested > 0 ? batchRecomputed / ingested : null,
        storageBytes: sum(lambdaStorage),
        storage: lambdaStorage,
        recomputedEvents: batchRecomputed,
      },
      {
        arch: 'kappa',
        ...kappaCode,
        runningComponents: kappaComponents,
        computeMs: computeOf('kappa'),
        workAmplification: ingested > 0 ? replayRecomputed / ingested : null,
        storageBytes: sum(kappaStorage),
        storage: kappaStorage,
        recomputedEvents: replayRecomputed,
      },
    ];
  }

  async divergence(q: DivergenceQuery): Promise<DivergenceAnswer> {
    if (!(q.to > q.from)) {
      throw new LabError(
        'LKL_ERR_API_BAD_REQUEST',
        `"to" (${q.to}) must be greater than "from" (${q.from}).`,
      );
    }
    const from = windowStart(q.from);
    const windows: number[] = [];
    for (let w = from; w < q.to; w += WINDOW_MS) {
      windows.push(w);
      if (windows.length > MAX_DIVERGENCE_WINDOWS) {
        throw new LabError(
          'LKL_ERR_API_BAD_REQUEST',
          `The range spans more than ${MAX_DIVERGENCE_WINDOWS} windows of 10 s; query a shorter range (or one campaign).`,
        );
      }
    }
    const truthLogicVersion = await this.intendedLogicVersion();
    const at = this.deps.clock.now();
    const [truth, readings] = await Promise.all([
      this.oracle.cells(from, q.to, q.campaign),
      readLayers({ views: this.deps.batch.views, store: this.deps.store }, windows, at, q.campaign),
    ]);
    const closed = closedBefore(this.oracle.watermark(), this.settings.allowedLatenessMs);
    return {
      metric: q.metric,
      from: q.from,
      to: q.to,
      truthLogicVersion,
      boundary: readings.boundary,
      closedBefore: closed,
      cells: divergenceCells(truth, readings, {
        metric: q.metric,
        truthLogicVersion,
        closedBefore: closed,
        atLeastOnceCrashes: this.crashes,
      }),
    };
  }
}
