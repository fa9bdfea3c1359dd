import { describe, expect, it } from 'vitest';
import { evaluate } from './expectation-evaluator.js';
import type { Sample } from './lab-probe.js';
import { loadScenarios } from './scenario-loader.js';
import { createLab } from '../lab/create-lab.js';
import { projectRoot } from '../kernel/util/project-root.js';
import { codeFigures, LOGIC_CODEBASES } from '../measurement/maintenance-cost.js';
import { runScenario, type ScenarioRunResult } from './scenario-runner.js';
import type { Expectation } from './scenario-types.js';

/**
 * Every scenario in fast mode (virtual clock), decided on the lab's measurement service — the
 * numbers the dashboard and the reports show (metricsSource 'auto', as the CLI and the API run them):
 * the run completes, no action fails unexpectedly, every sample came from the measurement service,
 * and every expectation is decided on a real value (none is not measured) and passes.
 *
 * The runner's own recount (recount.*: its truth from the log in memory, the layers' answers through
 * GET /api/views, windows closed by the clock) shares no code with the measurement (DuckDB truth,
 * the layers' stores, windows closed by the oracle's watermark). It is kept as a cross-check: each
 * expectation on correctness.* decided on the recount's figures must reach the same verdict.
 */
const recountOf = (metric: string): string => metric.replace(/^correctness\./, 'recount.');

function crossCheck(r: ScenarioRunResult, expectations: Expectation[], duration: number): string[] {
  const last: Sample = r.samples.at(-1)!;
  const problems: string[] = [];
  for (const e of expectations) {
    if (!e.metric.startsWith('correctness.')) continue;
    const metric = recountOf(e.metric);
    if (!(metric in last.values)) continue; // a field only the measurement has (signedError, from, to)
    const onRecount = evaluate(
      { ...e, metric, ...(e.than !== undefined ? { than: recountOf(e.than) } : {}) },
      r.samples,
      duration,
    );
    const measured = r.verdicts.find((v) => v.name === e.name)!;
    if (onRecount.status !== measured.status)
      problems.push(
        `${e.name}: measured ${measured.status} (${measured.detail}) but the recount ${onRecount.status} (${onRecount.detail})`,
      );
  }
  return problems;
}

