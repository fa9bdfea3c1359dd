/**
 * How the speed layer's distinct-user sketch errs, beside what its theory promises: a HyperLogLog
 * with m registers has a relative standard error σ = 1.04/√m (Flajolet et al. 2007), so about
 * 68 % / 95 % / 99.7 % of its estimates should lie within 1σ / 2σ / 3σ of the exact count.
 */
import { windowOfKey, type CellValues } from './correctness.js';
import type { SketchErrorFigures } from './measurement-api.js';

/** The per-window points a snapshot carries for the dashboard's chart, newest last. */
export const SKETCH_RECENT_MAX = 200;

/** Relative standard error of a HyperLogLog with `registers` registers. */
export const sketchStandardError = (registers: number): number => 1.04 / Math.sqrt(registers);

/**
 * The sketch's error over the cells in [from, to) that both the truth and the sketch answer (a
 * missing or extra cell is a coverage fault, not a sketch error; the correctness verdicts count it):
 * per cell the relative error (estimate − exact) / exact, and the shares within 1σ, 2σ and 3σ.
 */
export function sketchError(
  truth: CellValues,
  estimates: CellValues,
  from: number,
  to: number,
  registers: number,
): SketchErrorFigures {
  const standardError = sketchStandardError(registers);
  const points: Array<{ window: number; campaign_id: string; relError: number }> = [];
  for (const [k, exact] of truth) {
    const w = windowOfKey(k);
    if (w < from || w >= to || exact <= 0) continue;
    const estimate = estimates.get(k);
    if (estimate === undefined) continue;
    points.push({
      window: w,
      campaign_id: k.slice(0, k.lastIndexOf('|')),
      relError: (estimate - exact) / exact,
    });
  }
  points.sort((a, b) => a.window - b.window || (a.campaign_id < b.campaign_id ? -1 : 1));
  const within = (k: number): number | null =>
    points.length === 0
      ? null
      : // a tolerance of one part in 10^12 keeps an error of exactly kσ inside despite rounding
        points.filter((p) => Math.abs(p.relError) <= k * standardError * (1 + 1e-12)).length / points.length;
  let sumSquares = 0;
  for (const p of points) sumSquares += p.relError * p.relError;
  return {
    registers,
    standardError,
    windows: points.length,
    rmsRelError: points.length === 0 ? null : Math.sqrt(sumSquares / points.length),
    within1Sigma: within(1),
    within2Sigma: within(2),
    within3Sigma: within(3),
    recent: points.slice(-SKETCH_RECENT_MAX),
  };
}
