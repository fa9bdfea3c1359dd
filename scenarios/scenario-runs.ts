import { setMaxListeners } from 'node:events';
import type { LabConfig } from '../kernel/config/defaults.js';
import { isLabError } from '../kernel/errors/lab-error.js';
import {
  checkRunnable,
  initialRunState,
  newRunId,
  runScenario,
  runSeed,
  type ScenarioRunState,
} from './scenario-runner.js';
import { RunControl } from './run-control.js';
import type { LoadedScenario } from './scenario-types.js';

const KEEP = 50;

/** The scenario runs a server started, kept in memory (the API reads them). */
export class ScenarioRuns {
  private readonly runs = new Map<string, ScenarioRunState>();
  private readonly controls = new Map<string, RunControl>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();

  constructor(private readonly baseConfig: Readonly<LabConfig>) {
    // every live run sleeps on this signal: as many listeners as runs in progress, each removed when its sleep ends
    setMaxListeners(0, this.abort.signal);
  }

  /** Starts a run in the background; returns its first state at once. Mode problems throw here. */
  start(loaded: LoadedScenario, opts: { fast: boolean; seed?: number | undefined }): ScenarioRunState {
    const distributed = this.baseConfig.kafka.brokers.length > 0 || this.baseConfig.redis.url !== '';
    checkRunnable(loaded, { fast: opts.fast, distributed: distributed && !opts.fast });
    const runId = newRunId(loaded.scenario.id);
    const first = initialRunState(loaded, { runId, fast: opts.fast, seed: runSeed(loaded, opts.seed) });
    this.runs.set(runId, first);
    while (this.runs.size > KEEP) this.runs.delete(this.runs.keys().next().value!);
    const control = new RunControl(!opts.fast);
    if (!opts.fast) this.controls.set(runId, control);
    const p = runScenario(loaded, {
      fast: opts.fast,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      baseConfig: this.baseConfig,
      runId,
      signal: this.abort.signal,
      control,
      onUpdate: (st) => this.runs.set(runId, st),
    })
      .then((r) => {
        const { samples: _samples, ...st } = r;
        this.runs.set(runId, st);
      })
      .catch((err: unknown) => {
        const cur = this.runs.get(runId) ?? first;
        this.runs.set(runId, {
          ...cur,
          state: 'failed',
          passed: false,
          error: isLabError(err) ? `${err.code}: ${err.message}` : (err as Error).message,
          finishedAt: new Date().toISOString(),
        });
      })
      .finally(() => {
        this.pending.delete(p);
        this.controls.delete(runId);
      });
    this.pending.add(p);
    return first;
  }

  get(runId: string): ScenarioRunState | undefined {
    return this.runs.get(runId);
  }

  /** Every kept run, newest first. */
  list(): ScenarioRunState[] {
    return [...this.runs.values()].reverse();
  }

  /**
   * Pauses (or resumes) a live run that is still running and answers its state; a fast or finished
   * run is LKL_ERR_SCENARIO_RUN_NOT_PAUSABLE. Undefined when the run is unknown.
   */
  async setPaused(runId: string, paused: boolean): Promise<ScenarioRunState | undefined> {
    if (!this.runs.has(runId)) return undefined;
    const control = this.controls.get(runId) ?? new RunControl(false);
    if (paused) await control.pause(runId);
    else await control.resume(runId);
    const state = { ...this.runs.get(runId)!, paused: control.paused };
    this.runs.set(runId, state);
    return state;
  }

  /** Aborts live runs and waits for every run to clean up. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.pending]);
  }
}
