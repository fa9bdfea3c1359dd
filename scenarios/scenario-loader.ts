import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { LabError } from '../kernel/errors/lab-error.js';
import { projectRoot } from '../kernel/util/project-root.js';
import { SCENARIO_SCHEMA } from './scenario-schema.js';
import type { LoadedScenario, Scenario } from './scenario-types.js';

/** One problem in a scenario file: the file, the JSON pointer inside it, and why. */
export interface ScenarioProblem {
  file: string;
  path: string;
  reason: string;
}

export function scenariosDir(): string {
  return join(projectRoot(), 'scenarios');
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile<Scenario>(SCENARIO_SCHEMA);

/** The scenario files of a directory (default scenarios/), sorted by name. */
export function scenarioFiles(dir = scenariosDir()): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}

/** Parses and validates one file; throws LKL_ERR_SCENARIO_INVALID listing every problem. */
export function loadScenarioFile(file: string): LoadedScenario {
  const problems = checkScenarioFile(file);
  if (problems.scenario && problems.problems.length === 0) return { file, scenario: problems.scenario };
  throw invalid(problems.problems);
}

/** Loads every scenario of a directory; throws LKL_ERR_SCENARIO_INVALID listing the problems of all files. */
export function loadScenarios(dir = scenariosDir()): LoadedScenario[] {
  const out: LoadedScenario[] = [];
  const problems: ScenarioProblem[] = [];
  const ids = new Map<string, string>();
  for (const file of scenarioFiles(dir)) {
    const r = checkScenarioFile(file);
    problems.push(...r.problems);
    if (!r.scenario || r.problems.length) continue;
    const other = ids.get(r.scenario.id);
    if (other)
      problems.push({
        file: display(file),
        path: '/id',
        reason: `id "${r.scenario.id}" is also used by ${other}`,
      });
    ids.set(r.scenario.id, display(file));
    out.push({ file, scenario: r.scenario });
  }
  if (problems.length) throw invalid(problems);
  return out;
}

/** Finds a scenario by id; LKL_ERR_SCENARIO_UNKNOWN names the ids there are. */
export function findScenario(id: string, dir = scenariosDir()): LoadedScenario {
  const all = loadScenarios(dir);
  const hit = all.find((s) => s.scenario.id === id);
  if (!hit) {
    throw new LabError(
      'LKL_ERR_SCENARIO_UNKNOWN',
      `There is no scenario "${id}" in ${display(dir)}; the scenarios are: ${all.map((s) => s.scenario.id).join(', ')}.`,
      { details: { id } },
    );
  }
  return hit;
}

/** Every problem of one file (parse errors with line and column, schema errors, consistency). */
export function checkScenarioFile(file: string): {
  scenario: Scenario | undefined;
  problems: ScenarioProblem[];
} {
  const shown = display(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { scenario: undefined, problems: [{ file: shown, path: '/', reason: (err as Error).message }] };
  }
  return checkScenarioText(text, shown);
}

