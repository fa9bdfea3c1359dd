/**
 * The Kappa reprocessor: Kreps's recipe as a control plane over Kappa jobs.
 *   1. the log keeps the full history (pre-flight retention check);
 *   2. job N+1 (new logic version, new consumer group, new table kappa_vN+1) starts from the
 *      earliest offset, with more parallelism than the live job, optionally rate limited;
 *   3. once it has caught up (snapshot passed, lag small for a dwell time) readers are switched
 *      to its table — ONE atomic flip of the active pointer in the store;
 *   4. job N is kept for a grace period (rollback = flip back), then stopped and its table,
 *      group and offsets deleted. abort cancels a replay and removes what it made.
 *
 * The registry (which jobs exist, which is active) lives in the store, so a restarted lab resumes
 * every job where its last checkpoint left it, and `lklab kappa-worker` processes follow it.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_LOG_DEFAULTS } from '../kernel/adapters/embedded-log/defaults.js';
import type { Clock } from '../kernel/clock/clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import { LabError } from '../kernel/errors/lab-error.js';
import type { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import { CatchUpDetector, type CatchUpState } from './catch-up.js';
import {
  loadRegistry,
  registrySets,
  RUNNING_STATES,
  type KappaJobRecord,
  type KappaJobState,
  deleteTable,
  offsetsNamespace,
  readMetaCounters,
  tableName,
  type ActivePointer,
} from './state/index.js';
import { KappaJobRunner, type BulkSource, type RunnerStats, type JobRunnerLike } from './runtime/index.js';
import { availableKappaLogicVersions, kappaLogic } from './logic/index.js';
import type { KappaLogicContext } from './logic/kappa-logic.js';
import { InlineEngine, type ProcessingEngine, type DeltaCounters } from './operator/index.js';
import { ThreadedJobRunner, type EngineRequest } from './engines/index.js';
import { etaMs, ProgressTracker } from './progress.js';
import { checkRetention, type RetentionCheckResult } from './retention-check.js';

export type KappaSettings = LabConfig['kappa'];

export const DEFAULT_GROUP_PREFIX = 'lklab-kappa-v';

export type { EngineRequest } from './engines/index.js';

export interface KappaReprocessorOptions {
  topic: string;
  settings: KappaSettings;
  /** Job N's consumer group is `${groupPrefix}${N}`. Default lklab-kappa-v. */
  groupPrefix?: string;
  /** Name of this process in dead letters and events. Default "lab". */
  runner?: string;
  /** Engine of a replay on the embedded log (default: inline on the main thread). */
  replayEngine?: (request: EngineRequest) => ProcessingEngine;
  /** How often progress, catch-up and grace are checked (ms). Default 250. */
  monitorIntervalMs?: number;
  /**
   * On Kafka + Redis: the lab's configuration, so that a replay runs its consumers in worker
   * threads that connect on their own (one Kafka client and Redis connection each). Without it a
   * replay runs `parallelism` consumers on the main thread.
   */
  threadConfig?: LabConfig;
}

export interface ReplayRequest {
  logicVersion: number;
  force?: boolean;
  /** Events/s; undefined = kappa.replayRateLimit; 0 = unlimited. */
  rateLimit?: number;
}

export interface PartitionProgressView {
  partition: number;
  /** Next offset as checkpointed to the store (what readers see). */
  position: number;
  /** Next offset processed in memory by this process (≥ position), when it runs the partition. */
  processed: number | null;
  end: number;
  lag: number;
  /** End offset snapshotted when the replay started (replays only). */
  snapshotEnd: number | null;
  /** Share of the snapshot consumed (0..1; replays only). */
  progress: number | null;
  rate: number;
  arrival: number;
  /** ms until this partition has caught up; null when not converging. */
  etaMs: number | null;
}

export interface KappaJobView extends KappaJobRecord {
  table: string;
  active: boolean;
  lag: number;
  rate: number;
  etaMs: number | null;
  partitions: PartitionProgressView[];
  counters: DeltaCounters;
  catchUp: CatchUpState | null;
  runner: RunnerStats | null;
}

