/**
 * A scenario run's state as the API and the report show it: the run options, the state (beats,
 * timeline, verdicts, tally), its first value before the first step, the run id and the seed.
 */
import { randomBytes } from 'node:crypto';
import type { LabConfig } from '../kernel/config/defaults.js';
import type { Verdict, VerdictTally } from './expectation-evaluator.js';
import type { MetricValue, Sample } from './lab-probe.js';
import type { RunControl } from './run-control.js';
import type { LoadedScenario } from './scenario-types.js';

const DEFAULT_SEED = 42;

export interface RunOptions {
  /** virtual clock, deterministic for a seed (default) — or live: real time, for the dashboard */
  fast?: boolean;
  seed?: number;
  /** the lab configuration the scenario's overrides apply to (its Kafka/Redis make the run distributed) */
  baseConfig?: Readonly<LabConfig>;
  /** run id (also names the namespace on shared Kafka/Redis) */
  runId?: string;
  /** called whenever the run's state changes (a beat, an action, a sample, a verdict) */
  onUpdate?: (state: ScenarioRunState) => void;
  signal?: AbortSignal;
  /**
   * Where correctness.*, latency.*, batchBoundaryLagMs and maintenance.* come from: auto = the lab's
   * measurement service when it has one (else the runner's recount); probe = always the runner's recount.
   */
  metricsSource?: 'auto' | 'probe';
  /** pauses and resumes a live run (the API's pause/resume routes); a fast run ignores it */
  control?: RunControl;
}

export interface TimelineEntry {
  /** seconds since the start */
  t: number;
  kind: 'action' | 'lab-event';
  name: string;
  label: string;
  outcome?: 'ok' | 'refused' | 'error';
  detail?: string;
}

/** What GET /api/scenarios/runs/:runId answers (see docs/scenarios.md); the report adds `samples`. */
export interface ScenarioRunState {
  runId: string;
  scenarioId: string;
  title: string;
  goal: string;
  mode: 'fast' | 'live';
  seed: number;
  /** queued: waiting for a free run slot (the API's queue, `position`); cancelled: DELETE /api/scenarios/runs/:runId */
  state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  /** while queued: 1 = the next run of its mode to start (scenarios/scenario-runs.ts) */
  position?: number;
  /** a live run paused by POST /api/scenarios/runs/:runId/pause (its scenario time stands still) */
  paused: boolean;
  /** seconds of scenario time done, of `duration` */
  progress: { t: number; duration: number };
  /** narrative beats reached so far */
  beats: Array<{ t: number; text: string }>;
  timeline: TimelineEntry[];
  /** one per expectation: pending until its time range is over */
  verdicts: Array<Verdict | PendingVerdict>;
  /** every verdict passed (a failed or not-measured one fails the run); null while running */
  passed: boolean | null;
  /** passed / failed / not measured verdicts once the run is over; null while running */
  tally: VerdictTally | null;
  /** the last sample's metrics */
  latest: Record<string, MetricValue> | null;
  error: string | null;
  /** wall-clock ISO times of the run itself */
  startedAt: string;
  finishedAt: string | null;
}

export interface PendingVerdict {
  name: string;
  metric: string;
  status: 'pending';
  lesson: string | undefined;
}

export interface ScenarioRunResult extends ScenarioRunState {
  samples: Sample[];
}

let runCounter = 0;
export function newRunId(scenarioId: string): string {
  runCounter++;
  return `${scenarioId}-${randomBytes(4).toString('hex')}${runCounter}`;
}

/** A run's state before its first step: every expectation pending. The API answers it at once. */
export function initialRunState(
  loaded: LoadedScenario,
  opts: { runId: string; fast: boolean; seed: number },
): ScenarioRunState {
  const s = loaded.scenario;
  return {
    runId: opts.runId,
    scenarioId: s.id,
    title: s.title,
    goal: s.goal,
    mode: opts.fast ? 'fast' : 'live',
    seed: opts.seed,
    state: 'running',
    paused: false,
    progress: { t: 0, duration: s.duration },
    beats: [],
    timeline: [],
    verdicts: s.expectations.map((e) => ({
      name: e.name,
      metric: e.metric,
      status: 'pending',
      lesson: e.lesson,
    })),
    passed: null,
    tally: null,
    latest: null,
    error: null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
  };
}

/** The seed a run uses: the caller's, else the scenario's, else DEFAULT_SEED. */
export function runSeed(loaded: LoadedScenario, seed?: number): number {
  return seed ?? loaded.scenario.seed ?? DEFAULT_SEED;
}
