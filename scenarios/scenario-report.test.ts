import { describe, expect, it } from 'vitest';
import { renderHtml } from './scenario-report.js';
import type { ScenarioRunResult } from './scenario-runner.js';

const result = {
  title: 'T',
  scenarioId: 's',
  runId: 'r',
  mode: 'fast',
  seed: 1,
  startedAt: '2026-01-01T00:00:00Z',
  goal: 'g',
  passed: true,
  state: 'completed',
  progress: { duration: 60 },
  verdicts: [],
  beats: [],
  timeline: [{ kind: 'action', t: 20, label: 'crash the speed layer', outcome: 'ok', detail: '' }],
  samples: [
    { t: 0, values: { batchBoundaryLagMs: 0, 'correctness.lambda.views.correctShare': 1 } },
    { t: 30, values: { batchBoundaryLagMs: 4000, 'correctness.lambda.views.correctShare': 0.5 } },
  ],
} as unknown as ScenarioRunResult;

describe('scenario report charts', () => {
  const html = renderHtml(result);
  it('have axis labels with units, ticks and labelled timeline marks', () => {
    expect(html).toContain('>scenario time (s)</text>');
    expect(html).toContain('class="axis-label">ms</text>');
    expect(html).toContain('class="axis-label">share (0–1)</text>');
    expect(html.match(/class="tick">4000</g)).toHaveLength(1);
    expect(html).toContain('class="tick">0.5<');
    expect(html).toContain('class="tick">60<');
    expect(html).toContain('class="mark">crash the speed layer</text>');
  });
  it('is self-contained', () => {
    expect(html).not.toMatch(/(src|href)="https?:/);
  });
  it('draw the sketch error beside its theoretical σ', () => {
    const sketch = renderHtml({
      ...result,
      samples: [0, 30].map((t) => ({
        t,
        values: {
          'correctness.speed.distinct_users.relError': 0.005,
          'correctness.speed.distinct_users.sketch.rmsRelError': 0.006,
          'correctness.speed.distinct_users.sketch.standardError': 0.008125,
        },
      })),
    } as unknown as ScenarioRunResult);
    const figure = sketch.slice(sketch.indexOf('Relative error, distinct users'));
    expect(figure).toContain('σ = 1.04/√m (theory)');
    expect(figure).toContain('speed RMS per window');
    expect(figure.match(/<polyline /g)!.length).toBeGreaterThanOrEqual(3);
  });
});
