/** The lab's measurement service (LabMeasurement): it owns the truth oracle and its sampling loops. */
import { join } from 'node:path';
import {
  loadRegistry,
  unavailableVerification,
  unmeasured,
  type CutoverRecord,
  type CutoverReport,
  type KappaJobRecord,
  type KappaVerification,
} from '../kappa-reprocessor/index.js';
import { every } from '../kernel/clock/every.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { LabError } from '../kernel/errors/lab-error.js';
import { WINDOW_MS, windowStart } from '../kernel/events/ysb-event.js';
import { LAB_EVENTS } from '../kernel/instrumentation/lab-events.js';
import { readRequestedSpeedLogicVersion } from '../speed-layer/index.js';
import { closedBefore } from './correctness.js';
import { divergenceCells } from './divergence.js';
import { ReplayInterference } from './replay-interference.js';
import { verifyKappaJob } from './kappa-verifier.js';
import { auditCutover } from './cutover-audit.js';
import { FinalEventLatency, type FinalEventLatencyListener } from './latency.js';
import { SampleRing, latencyFigures } from './latency-figures.js';
import { layerCorrectness, truthValue } from './layer-correctness.js';
import { readLayers, readServed } from './layer-values.js';
import { maintenanceFigures } from './maintenance-figures.js';
import type {
  CorrectnessFigures,
  DivergenceAnswer,
  DivergenceQuery,
  Measurement,
  MetricsHistory,
  MetricsSnapshot,
  TimelineMark,
} from './measurement-api.js';
import type { MeasurementDeps, MeasurementSettings } from './measurement-deps.js';
import { MetricsHistoryBuffer } from './metrics-history.js';
import { ServedCorrectness, type WindowValues } from './served-correctness.js';
import { Timeline } from './timeline.js';
import { TRUTH_LOGIC, truthLogicVersions } from './truth-logic.js';
import { TruthOracle } from './truth-oracle.js';

export type { MeasurementDeps, MeasurementSettings } from './measurement-deps.js';

/** Most windows (10 s each) one divergence query may span: 1,000 windows ≈ 2.8 hours. */
export const MAX_DIVERGENCE_WINDOWS = 1_000;
/** Most windows one snapshot compares per layer. */
const MAX_SNAPSHOT_WINDOWS = 2_000;
/** How often CPU is attributed and final windows are sampled for latency (ms). */
const SAMPLE_INTERVAL_MS = 1_000;
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
  /** The snapshot re-reads its whole horizon of Kappa windows: unchanged ones are not folded again. */
  private readonly replayWork = new Map<number, number>();
  private readonly interference = new ReplayInterference();
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
    this.interference.attach(deps.bus);
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
    this.interference.detach();
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
      correctnessFigures.push(
        ...layerCorrectness(
          truth,
          readings,
          from,
          closed,
          truthLogicVersion,
          this.deps.store.sketchRegisters,
        ),
      );
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
      maintenance: await maintenanceFigures(this.deps, this.replayWork, ingested, compute),
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
      interference: this.interference.figures(at, (arch, from, to) => this.latency.between(arch, from, to)),
    };
  }

  /**
   * The switchover gate's comparison (measurement/kappa-verifier.ts): job `job`'s table against the
   * truth and against `against` over the last `k` closed windows. On demand, never in a loop.
   */
  async verifyKappa(
    job: KappaJobRecord,
    against: KappaJobRecord | undefined,
    k: number,
  ): Promise<KappaVerification> {
    if (!this.started)
      return unavailableVerification(
        job,
        against,
        k,
        'the truth oracle does not run in this process (roles.measurement is off), so there is nothing to compare with',
        this.deps.clock.now(),
      );
    return verifyKappaJob(
      {
        oracle: this.oracle,
        store: this.deps.store,
        log: this.deps.log,
        topic: this.deps.topic,
        kappa: this.deps.config.kappa,
        truthLatenessMs: this.settings.allowedLatenessMs,
        now: this.deps.clock.now(),
      },
      job,
      against,
      k,
    );
  }

  /** The cutover lab's count (measurement/cutover-audit.ts): lost and duplicated events per window. On demand. */
  async auditCutover(record: CutoverRecord): Promise<CutoverReport> {
    if (!this.started)
      return unmeasured(record, 'the truth oracle does not run in this process (roles.measurement is off)');
    return auditCutover(
      {
        oracle: this.oracle,
        store: this.deps.store,
        kappa: this.deps.config.kappa,
        truthLatenessMs: this.settings.allowedLatenessMs,
      },
      record,
    );
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
