import type { LabConfig } from '../kernel/config/defaults.js';
import type { ScenarioService, ScenarioSummary } from '../serving-layer/scenario-service.js';
import type { LabFactory } from './scenario-lab.js';
import { findScenario, loadScenarios } from './scenario-loader.js';
import { ScenarioRuns } from './scenario-runs.js';

/**
 * The scenario service behind /api/scenarios: the scenario files and the bounded runs of a server,
 * each run in a lab of its own that `createLab` builds.
 */
export function createScenarioService(
  baseConfig: Readonly<LabConfig>,
  createLab: LabFactory,
): ScenarioService {
  const runs = new ScenarioRuns(baseConfig, createLab);
  return {
    scenarios: (): ScenarioSummary[] =>
      loadScenarios().map(({ scenario: s }) => ({
        id: s.id,
        title: s.title,
        goal: s.goal.trim(),
        duration: s.duration,
        actions: s.timeline.length,
        expectations: s.expectations.length,
        needsInfrastructure: s.timeline.some((t) => t.action === 'stop' || t.action === 'start'),
      })),
    start: (scenarioId, opts) => runs.start(findScenario(scenarioId), opts),
    list: () => runs.list(),
    get: (runId) => runs.get(runId),
    setPaused: (runId, paused) => runs.setPaused(runId, paused),
    cancel: (runId) => runs.cancel(runId),
    close: () => runs.close(),
  };
}
