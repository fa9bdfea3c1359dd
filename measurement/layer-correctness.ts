/** Correctness of every layer's answers over a range of closed windows, against the truth. */
import { correctness } from './correctness.js';
import type { LayerReadings } from './layer-values.js';
import type { CorrectnessFigures, MeasuredLayer, MeasuredMetric } from './measurement-api.js';
import { sketchError } from './sketch-error.js';
import type { TruthCell } from './truth-oracle.js';

const LAYERS: MeasuredLayer[] = ['batch', 'speed', 'lambda', 'kappa', 'kappa_candidate'];

/** The truth of one cell for a logic version and metric; undefined where the truth saw no view. */
export const truthValue = (t: TruthCell, version: number, metric: MeasuredMetric): number | undefined => {
  const views = t.views[version] ?? 0;
  if (views === 0) return undefined;
  return metric === 'views' ? views : (t.users[version] ?? 0);
};

/**
 * Each layer's correctness over [from, closed) per metric: the batch layer below its boundary, the
 * speed layer at or above it, the others over the whole range. The speed layer's distinct users
 * also carry its sketch's error beside σ = 1.04/√m for the store's `sketchRegisters` m.
 */
export function layerCorrectness(
  truth: ReadonlyMap<string, TruthCell>,
  readings: LayerReadings,
  from: number,
  closed: number,
  truthLogicVersion: number,
  sketchRegisters: number,
): CorrectnessFigures[] {
  const correctnessFigures: CorrectnessFigures[] = [];
  const boundary = readings.boundary;
  for (const metric of ['views', 'distinct_users'] as const) {
    const truthMap = new Map<string, number>();
    for (const [k, t] of truth) {
      const v = truthValue(t, truthLogicVersion, metric);
      if (v !== undefined) truthMap.set(k, v);
    }
    for (const layer of LAYERS) {
      const cells = readings.cells[layer];
      if (!cells) continue;
      const served = new Map<string, number>();
      for (const [k, c] of cells) served.set(k, metric === 'views' ? c.views : c.users);
      let lo = from;
      let hi = closed;
      if (layer === 'batch') hi = Math.min(closed, boundary ?? from);
      if (layer === 'speed' && boundary !== null) lo = Math.max(from, boundary);
      const figures = correctness(layer, metric, truthMap, served, lo, Math.max(lo, hi), truthLogicVersion);
      if (layer === 'speed' && metric === 'distinct_users')
        figures.sketch = sketchError(truthMap, served, lo, Math.max(lo, hi), sketchRegisters);
      correctnessFigures.push(figures);
    }
  }
  return correctnessFigures;
}
