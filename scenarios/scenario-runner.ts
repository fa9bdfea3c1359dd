import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../kernel/clock/virtual-clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { LabError, isLabError } from '../kernel/errors/lab-error.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import {
  addDerived,
  evaluate,
  select,
  tallyVerdicts,
  type Verdict,
  type VerdictTally,
} from './expectation-evaluator.js';
import { takeSample, type MetricValue, type ProbeState, type Sample } from './lab-probe.js';
import { runAction } from './scenario-actions.js';
import type { LabFactory, ScenarioLab } from './scenario-lab.js';
import { RunControl } from './run-control.js';
import { FastDriver, LiveDriver, type ScenarioDriver } from './scenario-driver.js';
import type { LoadedScenario, Scenario } from './scenario-types.js';
import { TruthTracker } from './truth-tracker.js';

/** Fast-mode runs start here on the virtual clock (a fixed start keeps them reproducible). */
export const FAST_START_MS = 1_800_000_000_000;
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

/** Builds the lab configuration of a run: base (or defaults) + the scenario's overrides + workload. */
export function scenarioConfig(
  loaded: LoadedScenario,
  opts: { fast: boolean; seed: number; dataDir: string; namespace: string; base?: Readonly<LabConfig> },
): Readonly<LabConfig> {
  const s = loaded.scenario;
  const user = (s.config ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const overrides: Record<string, unknown> = {
    ...user,
    dataDir: opts.dataDir,
    namespace: opts.namespace,
    server: { ...(user.server ?? {}), port: 0 },
    generator: {
      tickMs: 500,
      ...(user.generator ?? {}),
      rate: s.workload.rate,
      mode: s.workload.mode ?? 'live',
      seed: opts.seed,
      knobs: s.workload.knobs ?? {},
    },
    // windows close (for Kappa and for the measured correctness) 5 s after their end, not YSB's 60 s
    kappa: { replayParallelism: 1, allowedLatenessMs: 5000, ...(user.kappa ?? {}) },
  };
  const kappaLateness = (overrides.kappa as { allowedLatenessMs: number }).allowedLatenessMs;
  // The measurement compares a window once it is closed; it closes when Kappa's does, so that a
  // scenario of a minute or two has closed windows to judge (the lab's default is YSB's 60 s).
  overrides.measurement = { allowedLatenessMs: kappaLateness, ...(user.measurement ?? {}) };
  if (opts.base) {
    overrides.kafka = { ...opts.base.kafka };
    overrides.redis = { ...opts.base.redis };
  }
  try {
    return loadConfig({ env: {}, overrides });
  } catch (err) {
    throw new LabError(
      'LKL_ERR_SCENARIO_INVALID',
      `${loaded.file}: /config: ${isLabError(err) ? err.message : (err as Error).message}`,
      {
        cause: err,
        details: { problems: [{ file: loaded.file, path: '/config', reason: (err as Error).message }] },
      },
    );
  }
}

/** Refuses actions the mode cannot run, naming the file, the path and the reason. */
export function checkRunnable(loaded: LoadedScenario, mode: { fast: boolean; distributed: boolean }): void {
  const problems: Array<{ file: string; path: string; reason: string }> = [];
  loaded.scenario.timeline.forEach((t, i) => {
    if (t.action !== 'stop' && t.action !== 'start') return;
    if (mode.fast || !mode.distributed)
      problems.push({
        file: loaded.file,
        path: `/timeline/${i}/component`,
        reason: `"${t.action} ${t.component}" needs the real ${t.component === 'kafka' ? 'Kafka' : 'Redis'}: the embedded mode has no ${t.component} to ${t.action}, and fast mode cannot pace a real broker. Run it live against the local stack (KAFKA_BROKERS and REDIS_URL set, without --fast).`,
      });
  });
  if (problems.length)
    throw new LabError(
      'LKL_ERR_SCENARIO_INVALID',
      `Scenario ${loaded.scenario.id} cannot run in this mode:\n${problems.map((p) => `  ${p.file}: ${p.path}: ${p.reason}`).join('\n')}`,
      { details: { problems } },
    );
}

let runCounter = 0;
export function newRunId(scenarioId: string): string {
  runCounter++;
  return `${scenarioId}-${randomBytes(4).toString('hex')}${runCounter}`;
}

/**
 * Runs a scenario in a lab of its own (temporary data dir, or its own namespace on Kafka/Redis),
 * built by `createLab` (the composition root's, lab/create-lab.ts).
 */
export async function runScenario(
  loaded: LoadedScenario,
  createLab: LabFactory,
  options: RunOptions = {},
): Promise<ScenarioRunResult> {
  const s = loaded.scenario;
  const fast = options.fast ?? true;
  const seed = runSeed(loaded, options.seed);
  const runId = options.runId ?? newRunId(s.id);
  const distributed = Boolean(
    options.baseConfig && (options.baseConfig.kafka.brokers.length || options.baseConfig.redis.url),
  );
  checkRunnable(loaded, { fast, distributed: distributed && !fast });
  const dataDir = mkdtempSync(join(tmpdir(), `lklab-scenario-${s.id}-`));
  const config = configOrCleanUp(dataDir, () =>
    scenarioConfig(loaded, {
      fast,
      seed,
      dataDir,
      namespace: distributed && !fast ? `scn-${runId}` : '',
      ...(options.baseConfig && !fast ? { base: options.baseConfig } : {}),
    }),
  );
  const state = initialRunState(loaded, { runId, fast, seed });
  const samples: Sample[] = [];
  const update = (): void => {
    // a pause asked for while the lab starts counts at once (it takes effect when the run begins)
    if (!fast && options.control) state.paused = options.control.paused;
    options.onUpdate?.(structuredClone(state));
  };
  let lab: ScenarioLab | undefined;
  let truth: TruthTracker | undefined;
  let detachControl: (() => void) | undefined;
  let driver: ScenarioDriver | undefined;
  const t = (): number => (driver ? Math.round((driver.now() - driver.startedAt) / 10) / 100 : 0);
  try {
    const clock = fast ? new VirtualClock(FAST_START_MS, 100) : undefined;
    lab = await createLab(config, { ...(clock ? { clock, roles: { generator: false } } : {}) });
    truth = new TruthTracker(
      lab.services.log,
      AD_EVENTS_TOPIC,
      lab.services.reference,
      'lklab-scenario-truth',
    );
    await truth.start();
    if (clock) {
      const tick = config.generator.tickMs;
      // The generator ticks half a tick off the flush/checkpoint grid, so a flush never races an append.
      await clock.advance(Math.floor(tick / 2));
      lab.services.generator.start();
      driver = new FastDriver(lab, clock, truth, tick, clock.now(), options.signal);
      await driver.settle();
    } else {
      const control = options.control ?? new RunControl(true);
      const generator = lab.services.generator;
      let producing = false;
      control.onChange = (paused) => {
        state.paused = paused;
        state.timeline.push({
          t: t(),
          kind: 'action',
          name: paused ? 'pause' : 'resume',
          label: paused ? 'run paused' : 'run resumed',
          outcome: 'ok',
          detail: paused
            ? 'scenario time and the generator stand still; the layers drain the log'
            : producing
              ? 'scenario time and the generator run again'
              : 'scenario time runs again',
        });
        update();
      };
      detachControl = () => control.detach();
      driver = new LiveDriver(
        lab,
        lab.services.clock.now(),
        options.signal ?? new AbortController().signal,
        control,
      );
      await control.attach(lab.services.clock, {
        // the generator stops while the run is paused, so scenario time and the stream stand still together
        pause: async () => {
          producing = generator.status.running;
          await generator.stop();
        },
        resume: async () => {
          if (producing) generator.start();
        },
      });
    }
    const probe: ProbeState = {
      startedAt: driver.startedAt,
      truthLogicVersion: config.batch.logicVersion,
      closeMarginMs: s.measure?.closeMarginMs ?? 2000,
      actionsFailed: 0,
      lastErrorCode: null,
      lastReplayErrorCode: null,
      metricsSource: options.metricsSource ?? 'auto',
    };
    const run = driver;
    const unsubscribe = lab.services.bus.on('*', (e) => {
      if (
        e.name === 'speed.flush' ||
        e.name === 'kappa.checkpoint' ||
        e.name === 'batch.ingest.split' ||
        e.name === 'batch.run.phase'
      )
        return;
      state.timeline.push({
        t: Math.round((run.scenarioClock(e.at) - run.startedAt) / 10) / 100,
        kind: 'lab-event',
        name: e.name,
        label: labelOf(e.name, e.payload),
      });
    });
    let lastIntend = 0;
    const sample = async (): Promise<void> => {
      const x = await takeSample(lab!, truth!, probe);
      x.t = t(); // scenario seconds: a live run's pauses are left out
      samples.push(x);
      state.latest = x.values;
      state.progress.t = x.t;
      state.verdicts = s.expectations.map((e) => {
        const decided =
          e.at === 'end'
            ? false
            : typeof e.at === 'number'
              ? x.t >= e.at
              : e.at.to !== 'end' && x.t >= e.at.to;
        return decided && select(e, samples, s.duration).length
          ? evaluate(e, samples, s.duration)
          : { name: e.name, metric: e.metric, status: 'pending' as const, lesson: e.lesson };
      });
      update();
    };

    // Merge actions, beats and samples into one agenda, in time order (actions first at equal times).
    const every = s.measure?.sampleEvery ?? 5;
    type Step = { at: number; order: number; run: () => Promise<void> };
    const agenda: Step[] = [];
    s.timeline.forEach((item, i) =>
      agenda.push({
        at: item.at,
        order: i,
        run: async () => {
          const out = await runAction(item, {
            lab: lab!,
            driver: run,
            setTruthLogic: (v) => {
              probe.truthLogicVersion = v;
              lastIntend = t();
            },
          });
          if (out.outcome === 'error') probe.actionsFailed++;
          if (out.errorCode) probe.lastErrorCode = out.errorCode;
          if (item.action === 'replay') probe.lastReplayErrorCode = out.errorCode ?? null;
          state.timeline.push({
            t: t(),
            kind: 'action',
            name: item.action,
            label: item.label ?? describe(item),
            outcome: out.outcome,
            detail: out.detail,
          });
          await run.settle();
          await sample();
        },
      }),
    );
    s.narrative.forEach((b, i) =>
      agenda.push({
        at: b.at,
        order: 10_000 + i,
        run: async () => {
          state.beats.push({ t: t(), text: b.text });
          update();
        },
      }),
    );
    for (let x = every; x < s.duration; x += every) agenda.push({ at: x, order: 20_000, run: sample });
    agenda.sort((a, b) => a.at - b.at || a.order - b.order);

    await sample();
    for (const step of agenda) {
      options.signal?.throwIfAborted();
      await run.runTo(run.startedAt + Math.round(step.at * 1000));
      await step.run();
    }
    await run.runTo(run.startedAt + s.duration * 1000);
    await sample();
    unsubscribe();
    addDerived(samples, lastIntend);
    state.latest = samples.at(-1)!.values;
    state.verdicts = s.expectations.map((e) => evaluate(e, samples, s.duration));
    state.tally = tallyVerdicts(state.verdicts);
    state.passed = state.verdicts.every((v) => v.status === 'pass');
    state.state = 'completed';
  } catch (err) {
    state.state = 'failed';
    state.error = isLabError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
    state.passed = false;
  } finally {
    detachControl?.();
    await truth?.stop().catch(() => undefined);
    await lab?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    state.finishedAt = new Date().toISOString();
    update();
  }
  return { ...state, samples };
}

function configOrCleanUp(dataDir: string, build: () => Readonly<LabConfig>): Readonly<LabConfig> {
  try {
    return build();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

function describe(item: Scenario['timeline'][number]): string {
  const { at: _at, label: _label, expectError: _e, action, ...rest } = item;
  const args = Object.entries(rest)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return args ? `${action} ${args}` : action;
}

function labelOf(name: string, p: Record<string, unknown>): string {
  const bits = ['job', 'logicVersion', 'layer', 'point', 'version', 'id', 'from', 'to']
    .filter((k) => p[k] !== undefined && typeof p[k] !== 'object')
    .map((k) => `${k} ${String(p[k])}`);
  return bits.length ? `${name} (${bits.join(', ')})` : name;
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
