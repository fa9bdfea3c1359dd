/**
 * The Kappa reprocessor: Kreps's recipe as a control plane over Kappa jobs.
 *   1. the log keeps the full history (pre-flight retention check) — or, Kappa+, the batch layer's
 *      master dataset keeps it up to a cut-over and the log from there (an archive replay);
 *   2. job N+1 (new logic version, new consumer group, new table kappa_vN+1) starts from the
 *      earliest offset, with more parallelism than the live job, optionally rate limited;
 *   3. once it has caught up (snapshot passed, lag small for a dwell time) readers are switched
 *      to its table — ONE atomic flip of the active pointer in the store;
 *   4. job N is kept for a grace period (rollback = flip back), then stopped and its table,
 *      group and offsets deleted. abort cancels a replay and removes what it made.
 *
 * The registry (which jobs exist, which is active) lives in the store, so a restarted lab resumes
 * every job where its last checkpoint left it, and `lklab kappa-worker` processes follow it.
 * Decisions are in commands.ts, their effects in command-effects.ts, legal state changes in lifecycle.ts, the runner a job gets in
 * engine-selection.ts, the jobs view in job-view.ts, the switchover (gate, verification, automatic retries, cutover)
 * in switchover-control.ts.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import type { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, type LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import type { ReferenceData } from '../../kernel/workload/reference-data.js';
import { kappaLogic, type KappaLogicContext } from '../operator/index.js';
import type { JobRunnerLike } from '../runtime/index.js';
import { type ActivePointer, type KappaJobRecord, type KappaJobState } from '../state/index.js';
import { assertNoReplayRunning, checkAbort, chooseReplaySource, planReplay } from './commands.js';
import {
  DEFAULT_GROUP_PREFIX,
  type KappaJobsView,
  type KappaReprocessorOptions,
  type KappaSettings,
  type ReplayRequest,
} from './dto.js';
import {
  executeRollback,
  launchReplay,
  replayParallelism,
  type CommandDeps,
  type CutoverRequest,
} from './command-effects.js';
import type { CutoverAudit, CutoverReport } from './cutover.js';
import { buildJobsView } from './job-view.js';
import { Registry } from './registry.js';
import { JobRetirement } from './retirement.js';
import { JobRunners } from './job-runners.js';
import { firstJob, RUNNING_STATES } from './lifecycle.js';
import { monitorLoop, monitorTick } from './monitor-tick.js';
import { JobMonitor } from './monitor.js';
import { runPreflight, type ReplayPreflight } from './replay-sources.js';
import { SwitchoverControl } from './switchover-control.js';
import type { KappaVerification, SwitchoverGate, SwitchoverResult } from './verification.js';
import { syncJob, waitForJobState } from './waits.js';

export class KappaReprocessor {
  private readonly registry: Registry;
  private readonly runners: JobRunners;
  private readonly monitor: JobMonitor;
  private readonly retirement: JobRetirement;
  private readonly ctx: KappaLogicContext;
  private readonly groupPrefix: string;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  /** Serializes control-plane transitions. */
  private control: Promise<unknown> = Promise.resolve();
  private started = false;
  /** The gate, the cutover audit and the automatic switchover's retries. */
  private readonly switchovers: SwitchoverControl;
  lastError: string | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly store: RealtimeStore,
    deadLetters: DeadLetterWriter,
    reference: ReferenceData,
    private readonly clock: Clock,
    private readonly bus: LabEventBus,
    private readonly options: KappaReprocessorOptions,
  ) {
    this.ctx = {
      campaignOf: reference.campaignOf,
      bots: new Set(reference.bots),
      movedAds: reference.movedAds,
    };
    this.groupPrefix = options.groupPrefix ?? DEFAULT_GROUP_PREFIX;
    this.monitor = new JobMonitor(store, () => ({
      lagThreshold: this.settings.catchUpLagThreshold,
      dwellMs: this.settings.catchUpDwellMs,
    }));
    this.registry = new Registry(store);
    this.runners = new JobRunners({ log, store, deadLetters, clock, bus, options, logicContext: this.ctx });
    const onError = (err: Error): string => (this.lastError = err.message);
    const { registry, runners, monitor } = this;
    this.retirement = new JobRetirement({ registry, runners, monitor, log, store, clock, onError });
    this.switchovers = new SwitchoverControl({ deps: () => this.deps, onError });
  }

  get settings(): KappaSettings {
    return this.options.settings;
  }

  /** The job readers use. */
  get activeJob(): number | null {
    return this.registry.active?.job ?? null;
  }

  job(id: number): KappaJobRecord | undefined {
    return this.registry.jobs.get(id);
  }

  /** Next offset the active (live) job processes in a partition when it runs here (back-pressure). */
  livePosition(partition: number): number | undefined {
    const id = this.activeJob;
    return id === null ? undefined : this.runners.position(id, partition);
  }

  /** Consumer group of the active job. */
  get liveGroup(): string | undefined {
    const id = this.activeJob;
    return id === null ? undefined : this.registry.jobs.get(id)?.group;
  }

  runner(id: number): JobRunnerLike | undefined {
    return this.runners.get(id);
  }

  /** Loads the registry (creating job 1 on first start) and starts every running job. */
  async start(): Promise<void> {
    if (this.started) return;
    kappaLogic(this.settings.logicVersion);
    await this.registry.load();
    if (this.registry.jobs.size === 0) {
      const { logicVersion } = this.settings;
      const first = firstJob({ logicVersion, group: `${this.groupPrefix}1`, now: this.clock.now() });
      await this.registry.persist([first.record], first.pointer);
    }
    this.started = true;
    for (const rec of this.registry.jobs.values()) {
      if (RUNNING_STATES.has(rec.state)) await this.runners.start(rec);
      else this.retirement.resumeIfPending(rec);
    }
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.loop = monitorLoop(this.clock, this.options.monitorIntervalMs ?? 250, signal, () =>
      this.exclusive(() => this.tick()).catch((err: Error) => (this.lastError = err.message)),
    );
  }

  /** Stops the monitor and every job of this process (each checkpoints what it processed). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.abort.abort();
    await this.loop;
    await this.control.catch(() => undefined);
    await this.runners.stopAll();
  }

  // ---- commands --------------------------------------------------------------------------------

  /** Starts job N+1 from the earliest offset (after the retention pre-flight). */
  startReplay(req: ReplayRequest): Promise<KappaJobRecord> {
    return this.exclusive(async () => {
      kappaLogic(req.logicVersion);
      assertNoReplayRunning(this.registry.jobs);
      const check = await this.preflight();
      const force = req.force === true;
      const source = chooseReplaySource(check, req.source ?? 'log', force);
      const rec = planReplay({
        jobs: this.registry.jobs,
        logicVersion: req.logicVersion,
        groupPrefix: this.groupPrefix,
        now: this.clock.now(),
        force,
        rateLimit: req.rateLimit ?? this.settings.replayRateLimit,
        parallelism: replayParallelism(this.settings),
        check,
        source,
      });
      return launchReplay(this.deps, rec, force);
    });
  }

  /**
   * Points readers at the caught-up replay (one atomic flip); the old job enters its grace period.
   * The gate verifies the replay first (kappa.verifyWindows): a `failed` verdict refuses (409
   * LKL_ERR_KAPPA_VERIFICATION_FAILED) unless `skipVerification`; the answer carries the verdict.
   */
  switchover(opts: { skipVerification?: boolean } & CutoverRequest = {}): Promise<SwitchoverResult> {
    return this.exclusive(() => this.switchovers.manual(opts));
  }

  /** Wires the comparison the switchover gate asks for (the lab's measurement, which holds the truth). */
  useSwitchoverGate(gate: SwitchoverGate | undefined): void {
    this.switchovers.useGate(gate);
  }

  /** Wires the count of lost and duplicated events per window under a cutover (the lab's measurement). */
  useCutoverAudit(audit: CutoverAudit | undefined): void {
    this.switchovers.useAudit(audit);
  }

  /**
   * The last switchover's cutover (mode, T, idle partitions) with, per window around it, the
   * events readers lost or got twice (GET /api/kappa/cutover); null before the first switchover.
   */
  async cutover(): Promise<CutoverReport | null> {
    return this.switchovers.cutover();
  }

  /**
   * The gate's verdict on job `id` (default: the replay in progress, else the active job) against
   * the active job, computed now. For GET /api/kappa/verification and `lklab kappa verify`.
   */
  async verification(id?: number): Promise<KappaVerification> {
    return this.switchovers.verification(id);
  }

  /** Points readers back at the previous job while it still exists. */
  rollback(): Promise<ActivePointer> {
    return this.exclusive(() => executeRollback(this.deps));
  }

  /** Cancels a replay: stops it, removes its table, group and offsets. */
  abortReplay(id: number, reason = 'aborted'): Promise<KappaJobRecord> {
    return this.exclusive(async () => {
      const rec = checkAbort({ jobs: this.registry.jobs, active: this.registry.active, id });
      const ended = await this.retirement.end(rec, 'aborted', reason);
      const { logicVersion } = rec;
      this.bus.emit(LAB_EVENTS.KAPPA_REPLAY_ABORTED, this.clock.now(), { job: id, logicVersion, reason });
      return ended;
    });
  }

  /** Runs the pre-flight without starting anything: the retention check and the replay's options (log, archive, refuse). */
  async preflight(): Promise<ReplayPreflight> {
    const { log, clock, options } = this;
    return runPreflight(log, options.topic, clock, this.settings.retentionMarginMs, options.archive);
  }

  /** Jobs with state, lag, rate, per-partition progress and ETA. */
  async view(): Promise<KappaJobsView> {
    const ends = await this.log.offsets(this.options.topic).catch(() => []);
    const src = { store: this.store, monitor: this.monitor, runner: (id: number) => this.runners.get(id) };
    return buildJobsView(this.registry, ends, this.settings, src);
  }

  /** Resolves when `job` reaches one of `states` (polling the registry in memory). */
  waitForState(job: number, states: KappaJobState[], timeoutMs: number): Promise<KappaJobRecord> {
    const job_ = (id: number): KappaJobRecord | undefined => this.registry.jobs.get(id);
    // settled: let the transition finish (e.g. the engine swap)
    const settled = (): Promise<unknown> => this.control.catch(() => undefined);
    return waitForJobState({ job: job_, settled, lastError: () => this.lastError }, job, states, timeoutMs);
  }

  /**
   * Resolves once job `id` has checkpointed everything appended to the log before the call (its
   * table then holds every event up to there). For tests, benchmarks and scenario steps.
   */
  sync(id: number, timeoutMs: number): Promise<void> {
    const lastError = (): string | undefined => this.runners.get(id)?.status.lastError ?? this.lastError;
    return syncJob({ log: this.log, store: this.store, topic: this.options.topic, lastError }, id, timeoutMs);
  }

  /** Checkpoints every job this process runs (tests and shutdown). */
  async checkpointAll(): Promise<void> {
    await this.runners.checkpointAll();
  }

  // ---- monitor ----------------------------------------------------------------------------------

  private async tick(): Promise<void> {
    if (!this.started) return;
    const now = this.clock.now();
    const ends = await this.log.offsets(this.options.topic);
    await monitorTick({ ...this.deps, switchover: () => this.switchovers.auto(now) }, now, ends);
    // A caught-up replay whose automatic switchover the gate refused: try again once per window.
    await this.switchovers.retryDue(now);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private get deps(): CommandDeps {
    const { registry, runners, monitor, retirement, log, store, clock, bus, settings } = this;
    const topic = this.options.topic;
    return { registry, runners, monitor, retirement, log, store, clock, bus, settings, topic };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.control.then(fn, fn);
    this.control = run.catch(() => undefined);
    return run;
  }
}
