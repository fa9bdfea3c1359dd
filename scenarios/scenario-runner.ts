/** Runs one scenario: builds its lab, drives the timeline and the actions, samples, judges the expectations. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../kernel/clock/virtual-clock.js';
import { isLabError } from '../kernel/errors/lab-error.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { addDerived, evaluate, select, tallyVerdicts } from './expectation-evaluator.js';
import { takeSample, type ProbeState, type Sample } from './lab-probe.js';
import { runAction } from './scenario-actions.js';
import type { LabFactory, ScenarioLab } from './scenario-lab.js';
import { RunControl } from './run-control.js';
import { FastDriver, LiveDriver, type ScenarioDriver } from './scenario-driver.js';
import type { LoadedScenario, Scenario } from './scenario-types.js';
import { TruthTracker } from './truth-tracker.js';
import { checkRunnable, configOrCleanUp, scenarioConfig } from './scenario-config.js';
import {
  initialRunState,
  newRunId,
  runSeed,
  type RunOptions,
  type ScenarioRunResult,
} from './scenario-run-state.js';

export { checkRunnable, scenarioConfig } from './scenario-config.js';
export {
  initialRunState,
  newRunId,
  runSeed,
  type PendingVerdict,
  type RunOptions,
  type ScenarioRunResult,
  type ScenarioRunState,
  type TimelineEntry,
} from './scenario-run-state.js';

/** Fast-mode runs start here on the virtual clock (a fixed start keeps them reproducible). */
export const FAST_START_MS = 1_800_000_000_000;

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
