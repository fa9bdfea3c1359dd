import type { LabConfig } from '../kernel/config/defaults.js';
import { LabError, isLabError } from '../kernel/errors/lab-error.js';
import {
  checkRunnable,
  initialRunState,
  newRunId,
  runScenario,
  runSeed,
  type ScenarioRunState,
} from './scenario-runner.js';
import { RunControl } from './run-control.js';
import type { LabFactory } from './scenario-lab.js';
import type { LoadedScenario } from './scenario-types.js';

type Mode = 'live' | 'fast';

/** Seconds a client is told to wait (Retry-After) when the queue is full and no live run can tell. */
const FAST_RETRY_AFTER_S = 10;
const MIN_RETRY_AFTER_S = 5;

interface Entry {
  runId: string;
  mode: Mode;
  loaded: LoadedScenario;
  seed: number | undefined;
  control: RunControl;
  abort: AbortController;
  cancelled: boolean;
  done?: Promise<void>;
}

/**
 * The scenario runs a server started, kept in memory (the API reads them). Each run is a lab of its
 * own inside this process, so they are bounded (docs/limits.md): at most `scenarios.maxLiveRuns`
 * live and `scenarios.maxFastRuns` fast runs at once; further runs wait in a FIFO queue (state
 * `queued`, `position` 1 = next of its mode) of at most `scenarios.maxQueuedRuns`; past that, start()
 * throws LKL_ERR_SCENARIO_QUEUE_FULL (429 with Retry-After). A queued or running run can be cancelled.
 */
export class ScenarioRuns {
  private readonly runs = new Map<string, ScenarioRunState>();
  private readonly queue: Entry[] = [];
  private readonly running = new Map<string, Entry>();
  private readonly limits: Readonly<LabConfig['scenarios']>;
  private closing = false;

  constructor(
    private readonly baseConfig: Readonly<LabConfig>,
    private readonly createLab: LabFactory,
  ) {
    this.limits = baseConfig.scenarios;
  }

  /** Starts a run, or queues it; returns its first state at once. Mode problems and a full queue throw here. */
  start(loaded: LoadedScenario, opts: { fast: boolean; seed?: number | undefined }): ScenarioRunState {
    const distributed = this.baseConfig.kafka.brokers.length > 0 || this.baseConfig.redis.url !== '';
    checkRunnable(loaded, { fast: opts.fast, distributed: distributed && !opts.fast });
    const mode: Mode = opts.fast ? 'fast' : 'live';
    if (this.closing)
      throw new LabError(
        'LKL_ERR_SCENARIO_QUEUE_FULL',
        'The server is shutting down and starts no scenario run; start the run on the lab once it is back.',
        { details: { retryAfterS: MIN_RETRY_AFTER_S } },
      );
    const free = this.runningOf(mode) < this.slots(mode) && !this.queue.some((e) => e.mode === mode);
    if (!free && this.queue.length >= this.limits.maxQueuedRuns) {
      const retryAfterS = this.retryAfter(mode);
      throw new LabError(
        'LKL_ERR_SCENARIO_QUEUE_FULL',
        `Scenario runs are bounded: ${this.runningOf(mode)} ${mode} run(s) are running (scenarios.max${mode === 'live' ? 'Live' : 'Fast'}Runs = ${this.slots(mode)}) and ${this.queue.length} wait (scenarios.maxQueuedRuns = ${this.limits.maxQueuedRuns}). Retry in ${retryAfterS} s, or cancel a run with DELETE /api/scenarios/runs/:runId (GET /api/scenarios/runs lists them).`,
        {
          details: {
            mode,
            running: this.runningOf(mode),
            queued: this.queue.length,
            maxQueuedRuns: this.limits.maxQueuedRuns,
            retryAfterS,
          },
        },
      );
    }
    const runId = newRunId(loaded.scenario.id);
    const entry: Entry = {
      runId,
      mode,
      loaded,
      seed: opts.seed,
      control: new RunControl(!opts.fast),
      abort: new AbortController(),
      cancelled: false,
    };
    this.runs.set(
      runId,
      initialRunState(loaded, { runId, fast: opts.fast, seed: runSeed(loaded, opts.seed) }),
    );
    if (free) this.launch(entry);
    else {
      this.queue.push(entry);
      this.runs.set(runId, { ...this.runs.get(runId)!, state: 'queued' });
      this.renumber();
    }
    this.prune();
    return this.runs.get(runId)!;
  }

  get(runId: string): ScenarioRunState | undefined {
    return this.runs.get(runId);
  }

  /** Every kept run, newest first. */
  list(): ScenarioRunState[] {
    return [...this.runs.values()].reverse();
  }

  /** Runs running and waiting now, by mode. */
  counts(): { running: Record<Mode, number>; queued: number } {
    return {
      running: { live: this.runningOf('live'), fast: this.runningOf('fast') },
      queued: this.queue.length,
    };
  }

  /**
   * Pauses (or resumes) a live run that is queued or running and answers its state; a fast or finished
   * run is LKL_ERR_SCENARIO_RUN_NOT_PAUSABLE. Undefined when the run is unknown.
   */
  async setPaused(runId: string, paused: boolean): Promise<ScenarioRunState | undefined> {
    if (!this.runs.has(runId)) return undefined;
    const entry = this.running.get(runId) ?? this.queue.find((e) => e.runId === runId);
    const control = entry && entry.mode === 'live' ? entry.control : new RunControl(false);
    if (paused) await control.pause(runId);
    else await control.resume(runId);
    const state = { ...this.runs.get(runId)!, paused: control.paused };
    this.runs.set(runId, state);
    return state;
  }

