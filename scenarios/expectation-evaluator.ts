import type { MetricValue, Sample } from './lab-probe.js';
import type { Comparison, Expectation } from './scenario-types.js';

/**
 * pass / fail: decided on measured values. not-measured: no value to decide on (no sample in the
 * time range, a metric the samples lack, or a value such as a correct share that is null because
 * nothing was measured yet); it is not a pass, and the run does not pass with one.
 */
export type VerdictStatus = 'pass' | 'fail' | 'not-measured';

/** How many verdicts of a run passed, failed and were not measured. */
export interface VerdictTally {
  passed: number;
  failed: number;
  notMeasured: number;
}

export function tallyVerdicts(verdicts: ReadonlyArray<{ status: string }>): VerdictTally {
  const t: VerdictTally = { passed: 0, failed: 0, notMeasured: 0 };
  for (const v of verdicts) {
    if (v.status === 'pass') t.passed++;
    else if (v.status === 'fail') t.failed++;
    else if (v.status === 'not-measured') t.notMeasured++;
  }
  return t;
}

export interface Verdict {
  name: string;
  metric: string;
  op: Comparison;
  /** the constant, or "<than> × factor" */
  expected: string;
  status: VerdictStatus;
  /** the value(s) the verdict was decided on: one per sample checked, with its time */
  observed: Array<{ t: number; value: MetricValue; against: MetricValue }>;
  /** one sentence: why it passed or failed */
  detail: string;
  lesson: string | undefined;
  /** where correctness.* / latency.* / maintenance.* came from */
  source: Sample['source'] | undefined;
}

/** Compares a value with an expected one; null and non-numbers only under == and !=. */
export function compareValues(actual: MetricValue, op: Comparison, expected: MetricValue): boolean {
  if (op === '==') return actual === expected || (isNum(actual) && isNum(expected) && near(actual, expected));
  if (op === '!=')
    return !(actual === expected || (isNum(actual) && isNum(expected) && near(actual, expected)));
  if (!isNum(actual) || !isNum(expected)) return false;
  switch (op) {
    case '<':
      return actual < expected && !near(actual, expected);
    case '<=':
      return actual <= expected || near(actual, expected);
    case '>':
      return actual > expected && !near(actual, expected);
    case '>=':
      return actual >= expected || near(actual, expected);
  }
}

const isNum = (v: MetricValue): v is number => typeof v === 'number' && Number.isFinite(v);
/** Floating-point slack, so that a share computed as 40/40 compares equal to 1. */
const near = (a: number, b: number): boolean =>
  Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * Decides an expectation over the samples of a run (oldest first; the last one is the end).
 * A metric a sample does not have (e.g. maintenance.* before the measurement service exists) makes
 * the verdict `not-measured`, never a pass; so does a null value under an ordering (<, <=, >, >=).
 */
