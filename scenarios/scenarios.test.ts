import { describe, expect, it } from 'vitest';
import { loadScenarios } from './scenario-loader.js';
import { runScenario } from './scenario-runner.js';

/**
 * The lessons are checked against the runner's own recount (metricsSource: 'probe'), which does not
 * depend on the measurement service; runs from the CLI and the API read that service when the lab has it.
 * Every scenario in fast mode (virtual clock): the run completes, no action fails unexpectedly,
 * and every expectation passes — except expectations on metrics this lab does not measure
 * (unavailable), which must never be the scenario's only check.
 */
describe('teaching scenarios, fast mode', () => {
  for (const loaded of loadScenarios()) {
    it(`${loaded.scenario.id}: its expectations hold`, { timeout: 120_000 }, async () => {
      const r = await runScenario(loaded, { fast: true, metricsSource: 'probe' });
      expect(r.error).toBeNull();
      expect(r.state).toBe('completed');
      const failedActions = r.timeline.filter((e) => e.kind === 'action' && e.outcome === 'error');
      expect(failedActions, JSON.stringify(failedActions)).toEqual([]);
      expect(r.beats.length).toBe(loaded.scenario.narrative.length);
      const failed = r.verdicts.filter((v) => v.status === 'fail' || v.status === 'pending');
      expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
      expect(r.verdicts.filter((v) => v.status === 'pass').length).toBeGreaterThan(0);
      expect(r.passed).toBe(true);
    });
  }

  it('is deterministic for a seed', { timeout: 120_000 }, async () => {
    const loaded = loadScenarios().find((s) => s.scenario.id === 'speed-layer-crash')!;
    const a = await runScenario(loaded, { fast: true, seed: 77 });
    const b = await runScenario(loaded, { fast: true, seed: 77 });
    const pick = (r: typeof a) =>
      r.samples.map((s) => [
        s.t,
        s.values['recount.lambda.views.absError'],
        s.values['recount.speed.views.differ'],
        s.values['lab.speed.processed'],
      ]);
    expect(pick(a)).toEqual(pick(b));
    expect(a.samples.at(-1)!.values['recount.speed.views.differ']).toBeDefined();
  });
});
