import { WINDOW_MS, windowStart } from '../kernel/events/ysb-event.js';
import type { CorrectnessFigures, MeasuredLayer, MeasuredMetric } from './measurement-api.js';

/** cell key (campaign|window) → value */
export type CellValues = ReadonlyMap<string, number>;

/** The window of a cell key (campaign|window), read in place: called for every cell of every snapshot. */
export function windowOfKey(key: string): number {
  let i = key.lastIndexOf('|') + 1;
  const negative = key.charCodeAt(i) === 45; // '-'
  if (negative) i++;
  let n = 0;
  for (; i < key.length; i++) {
    const d = key.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/**
 * The event time below which windows are closed: a window [w, w + 10 s) is closed when
 * w + 10 s + lateness ≤ watermark (the highest event time the oracle has read). Null before any event.
 */
export function closedBefore(watermark: number | null, latenessMs: number): number | null {
  if (watermark === null) return null;
  return windowStart(watermark - latenessMs - WINDOW_MS) + WINDOW_MS;
}

/**
 * YSB's verdicts for one layer and metric over the windows in [from, to): CORRECT when the layer's
 * value equals the truth, DIFFER when not, missing when only the truth has the cell, extra when only
 * the layer has it; errors over the cells both have (absError also counts a missing cell's truth).
 */
export function correctness(
  layer: MeasuredLayer,
  metric: MeasuredMetric,
  truth: CellValues,
  served: CellValues,
  from: number,
  to: number,
  truthLogicVersion: number,
): CorrectnessFigures {
  let correct = 0;
  let differ = 0;
  let missing = 0;
  let extra = 0;
  let absError = 0;
  let signedError = 0;
  let truthSum = 0;
  const inRange = (k: string): boolean => {
    const w = windowOfKey(k);
    return w >= from && w < to;
  };
  for (const [k, t] of truth) {
    if (!inRange(k)) continue;
    truthSum += t;
    const v = served.get(k);
    if (v === undefined) {
      missing++;
      absError += t;
    } else if (v === t) correct++;
    else {
      differ++;
      absError += Math.abs(v - t);
      signedError += v - t;
    }
  }
  for (const [k, v] of served) {
    if (!inRange(k) || truth.has(k)) continue;
    extra++;
    absError += Math.abs(v);
    signedError += v;
  }
  const windows = correct + differ + missing + extra;
  return {
    layer,
    metric,
    windows,
    correct,
    differ,
    missing,
    extra,
    correctShare: windows === 0 ? null : correct / windows,
    absError,
    relError: truthSum === 0 ? null : absError / truthSum,
    truthLogicVersion,
    signedError,
    from: to > from ? from : null,
    to: to > from ? to : null,
  };
}