export function evaluate(e: Expectation, samples: Sample[], duration: number): Verdict {
  const expected =
    e.than !== undefined
      ? `${e.than}${e.factor !== undefined ? ` × ${e.factor}` : ''}`
      : JSON.stringify(e.value ?? null);
  const verdict = (
    status: VerdictStatus,
    observed: Verdict['observed'],
    detail: string,
    source?: Sample['source'],
  ): Verdict => ({
    name: e.name,
    metric: e.metric,
    op: e.op,
    expected,
    status,
    observed,
    detail,
    lesson: e.lesson,
    source,
  });
  const chosen = select(e, samples, duration);
  if (chosen.length === 0)
    return verdict('not-measured', [], 'not measured: no sample was taken in the time range');
  const observed: Verdict['observed'] = [];
  for (const s of chosen) {
    if (!(e.metric in s.values))
      return verdict(
        'not-measured',
        [],
        `not measured: the run's samples have no metric ${e.metric}${s.source === 'probe' && isMeasured(e.metric) ? ' (the measurement service is not part of this lab yet)' : ''}`,
        s.source,
      );
    let against: MetricValue = e.value ?? null;
    if (e.than !== undefined) {
      if (!(e.than in s.values))
        return verdict(
          'not-measured',
          [],
          `not measured: the run's samples have no metric ${e.than}`,
          s.source,
        );
      const other = s.values[e.than] ?? null;
      against = isNum(other) ? other * (e.factor ?? 1) : other;
    }
    observed.push({ t: s.t, value: s.values[e.metric] ?? null, against });
  }
  // Under an ordering a null value (nothing measured yet) decides nothing: the verdict rests on the
  // samples with values, and with none it is not measured.
  const ordering = e.op !== '==' && e.op !== '!=';
  const valued = ordering ? observed.filter((o) => isNum(o.value) && isNum(o.against)) : observed;
  const blanks = observed.length - valued.length;
  if (valued.length === 0) {
    const o = observed[0]!;
    const which = !isNum(o.value) ? e.metric : (e.than ?? e.metric);
    return verdict(
      'not-measured',
      observed,
      `not measured: ${which} was ${fmt(!isNum(o.value) ? o.value : o.against)} ${observed.length === 1 ? `at ${o.t} s` : `in all ${observed.length} samples`} (nothing to measure yet, e.g. no closed window in the range)`,
      chosen.at(-1)!.source,
    );
  }
  const ok = valued.map((o) => compareValues(o.value, e.op, o.against));
  const hold = typeof e.at === 'object' ? (e.at.hold ?? 'always') : 'always';
  const source = chosen.at(-1)!.source;
  const show = (o: Verdict['observed'][number]): string => `${fmt(o.value)} at ${o.t} s`;
  if (hold === 'always') {
    const bad = valued.find((_, i) => !ok[i]);
    return bad
      ? verdict(
          'fail',
          observed,
          `${e.metric} was ${show(bad)}; expected ${e.op} ${fmt(bad.against)}`,
          source,
        )
      : blanks > 0
        ? verdict(
            'not-measured',
            observed,
            `not measured: ${e.metric} had no value in ${blanks} of ${observed.length} samples (it held in the other ${valued.length})`,
            source,
          )
        : verdict(
            'pass',
            observed,
            `${e.metric} ${e.op} ${fmt(valued.at(-1)!.against)} held (${valued.length === 1 ? show(valued[0]!) : `${valued.length} samples`})`,
            source,
          );
  }
  if (hold === 'sometime') {
    const good = valued.find((_, i) => ok[i]);
    return good
      ? verdict('pass', observed, `${e.metric} was ${show(good)} (${e.op} ${fmt(good.against)})`, source)
      : verdict(
          'fail',
          observed,
          `${e.metric} never met ${e.op} ${fmt(valued[0]!.against)} in ${valued.length} samples (last ${show(valued.at(-1)!)})`,
          source,
        );
  }
  const hit = valued.find((_, i) => ok[i]);
  return hit
    ? verdict(
        'fail',
        observed,
        `${e.metric} was ${show(hit)}, which it should never be (${e.op} ${fmt(hit.against)})`,
        source,
      )
    : verdict(
        'pass',
        observed,
        `${e.metric} never met ${e.op} ${fmt(valued[0]!.against)} (${valued.length} samples)`,
        source,
      );
}

/** The samples an expectation looks at. */
export function select(e: Expectation, samples: Sample[], duration: number): Sample[] {
  if (samples.length === 0) return [];
  if (e.at === 'end') return [samples.at(-1)!];
  if (typeof e.at === 'number') {
    const t = e.at;
    const before = samples.filter((s) => s.t <= t + 1e-6);
    return before.length ? [before.at(-1)!] : [];
  }
  const from = e.at.from === 'start' ? 0 : e.at.from;
  const to = e.at.to === 'end' ? duration : e.at.to;
  return samples.filter((s) => s.t >= from - 1e-6 && s.t <= to + 1e-6);
}

const MEASURED = [
  'correctness.',
  'latency.',
  'maintenance.',
  'servingLatency.',
  'served.',
  'batchBoundaryLagMs',
  'ingested',
];
const isMeasured = (m: string): boolean => MEASURED.some((p) => m.startsWith(p));

function fmt(v: MetricValue): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4);
  return JSON.stringify(v);
}

/**
 * Derived metrics added to the last sample once the run is over: seconds from `since` (the last
 * intend-logic action, else the start) until a layer's correctShare reached 1 for good.
 */
export function addDerived(samples: Sample[], since: number): void {
  const last = samples.at(-1);
  if (!last) return;
  for (const layer of ['batch', 'speed', 'lambda', 'kappa'])
    for (const metric of ['views', 'distinct_users']) {
      const key = `correctness.${layer}.${metric}.correctShare`;
      let firstGood: number | null = null;
      for (const s of samples) {
        if (s.t < since) continue;
        const v = s.values[key];
        if (v === 1 || (typeof v === 'number' && near(v, 1))) firstGood ??= s.t;
        else firstGood = null;
      }
      last.values[`derived.timeToCorrect.${layer}.${metric}`] =
        firstGood === null ? null : Math.round((firstGood - since) * 100) / 100;
    }
}
