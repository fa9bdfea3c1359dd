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
 * engine-selection.ts, the jobs view in job-view.ts.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import type { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { isLabError } from '../../kernel/errors/lab-error.js';
import { WINDOW_MS } from '../../kernel/events/ysb-event.js';
import { LAB_EVENTS, type LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import type { ReferenceData } from '../../kernel/workload/reference-data.js';
import { kappaLogic, type KappaLogicContext } from '../operator/index.js';
import type { JobRunnerLike } from '../runtime/index.js';
import { type ActivePointer, type KappaJobRecord, type KappaJobState } from '../state/index.js';
import {
  assertNoReplayRunning,
  checkAbort,
  chooseReplaySource,
  planReplay,
  verificationTarget,
} from './commands.js';
import {
  DEFAULT_GROUP_PREFIX,
  type KappaJobsView,
  type KappaReprocessorOptions,
  type KappaSettings,
  type ReplayRequest,
} from './dto.js';
import {
  executeRollback,
  executeSwitchover,
  launchReplay,
  lastCutoverReport,
  replayParallelism,
  type CommandDeps,
  type CutoverRequest,
} from './command-effects.js';
import type { CutoverAudit, CutoverReport } from './cutover.js';
import { buildJobsView } from './job-view.js';
import { Registry } from './registry.js';
import { JobRetirement } from './retirement.js';
import { JobRunners } from './job-runners.js';
import { firstJob, replayCandidate, RUNNING_STATES } from './lifecycle.js';
import { monitorTick } from './monitor-tick.js';
import { JobMonitor } from './monitor.js';
import { replayOptions, type ReplayPreflight } from './replay-sources.js';
import { checkRetention } from './retention-check.js';
import {
  askGate,
  type KappaVerification,
  type SwitchoverGate,
  type SwitchoverResult,
} from './verification.js';
import { syncJob, waitForJobState } from './waits.js';

/** After the gate refused an automatic switchover, it is tried again at most this often (ms): a new window closes every 10 s. */
const AUTO_RETRY_MS = WINDOW_MS;

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
  /** Compares a replay's table with the truth before a switchover (wired by the lab; none = unavailable). */
  private gate: SwitchoverGate | undefined;
  /** Counts what readers lost or got twice under the last cutover (wired by the lab; none = unavailable). */
  private audit: CutoverAudit | undefined;
  /** Replay job → when an automatic switchover the gate refused is tried again. */
  private readonly autoRetryAt = new Map<number, number>();
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
    this.retirement = new JobRetirement({
      registry: this.registry,
      runners: this.runners,
      monitor: this.monitor,
      log,
      store,
      clock,
      onError: (err) => (this.lastError = err.message),
    });
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
    if (id === null) return undefined;
    return this.runners.position(id, partition);
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
      const first = firstJob({
        logicVersion: this.settings.logicVersion,
        group: `${this.groupPrefix}1`,
        now: this.clock.now(),
      });
      await this.registry.persist([first.record], first.pointer);
    }
    this.started = true;
    for (const rec of this.registry.jobs.values()) {
      if (RUNNING_STATES.has(rec.state)) await this.runners.start(rec);
      else this.retirement.resumeIfPending(rec);
    }
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.loop = (async () => {
      while (!signal.aborted) {
        try {
          await this.clock.sleep(this.options.monitorIntervalMs ?? 250, signal);
        } catch {
          return;
        }
        await this.exclusive(() => this.tick()).catch((err: Error) => (this.lastError = err.message));
      }
    })();
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
    return this.exclusive(async () => {
      const out = await executeSwitchover(
        this.deps,
        'manual',
        (c, cur) => this.verify(c, cur),
        opts.skipVerification === true,
        { mode: opts.mode, at: opts.at },
      );
      this.autoRetryAt.delete(out.job);
      return out;
    });
  }

  /** Wires the comparison the switchover gate asks for (the lab's measurement, which holds the truth). */
  useSwitchoverGate(gate: SwitchoverGate | undefined): void {
    this.gate = gate;
  }

  /** Wires the count of lost and duplicated events per window under a cutover (the lab's measurement). */
  useCutoverAudit(audit: CutoverAudit | undefined): void {
    this.audit = audit;
  }

  /**
   * The last switchover's cutover (mode, T, idle partitions) with, per window around it, the
   * events readers lost or got twice (GET /api/kappa/cutover); null before the first switchover.
   */
  async cutover(): Promise<CutoverReport | null> {
    return lastCutoverReport({ store: this.store, registry: this.registry }, this.audit);
  }

  /**
   * The gate's verdict on job `id` (default: the replay in progress, else the active job) against
   * the active job, computed now. For GET /api/kappa/verification and `lklab kappa verify`.
   */
  async verification(id?: number): Promise<KappaVerification> {
    const { job, against } = verificationTarget(this.registry.jobs, this.registry.active, id);
    return this.verify(job, against);
  }

  private verify(job: KappaJobRecord, against: KappaJobRecord | undefined): Promise<KappaVerification> {
    return askGate(this.gate, this.settings.verifyWindows, this.clock.now(), job, against);
  }

  /** The automatic switchover: a refusal by the gate is recorded and retried once per window, never thrown. */
  private async autoSwitchover(now: number): Promise<void> {
    try {
      const out = await executeSwitchover(this.deps, 'auto', (c, cur) => this.verify(c, cur));
      this.autoRetryAt.delete(out.job);
    } catch (err) {
      if (!isLabError(err) || err.code !== 'LKL_ERR_KAPPA_VERIFICATION_FAILED') throw err;
      const v = err.details?.verification as KappaVerification;
      const retryAt = now + AUTO_RETRY_MS;
      this.autoRetryAt.set(v.job, retryAt);
      this.lastError = err.message;
      this.bus.emit(LAB_EVENTS.KAPPA_SWITCHOVER_REFUSED, now, {
        job: v.job,
        failedWindows: v.failedWindows,
        retryAt,
        reason: v.reason,
      });
    }
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
      this.bus.emit(LAB_EVENTS.KAPPA_REPLAY_ABORTED, this.clock.now(), {
        job: id,
        logicVersion: rec.logicVersion,
        reason,
      });
      return ended;
    });
  }

  /** Runs the pre-flight without starting anything: the retention check and the replay's options (log, archive, refuse). */
  async preflight(): Promise<ReplayPreflight> {
    const topic = this.options.topic;
    const [check, coverage] = await Promise.all([
      checkRetention(this.log, topic, this.clock, this.settings.retentionMarginMs),
      this.options.archive?.coverage(topic),
    ]);
    return { ...check, options: replayOptions(check, topic, coverage) };
  }

  /** Jobs with state, lag, rate, per-partition progress and ETA. */
  async view(): Promise<KappaJobsView> {
    const ends = await this.log.offsets(this.options.topic).catch(() => []);
    return buildJobsView(this.registry, ends, this.settings, {
      store: this.store,
      monitor: this.monitor,
      runner: (id) => this.runners.get(id),
    });
  }

  /** Resolves when `job` reaches one of `states` (polling the registry in memory). */
  waitForState(job: number, states: KappaJobState[], timeoutMs: number): Promise<KappaJobRecord> {
    return waitForJobState(
      {
        job: (id) => this.registry.jobs.get(id),
        settled: () => this.control.catch(() => undefined), // let the transition finish (e.g. the engine swap)
        lastError: () => this.lastError,
      },
      job,
      states,
      timeoutMs,
    );
  }

  /**
   * Resolves once job `id` has checkpointed everything appended to the log before the call (its
   * table then holds every event up to there). For tests, benchmarks and scenario steps.
   */
  sync(id: number, timeoutMs: number): Promise<void> {
    return syncJob(
      {
        log: this.log,
        store: this.store,
        topic: this.options.topic,
        lastError: () => this.runners.get(id)?.status.lastError ?? this.lastError,
      },
      id,
      timeoutMs,
    );
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
    await monitorTick(
      {
        registry: this.registry,
        monitor: this.monitor,
        retirement: this.retirement,
        settings: this.settings,
        bus: this.bus,
        switchover: () => this.autoSwitchover(now),
      },
      now,
      ends,
    );
    // A caught-up replay whose automatic switchover the gate refused: try again once per window.
    const cand = replayCandidate(this.registry.jobs.values());
    const retryAt = cand ? this.autoRetryAt.get(cand.id) : undefined;
    if (
      cand?.state === 'caught-up' &&
      this.settings.autoSwitchover &&
      retryAt !== undefined &&
      now >= retryAt
    )
      await this.autoSwitchover(now);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private get deps(): CommandDeps {
    return {
      registry: this.registry,
      runners: this.runners,
      monitor: this.monitor,
      retirement: this.retirement,
      log: this.log,
      store: this.store,
      clock: this.clock,
      bus: this.bus,
      settings: this.settings,
      topic: this.options.topic,
    };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.control.then(fn, fn);
    this.control = run.catch(() => undefined);
    return run;
  }
}