export interface KappaJobsView {
  active: number | null;
  previous: number | null;
  switchedAt: number | null;
  availableLogicVersions: number[];
  settings: KappaSettings;
  jobs: KappaJobView[];
}

interface Monitor {
  detector: CatchUpDetector;
  progress: ProgressTracker;
  last: CatchUpState | null;
  positions: Map<number, number>;
  ends: Map<number, number>;
}

export class KappaReprocessor {
  private jobs = new Map<number, KappaJobRecord>();
  private active: ActivePointer | null = null;
  private readonly runners = new Map<number, JobRunnerLike>();
  private readonly monitors = new Map<number, Monitor>();
  /** Jobs whose table, group or offsets still have to be removed. */
  private readonly cleanups = new Set<number>();
  private readonly ctx: KappaLogicContext;
  private readonly groupPrefix: string;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  /** Serializes control-plane transitions. */
  private control: Promise<unknown> = Promise.resolve();
  private started = false;
  lastError: string | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly store: RealtimeStore,
    private readonly deadLetters: DeadLetterWriter,
    reference: ReferenceData,
    private readonly clock: Clock,
    private readonly bus: LabEventBus,
    private readonly options: KappaReprocessorOptions,
  ) {
    this.ctx = { campaignOf: reference.campaignOf, bots: new Set(reference.bots) };
    this.groupPrefix = options.groupPrefix ?? DEFAULT_GROUP_PREFIX;
  }

  get settings(): KappaSettings {
    return this.options.settings;
  }

  /** The job readers use. */
  get activeJob(): number | null {
    return this.active?.job ?? null;
  }

  job(id: number): KappaJobRecord | undefined {
    return this.jobs.get(id);
  }

  /** Next offset the active (live) job processes in a partition when it runs here (back-pressure). */
  livePosition(partition: number): number | undefined {
    const id = this.activeJob;
    if (id === null) return undefined;
    return this.runners
      .get(id)
      ?.positions()
      .find((p) => p.partition === partition)?.next;
  }

  /** Consumer group of the active job. */
  get liveGroup(): string | undefined {
    const id = this.activeJob;
    return id === null ? undefined : this.jobs.get(id)?.group;
  }

  runner(id: number): JobRunnerLike | undefined {
    return this.runners.get(id);
  }

  /** Loads the registry (creating job 1 on first start) and starts every running job. */
  async start(): Promise<void> {
    if (this.started) return;
    kappaLogic(this.settings.logicVersion);
    const reg = await loadRegistry(this.store);
    this.jobs = reg.jobs;
    this.active = reg.active;
    if (this.jobs.size === 0) {
      const first = this.newRecord(1, this.settings.logicVersion, 'live', 'initial');
      first.activatedAt = this.clock.now();
      this.active = { job: 1, logicVersion: first.logicVersion, previous: null, switchedAt: null };
      await this.persist([first], this.active);
    }
    this.started = true;
    for (const rec of this.jobs.values()) {
      if (RUNNING_STATES.has(rec.state)) await this.startRunner(rec);
      else if (
        (rec.state === 'retired' || rec.state === 'aborted') &&
        rec.endReason?.endsWith('(cleanup pending)')
      )
        this.cleanups.add(rec.id);
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
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
  }

  // ---- commands --------------------------------------------------------------------------------

  /** Starts job N+1 from the earliest offset (after the retention pre-flight). */
  startReplay(req: ReplayRequest): Promise<KappaJobRecord> {
    return this.exclusive(async () => {
      kappaLogic(req.logicVersion);
      const candidate = this.candidate();
      if (candidate) {
        throw new LabError(
          'LKL_ERR_KAPPA_REPLAY_RUNNING',
          `Replay job ${candidate.id} (logic v${candidate.logicVersion}) is ${candidate.state}; switch it over (POST /api/kappa/switchover) or abort it (POST /api/kappa/replays/${candidate.id}/abort) before starting another.`,
          { details: { job: candidate.id, state: candidate.state } },
        );
      }
      const check = await this.preflight();
      const force = req.force === true;
      if (!check.ok && !force) {
        throw new LabError(
          'LKL_ERR_KAPPA_HISTORY_INCOMPLETE',
          `Replay refused: the log no longer holds the whole history — ${check.problems.join('; ')}. Raise the topic's retention so the log keeps everything, or pass force to replay what is left (its answers will miss the dropped events).`,
          {
            details: {
              problems: check.problems,
              partitions: check.partitions,
              retentionMs: check.retentionMs,
            },
          },
        );
      }
      const id = Math.max(0, ...this.jobs.keys()) + 1;
      const rec = this.newRecord(id, req.logicVersion, 'replaying', 'replay');
      rec.force = force;
      rec.rateLimit = req.rateLimit ?? this.settings.replayRateLimit;
      rec.parallelism = this.replayParallelism();
      rec.snapshot = check.partitions.map((p) => ({ partition: p.partition, end: p.end }));
      rec.warnings = [
        ...(force ? check.problems.map((p) => `started with force although ${p}`) : []),
        ...check.warnings,
      ];
      // Leftovers of an earlier life of this id (a registry that was wiped) must not leak into the new table.
      await deleteTable(this.store, id);
      await this.store.deleteOffsets(offsetsNamespace(id));
      await this.log.deleteGroup(rec.group).catch(() => undefined);
      await this.persist([rec]);
      await this.startRunner(rec);
      this.bus.emit(LAB_EVENTS.KAPPA_REPLAY_STARTED, this.clock.now(), {
        job: id,
        logicVersion: rec.logicVersion,
        force,
        rateLimit: rec.rateLimit,
        parallelism: rec.parallelism,
        snapshot: rec.snapshot,
        warnings: rec.warnings,
      });
      return { ...rec };
    });
  }

  /** Points readers at the caught-up replay (one atomic flip); the old job enters its grace period. */
  switchover(): Promise<ActivePointer> {
    return this.exclusive(() => this.doSwitchover('manual'));
  }

  /** Points readers back at the previous job while it still exists. */
  rollback(): Promise<ActivePointer> {
    return this.exclusive(async () => {
      const prev = this.active?.previous == null ? undefined : this.jobs.get(this.active.previous);
      if (!this.active || !prev || prev.state !== 'grace') {
        throw new LabError(
          'LKL_ERR_KAPPA_NO_ROLLBACK',
          prev
            ? `Job ${prev.id} is ${prev.state}: its grace period (kappa.graceMs = ${this.settings.graceMs} ms) is over, so there is nothing to roll back to. Replay logic v${prev.logicVersion} again instead.`
            : 'No switchover happened since the lab started its first job, or the previous job was retired: there is nothing to roll back to.',
          { details: { previous: this.active?.previous ?? null } },
        );
      }
      const current = this.jobs.get(this.active.job)!;
      const now = this.clock.now();
      const back: KappaJobRecord = {
        ...prev,
        state: 'live',
        retireAt: null,
        deactivatedAt: null,
        activatedAt: now,
      };
      const demoted: KappaJobRecord = { ...current, state: 'caught-up', deactivatedAt: now };
      const pointer: ActivePointer = {
        job: back.id,
        logicVersion: back.logicVersion,
        previous: null,
        switchedAt: now,
      };
      await this.persist([back, demoted], pointer);
      this.bus.emit(LAB_EVENTS.KAPPA_ROLLBACK, now, {
        from: current.id,
        to: back.id,
        logicVersion: back.logicVersion,
      });
      return { ...pointer };
    });
  }

  /** Cancels a replay: stops it, removes its table, group and offsets. */
  abortReplay(id: number, reason = 'aborted'): Promise<KappaJobRecord> {
    return this.exclusive(async () => {
      const rec = this.jobs.get(id);
      if (!rec || rec.state === 'retired' || rec.state === 'aborted') {
        throw new LabError(
          'LKL_ERR_KAPPA_JOB_UNKNOWN',
          `Kappa job ${id} does not exist or has already ended; GET /api/kappa/jobs lists the jobs.`,
          { details: { job: id } },
        );
      }
      if (this.active?.job === id) {
        throw new LabError(
          'LKL_ERR_KAPPA_JOB_ACTIVE',
          `Job ${id} is the one readers use; roll back or switch over to another job before removing it.`,
          { details: { job: id } },
        );
      }
      if (rec.state !== 'replaying' && rec.state !== 'caught-up') {
        throw new LabError(
          'LKL_ERR_API_BAD_REQUEST',
          `Job ${id} is ${rec.state}, not a replay; only a replay (replaying or caught-up) can be aborted. A job in grace is retired at ${new Date(rec.retireAt ?? 0).toISOString()}.`,
          { details: { job: id, state: rec.state } },
        );
      }
      const ended = await this.end(rec, 'aborted', reason);
      this.bus.emit(LAB_EVENTS.KAPPA_REPLAY_ABORTED, this.clock.now(), {
        job: id,
        logicVersion: rec.logicVersion,
        reason,
      });
      return ended;
    });
  }

  /** Runs the retention pre-flight without starting anything. */
  preflight(): Promise<RetentionCheckResult> {
    return checkRetention(this.log, this.options.topic, this.clock, this.settings.retentionMarginMs);
  }

  /** Jobs with state, lag, rate, per-partition progress and ETA. */
  async view(): Promise<KappaJobsView> {
    const jobs: KappaJobView[] = [];
    const ends = await this.log.offsets(this.options.topic).catch(() => []);
    for (const rec of [...this.jobs.values()].sort((a, b) => b.id - a.id)) {
      jobs.push(await this.jobView(rec, ends));
    }
    return {
      active: this.active?.job ?? null,
      previous: this.active?.previous ?? null,
      switchedAt: this.active?.switchedAt ?? null,
      availableLogicVersions: availableKappaLogicVersions(),
      settings: { ...this.settings },
      jobs,
    };
  }

  /** Resolves when `job` reaches one of `states` (polling the registry in memory). */
  async waitForState(job: number, states: KappaJobState[], timeoutMs: number): Promise<KappaJobRecord> {
    const started = performance.now();
    for (;;) {
      const rec = this.jobs.get(job);
      if (rec && states.includes(rec.state)) {
        await this.control.catch(() => undefined); // let the transition finish (e.g. the engine swap)
        return { ...this.jobs.get(job)! };
      }
      if (performance.now() - started > timeoutMs) {
        throw new Error(
          `Kappa job ${job} did not reach ${states.join('/')} within ${timeoutMs} ms (state ${rec?.state ?? 'unknown'}; ${this.lastError ?? 'no error'})`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Resolves once job `id` has checkpointed everything appended to the log before the call (its
   * table then holds every event up to there). For tests, benchmarks and scenario steps.
   */
  async sync(id: number, timeoutMs: number): Promise<void> {
    const ends = await this.log.offsets(this.options.topic);
    const started = performance.now();
    for (;;) {
      const stored = await this.store.readOffsets(offsetsNamespace(id));
      if (ends.every((e) => e.end === 0 || (stored[e.partition] ?? 0) >= e.end)) return;
      if (performance.now() - started > timeoutMs) {
        const behind = ends
          .filter((e) => (stored[e.partition] ?? 0) < e.end)
          .map((e) => `${e.partition}: ${stored[e.partition] ?? 0}/${e.end}`);
        throw new Error(
          `Kappa job ${id} did not checkpoint up to the log end within ${timeoutMs} ms (partition: checkpointed/end ${behind.join(', ')}; ${this.runners.get(id)?.status.lastError ?? this.lastError ?? 'no error'})`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Checkpoints every job this process runs (tests and shutdown). */
  async checkpointAll(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.checkpoint()));
  }

  // ---- monitor ----------------------------------------------------------------------------------

  private async tick(): Promise<void> {
    if (!this.started) return;
    const now = this.clock.now();
    const ends = await this.log.offsets(this.options.topic);
    for (const rec of [...this.jobs.values()]) {
      if (!RUNNING_STATES.has(rec.state)) continue;
      const m = await this.sample(rec, ends, now);
      if (rec.state === 'replaying' && rec.snapshot) {
        const state = m.detector.observe(now, { positions: m.positions, snapshot: rec.snapshot, ends });
        m.last = state;
        if (state.caughtUp) {
          const caught: KappaJobRecord = { ...rec, state: 'caught-up', caughtUpAt: now };
          await this.persist([caught]);
          this.bus.emit(LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP, now, {
            job: rec.id,
            lag: state.lag,
            heldMs: state.heldMs,
          });
          if (this.settings.autoSwitchover) await this.doSwitchover('auto');
        }
      } else if (rec.state === 'grace' && rec.retireAt !== null && now >= rec.retireAt) {
        await this.end(rec, 'retired', `grace period of ${this.settings.graceMs} ms over`);
        this.bus.emit(LAB_EVENTS.KAPPA_JOB_RETIRED, now, { job: rec.id, logicVersion: rec.logicVersion });
      }
    }
    for (const id of [...this.cleanups])
      await this.cleanup(id).catch((err: Error) => (this.lastError = err.message));
  }

  private async sample(
    rec: KappaJobRecord,
    ends: Array<{ partition: number; end: number }>,
    now: number,
  ): Promise<Monitor> {
    let m = this.monitors.get(rec.id);
    if (!m) {
      m = {
        detector: new CatchUpDetector(this.settings.catchUpLagThreshold, this.settings.catchUpDwellMs),
        progress: new ProgressTracker(),
        last: null,
        positions: new Map(),
        ends: new Map(),
      };
      this.monitors.set(rec.id, m);
    }
    const stored = await this.store.readOffsets(offsetsNamespace(rec.id));
    m.positions = new Map(ends.map((e) => [e.partition, stored[e.partition] ?? 0]));
    m.ends = new Map(ends.map((e) => [e.partition, e.end]));
    m.progress.add({ at: now, positions: m.positions, ends: m.ends });
    return m;
  }

  private async doSwitchover(how: 'manual' | 'auto'): Promise<ActivePointer> {
    const cand = this.candidate();
    if (!cand) {
      throw new LabError(
        'LKL_ERR_KAPPA_NO_CANDIDATE',
        'There is no replay to switch readers to; start one with POST /api/kappa/replays {"logicVersion": N}.',
      );
    }
    if (cand.state !== 'caught-up') {
      const m = this.monitors.get(cand.id)?.last;
      throw new LabError(
        'LKL_ERR_KAPPA_NOT_CAUGHT_UP',
        `Replay job ${cand.id} has not caught up yet (${m ? (m.passedSnapshot ? `lag ${m.lag} events, under ${this.settings.catchUpLagThreshold} for ${m.heldMs} of ${this.settings.catchUpDwellMs} ms` : `partitions ${m.behindSnapshot.join(', ')} still below the snapshot`) : 'no progress measured yet'}); GET /api/kappa/jobs shows its progress and ETA.`,
        { details: { job: cand.id, catchUp: m ?? null } },
      );
    }
    const now = this.clock.now();
    const current = this.active ? this.jobs.get(this.active.job) : undefined;
    const changed: KappaJobRecord[] = [{ ...cand, state: 'live', activatedAt: now }];
    const stale: KappaJobRecord[] = [];
    if (current)
      changed.push({ ...current, state: 'grace', deactivatedAt: now, retireAt: now + this.settings.graceMs });
    // Only the job just replaced stays for rollback; an older one in grace goes now.
    for (const rec of this.jobs.values())
      if (rec.state === 'grace' && rec.id !== current?.id) stale.push(rec);
    const pointer: ActivePointer = {
      job: cand.id,
      logicVersion: cand.logicVersion,
      previous: current?.id ?? null,
      switchedAt: now,
    };
    await this.persist(changed, pointer);
    this.bus.emit(LAB_EVENTS.KAPPA_SWITCHOVER, now, {
      from: current?.id ?? null,
      to: cand.id,
      logicVersion: cand.logicVersion,
      how,
    });
    for (const rec of stale)
      await this.end(rec, 'retired', `replaced by a newer switchover to job ${cand.id}`);
    // The new live job continues with the live job's engine (main thread, one consumer).
    const runner = this.runners.get(cand.id);
    if (runner && runner.status.engine !== 'inline') {
      await runner.stop();
      this.runners.delete(cand.id);
      await this.startRunner(this.jobs.get(cand.id)!);
    }
    return { ...pointer };
  }

  /** Stops a job, marks it ended (persisted first, so workers stop too), then removes its data. */
  private async end(
    rec: KappaJobRecord,
    state: 'retired' | 'aborted',
    reason: string,
  ): Promise<KappaJobRecord> {
    const ended: KappaJobRecord = {
      ...rec,
      state,
      endedAt: this.clock.now(),
      endReason: `${reason} (cleanup pending)`,
      retireAt: null,
    };
    await this.persist([ended]);
    const runner = this.runners.get(rec.id);
    this.runners.delete(rec.id);
    await runner?.stop();
    this.monitors.delete(rec.id);
    this.cleanups.add(rec.id);
    await this.cleanup(rec.id).catch((err: Error) => (this.lastError = err.message));
    return { ...this.jobs.get(rec.id)! };
  }

  /** Removes the group (once no member is left), then the table and offsets; retried every tick. */
  private async cleanup(id: number): Promise<void> {
    const rec = this.jobs.get(id);
    if (!rec) return;
    await this.log.deleteGroup(rec.group); // refused while another process still has a member
    // Deleted after the group: no member is left that could write one more checkpoint.
    await deleteTable(this.store, id);
    await this.store.deleteOffsets(offsetsNamespace(id));
    this.cleanups.delete(id);
    await this.persist([{ ...rec, endReason: rec.endReason?.replace(' (cleanup pending)', '') ?? null }]);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private candidate(): KappaJobRecord | undefined {
    return [...this.jobs.values()].find((j) => j.state === 'replaying' || j.state === 'caught-up');
  }

  private replayParallelism(): number {
    return this.settings.replayParallelism > 0
      ? this.settings.replayParallelism
      : Math.max(1, availableParallelism());
  }

  private newRecord(
    id: number,
    logicVersion: number,
    state: KappaJobState,
    kind: 'initial' | 'replay',
  ): KappaJobRecord {
    return {
      id,
      logicVersion,
      group: `${this.groupPrefix}${id}`,
      state,
      kind,
      createdAt: this.clock.now(),
      snapshot: null,
      rateLimit: 0,
      parallelism: 1,
      force: false,
      warnings: [],
      caughtUpAt: null,
      activatedAt: null,
      deactivatedAt: null,
      retireAt: null,
      endedAt: null,
      endReason: null,
    };
  }

  private async persist(records: KappaJobRecord[], active?: ActivePointer): Promise<void> {
    await this.store.apply({ sets: registrySets(records, active) });
    for (const r of records) this.jobs.set(r.id, r);
    if (active) this.active = active;
  }

  private async startRunner(rec: KappaJobRecord): Promise<void> {
    if (this.runners.has(rec.id)) return;
    const logic = kappaLogic(rec.logicVersion);
    const s = this.settings;
    const policy = { maxOutOfOrderMs: s.maxOutOfOrderMs, allowedLatenessMs: s.allowedLatenessMs };
    const replaying = rec.state === 'replaying';
    const engine: ProcessingEngine =
      replaying && this.log.kind === 'embedded' && this.options.replayEngine
        ? this.options.replayEngine({
            job: rec,
            logicContext: this.ctx,
            settings: s,
            parallelism: rec.parallelism,
          })
        : new InlineEngine(logic, this.ctx, policy);
    const spec = { id: rec.id, logicVersion: rec.logicVersion, group: rec.group };
    if (replaying && this.log.kind === 'kafka' && this.options.threadConfig) {
      const threaded = new ThreadedJobRunner(spec, {
        config: this.options.threadConfig,
        threads: rec.parallelism,
        topic: this.options.topic,
        deadLetterTopic: this.deadLetters.topic,
        rateLimit: rec.rateLimit,
        runner: this.options.runner ?? 'lab',
      });
      this.runners.set(rec.id, threaded);
      try {
        await threaded.start();
      } catch (err) {
        this.runners.delete(rec.id);
        throw err;
      }
      return;
    }
    // The embedded log's directory lets a replay's worker threads read its history themselves
    // (unless rate-limited: then the consumer paces it).
    const logDir = (this.log as { logDir?: unknown }).logDir;
    const bulk: BulkSource | undefined =
      replaying && engine.scan && typeof logDir === 'string' && rec.snapshot && !(rec.rateLimit > 0)
        ? {
            ends: rec.snapshot,
            partitionDir: (p) => join(logDir, this.options.topic, String(p)),
            verifyChecksums: true,
            maxRecordBytes: EMBEDDED_LOG_DEFAULTS.maxRecordBytes,
          }
        : undefined;
    const runner = new KappaJobRunner(this.log, this.store, this.deadLetters, this.clock, this.bus, spec, {
      ...(bulk ? { bulk } : {}),
      topic: this.options.topic,
      checkpointIntervalMs: s.checkpointIntervalMs,
      consumers: replaying && this.log.kind === 'kafka' ? rec.parallelism : 1,
      rateLimit: replaying ? rec.rateLimit : 0,
      maxBatchRecords: s.maxBatchRecords,
      engine,
      runner: this.options.runner ?? 'lab',
    });
    this.runners.set(rec.id, runner);
    try {
      await runner.start();
    } catch (err) {
      this.runners.delete(rec.id);
      await engine.close().catch(() => undefined);
      throw err;
    }
  }

  private async jobView(
    rec: KappaJobRecord,
    ends: Array<{ partition: number; end: number }>,
  ): Promise<KappaJobView> {
    const running = RUNNING_STATES.has(rec.state);
    const m = this.monitors.get(rec.id);
    const stored = running ? await this.store.readOffsets(offsetsNamespace(rec.id)) : {};
    const runner = this.runners.get(rec.id);
    const local = new Map((runner?.positions() ?? []).map((p) => [p.partition, p.next]));
    const rates = new Map((m?.progress.rates() ?? []).map((r) => [r.partition, r]));
    const partitions: PartitionProgressView[] = running
      ? ends.map((e) => {
          const position = stored[e.partition] ?? 0;
          const snapshotEnd = rec.snapshot?.find((s) => s.partition === e.partition)?.end ?? null;
          const r = rates.get(e.partition);
          const lag = Math.max(0, e.end - position);
          return {
            partition: e.partition,
            position,
            processed: local.get(e.partition) ?? null,
            end: e.end,
            lag,
            snapshotEnd,
            progress:
              snapshotEnd === null ? null : snapshotEnd === 0 ? 1 : Math.min(1, position / snapshotEnd),
            rate: Math.round(r?.rate ?? 0),
            arrival: Math.round(r?.arrival ?? 0),
            etaMs: etaMs(lag, r?.rate ?? 0, r?.arrival ?? 0),
          };
        })
      : [];
    const etas = partitions.map((p) => p.etaMs);
    const counters = running
      ? await readMetaCounters(this.store, rec.id)
      : { processed: 0, counted: 0, late: 0, dropped: 0, invalid: 0, slowPath: 0 };
    return {
      ...rec,
      table: tableName(rec.id),
      active: this.active?.job === rec.id,
      lag: partitions.reduce((s, p) => s + p.lag, 0),
      rate: partitions.reduce((s, p) => s + p.rate, 0),
      etaMs: etas.length === 0 ? null : etas.some((e) => e === null) ? null : Math.max(...(etas as number[])),
      partitions,
      counters,
      catchUp: rec.state === 'replaying' ? (m?.last ?? null) : null,
      runner: runner?.status ?? null,
    };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.control.then(fn, fn);
    this.control = run.catch(() => undefined);
    return run;
  }
}
