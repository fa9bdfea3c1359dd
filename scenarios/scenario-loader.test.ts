import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLabError } from '../kernel/errors/lab-error.js';
import { checkScenarioText, loadScenarioFile, loadScenarios } from './scenario-loader.js';
import { checkRunnable } from './scenario-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'lkl-scn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VALID = `id: tiny
title: Tiny
goal: a test
duration: 10
workload: { rate: 10 }
timeline:
  - { at: 2, action: crash, component: speed, point: after-flush-before-commit }
expectations:
  - { name: ok, metric: lab.speed.crashes, at: end, op: '==', value: 1 }
narrative:
  - { at: 0, text: hello }
`;

const problems = (text: string, file = 'tiny.yaml') => checkScenarioText(text, file).problems;

describe('scenario files', () => {
  it('loads every scenario of scenarios/ (the nine of issue 8 at least)', () => {
    const ids = loadScenarios().map((s) => s.scenario.id);
    for (const id of [
      'ysb-baseline',
      'late-and-out-of-order',
      'speed-layer-crash',
      'logic-change',
      'logic-change-v3',
      'batch-failure',
      'traffic-spike',
      'hot-key',
      'retention-too-short',
      'retention-too-short-kappa-plus',
      'approximate-distinct',
      'replay-interference',
    ])
      expect(ids).toContain(id);
  });

  it('accepts a valid file', () => {
    expect(problems(VALID)).toEqual([]);
  });

  it('names the file, the path inside it and the reason', () => {
    const file = join(dir, 'tiny.yaml');
    writeFileSync(file, VALID.replace('point: after-flush-before-commit', 'point: after-lunch'));
    try {
      loadScenarioFile(file);
      expect.unreachable();
    } catch (err) {
      expect(isLabError(err) && err.code).toBe('LKL_ERR_SCENARIO_INVALID');
      expect((err as Error).message).toContain(
        `${file}: /timeline/0/point: must be one of "after-flush-before-commit", "before-flush"`,
      );
    }
  });

  it('rejects unknown keys, missing keys, wrong types and bad metrics, each at its path', () => {
    expect(problems(VALID.replace('duration: 10', 'duraton: 10'))).toEqual(
      expect.arrayContaining([
        { file: 'tiny.yaml', path: '/duraton', reason: 'unknown key "duraton"' },
        { file: 'tiny.yaml', path: '/duration', reason: '"duration" is required' },
      ]),
    );
    expect(problems(VALID.replace('rate: 10', 'rate: fast'))).toContainEqual({
      file: 'tiny.yaml',
      path: '/workload/rate',
      reason: 'must be integer',
    });
    expect(problems(VALID.replace("op: '=='", "op: '=>'"))).toContainEqual(
      expect.objectContaining({ path: '/expectations/0/op' }),
    );
    expect(problems(VALID.replace('metric: lab.speed.crashes', 'metric: speed.crashes'))).toContainEqual(
      expect.objectContaining({
        path: '/expectations/0/metric',
        reason: expect.stringContaining('starts with "speed"'),
      }),
    );
    expect(
      problems(VALID.replace('action: crash, component: speed,', 'action: explode, component: speed,')),
    ).toContainEqual(
      expect.objectContaining({
        path: '/timeline/0/action',
        reason: expect.stringContaining('must be one of'),
      }),
    );
    expect(problems(VALID.replace('{ at: 2,', '{ at: 20,'))).toContainEqual({
      file: 'tiny.yaml',
      path: '/timeline/0/at',
      reason: '20 s is after the end of the run (duration 10 s)',
    });
    expect(problems(VALID.replace(', value: 1 }', ' }'))).toContainEqual({
      file: 'tiny.yaml',
      path: '/expectations/0',
      reason: 'needs exactly one of "value" or "than"',
    });
    expect(problems(VALID, 'other.yaml')).toContainEqual({
      file: 'other.yaml',
      path: '/id',
      reason: 'id "tiny" must match the file name (other)',
    });
  });

  it('reports YAML syntax errors with their line', () => {
    const p = problems('id: tiny\ntitle: [unclosed\n');
    expect(p[0]).toMatchObject({ file: 'tiny.yaml', path: '/' });
    expect(p[0]!.reason).toMatch(/YAML syntax error at line \d+/);
  });

  it('refuses to stop Kafka or Redis in the embedded or fast mode, naming the action', () => {
    const text = VALID.replace(
      '  - { at: 2, action: crash, component: speed, point: after-flush-before-commit }',
      '  - { at: 2, action: stop, component: kafka }\n  - { at: 4, action: start, component: kafka }',
    );
    const r = checkScenarioText(text, 'tiny.yaml');
    expect(r.problems).toEqual([]);
    const loaded = { file: 'tiny.yaml', scenario: r.scenario! };
    expect(() => checkRunnable(loaded, { fast: true, distributed: false })).toThrow(
      /tiny\.yaml: \/timeline\/0\/component: "stop kafka" needs the real Kafka/,
    );
    expect(() => checkRunnable(loaded, { fast: false, distributed: false })).toThrow(
      /LKL|embedded mode has no kafka/,
    );
    expect(() => checkRunnable(loaded, { fast: false, distributed: true })).not.toThrow();
  });
});
