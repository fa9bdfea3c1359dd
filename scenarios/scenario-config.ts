/** A scenario run's lab configuration, and the check that the run's mode can run its actions. */
import { rmSync } from 'node:fs';
import type { LabConfig } from '../kernel/config/defaults.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { LabError, isLabError } from '../kernel/errors/lab-error.js';
import type { LoadedScenario } from './scenario-types.js';

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

/** Builds the configuration; on failure removes the run's data directory. */
export function configOrCleanUp(dataDir: string, build: () => Readonly<LabConfig>): Readonly<LabConfig> {
  try {
    return build();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