describe('teaching scenarios, fast mode, on the measurement service', () => {
  for (const loaded of loadScenarios()) {
    const s = loaded.scenario;
    it(`${s.id}: its expectations hold on measured values`, { timeout: 120_000 }, async () => {
      const r = await runScenario(loaded, createLab, { fast: true });
      expect(r.error).toBeNull();
      expect(r.state).toBe('completed');
      const failedActions = r.timeline.filter((e) => e.kind === 'action' && e.outcome === 'error');
      expect(failedActions, JSON.stringify(failedActions)).toEqual([]);
      expect(r.beats.length).toBe(s.narrative.length);
      expect(new Set(r.samples.map((x) => x.source))).toEqual(new Set(['measurement']));
      const notPassed = r.verdicts.filter((v) => v.status !== 'pass');
      expect(notPassed, JSON.stringify(notPassed, null, 1)).toEqual([]);
      expect(r.verdicts).toHaveLength(s.expectations.length);
      expect(r.passed).toBe(true);
      // correctness figures are measured over closed windows only: a run that never closed one
      // would make every "== 1" expectation not-measured, not pass
      const end = r.samples.at(-1)!.values;
      expect(end['correctness.lambda.views.windows']).toBeGreaterThan(0);
      expect(end['correctness.kappa.views.windows']).toBeGreaterThan(0);
      expect(crossCheck(r, s.expectations, s.duration)).toEqual([]);
    });
  }

  it('decides the logic change on measured maintenance figures', { timeout: 120_000 }, async () => {
    const loaded = loadScenarios().find((x) => x.scenario.id === 'logic-change')!;
    const r = await runScenario(loaded, createLab, { fast: true });
    const end = r.samples.at(-1)!.values;
    const lines = r.verdicts.find((v) => v.metric === 'maintenance.lambda.linesChangedV1toV2')!;
    expect(lines.status).toBe('pass');
    expect(lines.source).toBe('measurement');
    // the v1 → v2 diff of batch-layer/logic/v*.sql + speed-layer/logic/v*.ts vs kappa-reprocessor/logic/v*.ts
    expect(end['maintenance.lambda.linesChangedV1toV2']).toBeGreaterThan(0);
    expect(end['maintenance.kappa.linesChangedV1toV2']).toBeGreaterThan(0);
    expect(lines.observed.at(-1)).toEqual({
      t: r.samples.at(-1)!.t,
      value: end['maintenance.lambda.linesChangedV1toV2'],
      against: end['maintenance.kappa.linesChangedV1toV2'],
    });
    expect(end['maintenance.lambda.implementations']).toBe(2);
    expect(end['maintenance.kappa.implementations']).toBe(1);
  });

  it(
    'decides the join change (v3) on the measured v2 → v3 lines of each architecture',
    { timeout: 120_000 },
    async () => {
      const loaded = loadScenarios().find((x) => x.scenario.id === 'logic-change-v3')!;
      const r = await runScenario(loaded, createLab, { fast: true });
      const end = r.samples.at(-1)!.values;
      // the files on disk, counted as the measurement counts them
      const step = (arch: 'lambda' | 'kappa', from: number): number =>
        codeFigures(projectRoot(), LOGIC_CODEBASES[arch], {}).linesChanged.find((x) => x.from === from)!
          .lines;
      expect(end['maintenance.lambda.linesChangedV2toV3']).toBe(step('lambda', 2));
      expect(end['maintenance.kappa.linesChangedV2toV3']).toBe(step('kappa', 2));
      expect(end['maintenance.lambda.linesChangedV1toV2']).toBe(step('lambda', 1));
      expect(step('lambda', 2)).toBeGreaterThan(step('kappa', 2));
      const lines = r.verdicts.find((v) => v.metric === 'maintenance.lambda.linesChangedV2toV3')!;
      expect(lines.status).toBe('pass');
      // Lambda deployed twice (batch and speed), Kappa replayed once; all of it on v3 at the end
      const actions = r.timeline.filter((e) => e.kind === 'action');
      expect(actions.filter((e) => e.name === 'replay' && e.outcome === 'ok')).toHaveLength(1);
      expect(actions.filter((e) => e.name === 'deploy' && e.outcome === 'ok')).toHaveLength(2);
      expect(end['lab.batch.logicVersion']).toBe(3);
      expect(end['lab.speed.logicVersion']).toBe(3);
      expect(end['lab.kappa.activeLogicVersion']).toBe(3);
      expect(end['correctness.lambda.views.correctShare']).toBe(1);
      expect(end['correctness.kappa.views.correctShare']).toBe(1);
    },
  );

  it('is deterministic for a seed, measured figures included', { timeout: 120_000 }, async () => {
    const loaded = loadScenarios().find((s) => s.scenario.id === 'speed-layer-crash')!;
    const a = await runScenario(loaded, createLab, { fast: true, seed: 77 });
    const b = await runScenario(loaded, createLab, { fast: true, seed: 77 });
    // Latency and compute figures are left out: a flush or checkpoint that takes more real time than
    // the virtual clock waits for a woken task stamps a later virtual time (docs/scenarios.md).
    const pick = (r: ScenarioRunResult) =>
      r.samples.map((x) => [
        x.t,
        Object.entries(x.values).filter(
          ([k]) =>
            k.startsWith('correctness.') ||
            k.startsWith('recount.') ||
            ['closedBefore', 'ingested', 'batchBoundaryLagMs', 'lab.speed.processed'].includes(k),
        ),
      ]);
    expect(pick(a)).toEqual(pick(b));
    // The speed layer's windows are measured while it holds them; by the 120 s end the batch layer
    // covers them all and the speed layer has expired them, so look across the run, not at its end.
    expect(a.samples.some((x) => Number(x.values['correctness.speed.views.windows']) > 0)).toBe(true);
    expect(a.samples.some((x) => Number(x.values['correctness.speed.views.differ']) > 0)).toBe(true);
  });
});