/** As checkScenarioFile, for text already read (`file` only names it in the problems). */
export function checkScenarioText(
  text: string,
  file: string,
): { scenario: Scenario | undefined; problems: ScenarioProblem[] } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    return {
      scenario: undefined,
      problems: doc.errors.map((e) => ({
        file,
        path: '/',
        reason: `YAML syntax error${e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : ''}: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const data: unknown = doc.toJS();
  if (!validate(data)) {
    return { scenario: undefined, problems: schemaProblems(validate.errors ?? [], file) };
  }
  const problems = consistencyProblems(data, file);
  const expectedId = basename(file).replace(/\.ya?ml$/, '');
  if (data.id !== expectedId)
    problems.push({ file, path: '/id', reason: `id "${data.id}" must match the file name (${expectedId})` });
  return { scenario: data, problems };
}

/** Checks the schema cannot express: times inside the run, expectations' metric families. */
function consistencyProblems(s: Scenario, file: string): ScenarioProblem[] {
  const problems: ScenarioProblem[] = [];
  s.timeline.forEach((t, i) => {
    if (t.at > s.duration)
      problems.push({
        file,
        path: `/timeline/${i}/at`,
        reason: `${t.at} s is after the end of the run (duration ${s.duration} s)`,
      });
    if (t.action === 'crash' && t.component === 'speed' && !('point' in t && t.point))
      problems.push({
        file,
        path: `/timeline/${i}`,
        reason: 'a speed-layer crash needs a point: after-flush-before-commit or before-flush',
      });
    if (t.action === 'crash' && t.component !== 'speed' && 'point' in t && t.point)
      problems.push({
        file,
        path: `/timeline/${i}/point`,
        reason: `only the speed layer has crash points, not ${t.component}`,
      });
  });
  s.narrative.forEach((n, i) => {
    if (n.at > s.duration)
      problems.push({
        file,
        path: `/narrative/${i}/at`,
        reason: `${n.at} s is after the end of the run (duration ${s.duration} s)`,
      });
  });
  s.expectations.forEach((e, i) => {
    if ((e.value === undefined) === (e.than === undefined))
      problems.push({ file, path: `/expectations/${i}`, reason: 'needs exactly one of "value" or "than"' });
    for (const [key, metric] of [
      ['metric', e.metric],
      ['than', e.than],
    ] as const) {
      if (metric === undefined) continue;
      const root = metric.split('.')[0]!;
      if (!METRIC_ROOTS.includes(root))
        problems.push({
          file,
          path: `/expectations/${i}/${key}`,
          reason: `"${metric}" starts with "${root}"; a metric starts with one of ${METRIC_ROOTS.join(', ')}`,
        });
    }
    const at = e.at;
    const times = typeof at === 'number' ? [at] : typeof at === 'object' ? [at.from, at.to] : [];
    for (const t of times)
      if (typeof t === 'number' && t > s.duration)
        problems.push({
          file,
          path: `/expectations/${i}/at`,
          reason: `${t} s is after the end of the run (duration ${s.duration} s)`,
        });
    if (typeof at === 'object' && typeof at.from === 'number' && typeof at.to === 'number' && at.from > at.to)
      problems.push({
        file,
        path: `/expectations/${i}/at`,
        reason: `from (${at.from}) is after to (${at.to})`,
      });
  });
  return problems;
}

/** First segment of every metric path a sample offers (see scenarios/lab-probe.ts). */
export const METRIC_ROOTS = [
  'correctness',
  'latency',
  'batchBoundaryLagMs',
  'servingLatency',
  'served',
  'maintenance',
  'ingested',
  'recount',
  'lab',
  'derived',
  'interference',
];

function schemaProblems(errors: ErrorObject[], file: string): ScenarioProblem[] {
  const out: ScenarioProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // if/then and oneOf wrappers repeat what the inner errors already say
    if (
      e.keyword === 'if' ||
      (e.keyword === 'oneOf' &&
        errors.some(
          (o) =>
            o !== e &&
            o.instancePath.startsWith(e.instancePath) &&
            o.keyword !== 'oneOf' &&
            o.keyword !== 'if' &&
            o.keyword !== 'const',
        ))
    )
      continue;
    let path = e.instancePath || '/';
    let reason = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      path = `${e.instancePath}/${prop}`;
      reason = `unknown key "${prop}"`;
    } else if (e.keyword === 'required') {
      const prop = (e.params as { missingProperty: string }).missingProperty;
      path = `${e.instancePath}/${prop}`;
      reason = `"${prop}" is required`;
    } else if (e.keyword === 'enum') {
      reason = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'const') {
      continue; // part of a oneOf; the oneOf's own message follows
    } else if (e.keyword === 'oneOf' && e.instancePath.endsWith('/at')) {
      reason = 'must be "end", a number of seconds, or { from, to, hold }';
    }
    const key = `${path}|${reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file, path, reason });
  }
  return out;
}

function invalid(problems: ScenarioProblem[]): LabError {
  return new LabError(
    'LKL_ERR_SCENARIO_INVALID',
    `Invalid scenario file${problems.length > 1 ? 's' : ''}:\n${problems.map(formatProblem).join('\n')}`,
    { details: { problems } },
  );
}

export function formatProblem(p: ScenarioProblem): string {
  return `  ${p.file}: ${p.path}: ${p.reason}`;
}

function display(file: string): string {
  const rel = relative(projectRoot(), file);
  return rel.startsWith('..') ? file : rel;
}