  /**
   * Cancels a queued run (it never starts) or a running one (its lab is stopped and its data removed;
   * resolves once that is done). Answers the run's state ('cancelled'); a run cancelled already
   * answers its state again; a completed or failed run is LKL_ERR_SCENARIO_RUN_FINISHED. Undefined
   * when the run is unknown.
   */
  async cancel(runId: string): Promise<ScenarioRunState | undefined> {
    const state = this.runs.get(runId);
    if (!state) return undefined;
    if (state.state === 'cancelled') return state;
    const i = this.queue.findIndex((e) => e.runId === runId);
    if (i >= 0) {
      this.queue.splice(i, 1);
      const { position: _position, ...rest } = state;
      const cancelled = this.cancelledState(rest);
      this.runs.set(runId, cancelled);
      this.renumber();
      return cancelled;
    }
    const entry = this.running.get(runId);
    if (!entry)
      throw new LabError(
        'LKL_ERR_SCENARIO_RUN_FINISHED',
        `Scenario run "${runId}" has already ${state.state}; there is nothing to cancel. GET /api/scenarios/runs/${runId} shows its result.`,
        { details: { runId, state: state.state } },
      );
    entry.cancelled = true;
    entry.abort.abort(new Error('cancelled'));
    await entry.done;
    return this.runs.get(runId);
  }

  /** Drops the queue, cancels the running runs and waits for their labs to close. */
  async close(): Promise<void> {
    this.closing = true;
    for (const e of this.queue.splice(0))
      this.runs.set(e.runId, this.cancelledState(this.runs.get(e.runId)!));
    const running = [...this.running.values()];
    for (const e of running) {
      e.cancelled = true;
      e.abort.abort(new Error('server shutting down'));
    }
    await Promise.allSettled(running.map((e) => e.done));
  }

  private launch(entry: Entry): void {
    const { runId, loaded } = entry;
    const fast = entry.mode === 'fast';
    this.running.set(runId, entry);
    const first = this.runs.get(runId)!;
    const { position: _position, ...rest } = first;
    this.runs.set(runId, { ...rest, state: 'running', startedAt: new Date().toISOString() });
    const finish = (st: ScenarioRunState): void => {
      this.runs.set(runId, entry.cancelled ? this.cancelledState(st) : st);
    };
    entry.done = runScenario(loaded, this.createLab, {
      fast,
      ...(entry.seed !== undefined ? { seed: entry.seed } : {}),
      baseConfig: this.baseConfig,
      runId,
      signal: entry.abort.signal,
      control: entry.control,
      // a cancelled run shows 'running' while its lab closes, then 'cancelled'
      onUpdate: (st) => {
        if (!entry.cancelled || st.finishedAt === null) this.runs.set(runId, st);
      },
    })
      .then((r) => {
        const { samples: _samples, ...st } = r;
        finish(st);
      })
      .catch((err: unknown) => {
        const cur = this.runs.get(runId) ?? first;
        finish({
          ...cur,
          state: 'failed',
          passed: false,
          error: isLabError(err) ? `${err.code}: ${err.message}` : (err as Error).message,
          finishedAt: new Date().toISOString(),
        });
      })
      .finally(() => {
        this.running.delete(runId);
        entry.control.detach();
        this.dispatch();
      });
  }

  /** Starts the queued runs a freed slot allows, oldest first per mode. */
  private dispatch(): void {
    if (this.closing) return;
    for (const mode of ['live', 'fast'] as const) {
      while (this.runningOf(mode) < this.slots(mode)) {
        const i = this.queue.findIndex((e) => e.mode === mode);
        if (i < 0) break;
        this.launch(this.queue.splice(i, 1)[0]!);
      }
    }
    this.renumber();
  }

  private renumber(): void {
    const seen: Record<Mode, number> = { live: 0, fast: 0 };
    for (const e of this.queue) {
      const st = this.runs.get(e.runId);
      if (st) this.runs.set(e.runId, { ...st, position: ++seen[e.mode] });
    }
  }

  /** Keeps at most scenarios.keepRuns finished runs (queued and running ones are always kept). */
  private prune(): void {
    let excess = this.runs.size - this.limits.keepRuns;
    for (const [id, st] of this.runs) {
      if (excess <= 0) break;
      if (st.state === 'queued' || st.state === 'running') continue;
      this.runs.delete(id);
      excess--;
    }
  }

  private cancelledState(st: ScenarioRunState): ScenarioRunState {
    const { position: _position, ...rest } = st;
    return {
      ...rest,
      state: 'cancelled',
      passed: null,
      error: null,
      paused: false,
      finishedAt: st.finishedAt ?? new Date().toISOString(),
    };
  }

  private slots(mode: Mode): number {
    return mode === 'live' ? this.limits.maxLiveRuns : this.limits.maxFastRuns;
  }

  private runningOf(mode: Mode): number {
    let n = 0;
    for (const e of this.running.values()) if (e.mode === mode) n++;
    return n;
  }

  /** Until the soonest running run of the mode may end: a live run's remaining scenario seconds. */
  private retryAfter(mode: Mode): number {
    if (mode === 'fast') return FAST_RETRY_AFTER_S;
    let soonest = Infinity;
    for (const e of this.running.values()) {
      if (e.mode !== 'live') continue;
      const p = this.runs.get(e.runId)?.progress;
      if (p) soonest = Math.min(soonest, p.duration - p.t);
    }
    return Math.max(MIN_RETRY_AFTER_S, Math.ceil(Number.isFinite(soonest) ? soonest : FAST_RETRY_AFTER_S));
  }
}
