import { SKETCH_STANDARD_ERROR } from '../kernel/ports/realtime-store.js';
import type { DivergenceCause, DivergenceCell, MeasuredLayer, MeasuredMetric } from './measurement-api.js';
import type { LayerCell, LayerReadings } from './layer-values.js';
import type { TruthCell } from './truth-oracle.js';

/** What is known about one layer's answer for one cell when its cause is attributed. */
export interface CauseInput {
  layer: MeasuredLayer;
  metric: MeasuredMetric;
  window: number;
  /** the layer's value (null: no answer) */
  value: number | null;
  /** the truth under the intended logic version (null: the cell does not exist) */
  truth: number | null;
  truthLogicVersion: number;
  /** the logic version the layer answered with (null when it has no answer) */
  layerLogicVersion: number | null;
  /** the truth under the layer's logic version */
  truthUnderLayerLogic: number | null;
  /** views of the cell that arrived after their window was complete / later than the allowed lateness */
  lateViews: number;
  droppedViews: number;
  /** windows below it come from the batch view (null: no batch view yet) */
  boundary: number | null;
  /** windows below it are closed (null: nothing read yet) */
  closedBefore: number | null;
  /** speed-layer crashes between flush and commit seen so far */
  atLeastOnceCrashes: number;
  /** the state of the Kappa job answering (kappa, kappa_candidate) */
  kappaState?: string | undefined;
}

/** Which layer produced a Lambda answer for a window (the serving layer's split). */
export function lambdaSource(window: number, boundary: number | null): 'batch' | 'speed' {
  return boundary !== null && window < boundary ? 'batch' : 'speed';
}

/** Whether a layer is expected to answer a window at all (the speed layer's windows below the boundary are expired by design). */
export function answers(layer: MeasuredLayer, window: number, boundary: number | null): boolean {
  if (layer === 'speed') return boundary === null || window >= boundary;
  return true;
}

/** Largest |estimate − exact| put down to the HyperLogLog (three standard errors, at least 1). */
export function hyperLogLogTolerance(exact: number): number {
  return Math.max(1, Math.ceil(3 * SKETCH_STANDARD_ERROR * exact));
}

/**
 * The cause of a diverging answer, or undefined when the layer agrees with the truth (or is not
 * expected to answer the window). Checked in this order: the window is still open; the batch view
 * does not cover it yet; the layer runs another logic version; a replay has not caught up; the
 * HyperLogLog's estimate; at-least-once duplicates; late events; otherwise unknown.
 */
export function attributeCause(c: CauseInput): DivergenceCause | undefined {
  if (c.value === c.truth) return undefined;
  if (c.value === null && !answers(c.layer, c.window, c.boundary)) return undefined;
  if (c.closedBefore === null || c.window >= c.closedBefore) return 'window-open';
  const via: 'batch' | 'speed' | 'kappa' =
    c.layer === 'batch'
      ? 'batch'
      : c.layer === 'speed'
        ? 'speed'
        : c.layer === 'lambda'
          ? lambdaSource(c.window, c.boundary)
          : 'kappa';
  if (via === 'batch' && c.value === null && (c.boundary === null || c.window >= c.boundary))
    return 'not-yet-in-batch';
  if (c.layer === 'batch' && (c.boundary === null || c.window >= c.boundary)) return 'not-yet-in-batch';
  if (
    c.layerLogicVersion !== null &&
    c.layerLogicVersion !== c.truthLogicVersion &&
    c.truthUnderLayerLogic !== c.truth
  )
    return 'logic-versions-differ';
  const value = c.value ?? 0;
  const truth = c.truthUnderLayerLogic ?? c.truth ?? 0;
  if (c.kappaState === 'replaying' && value < truth) return 'replay-not-caught-up';
  if (
    c.metric === 'distinct_users' &&
    via === 'speed' &&
    Math.abs(value - truth) <= hyperLogLogTolerance(truth)
  )
    return 'hyperloglog-approximation';
  if (c.metric === 'views' && via === 'speed' && value > truth && c.atLeastOnceCrashes > 0)
    return 'at-least-once-duplicate';
  const lateShortfall = via === 'kappa' ? c.droppedViews : c.lateViews;
  if (value < truth && lateShortfall > 0 && (c.metric !== 'views' || truth - value <= lateShortfall))
    return 'late-event';
  return 'unknown';
}

export interface DivergenceContext {
  metric: MeasuredMetric;
  truthLogicVersion: number;
  closedBefore: number | null;
  atLeastOnceCrashes: number;
}

const LAYERS: MeasuredLayer[] = ['batch', 'speed', 'lambda', 'kappa', 'kappa_candidate'];

const pick = (cell: LayerCell | undefined, metric: MeasuredMetric): number | null =>
  cell === undefined ? null : metric === 'views' ? cell.views : cell.users;

const truthOf = (t: TruthCell | undefined, version: number, metric: MeasuredMetric): number | null => {
  if (!t) return null;
  const views = t.views[version] ?? 0;
  if (views === 0) return null;
  return metric === 'views' ? views : (t.users[version] ?? 0);
};

/**
 * Cells of every (campaign, window) the truth has under a logic version in use (the intended one, a
 * layer's) or any layer has, with values, differences and causes.
 */
export function divergenceCells(
  truth: ReadonlyMap<string, TruthCell>,
  readings: LayerReadings,
  ctx: DivergenceContext,
): DivergenceCell[] {
  // A truth cell is listed when it exists under a version in use: a join change (v3) gives other
  // versions cells of their own, which are no divergence of a lab that runs none of them.
  const inUse = new Set<number>([ctx.truthLogicVersion]);
  for (const v of [
    readings.batchLogicVersion,
    readings.kappa?.logicVersion,
    readings.candidate?.logicVersion,
  ])
    if (v !== null && v !== undefined) inUse.add(v);
  for (const layer of LAYERS)
    for (const c of readings.cells[layer]?.values() ?? []) inUse.add(c.logicVersion);
  const keys = new Set<string>();
  for (const [k, t] of truth) if ([...inUse].some((v) => (t.views[v] ?? 0) > 0)) keys.add(k);
  for (const layer of LAYERS) for (const k of readings.cells[layer]?.keys() ?? []) keys.add(k);
  const out: DivergenceCell[] = [];
  for (const key of keys) {
    const sep = key.lastIndexOf('|');
    const campaign = key.slice(0, sep);
    const window = Number(key.slice(sep + 1));
    const t = truth.get(key);
    const truthValue = truthOf(t, ctx.truthLogicVersion, ctx.metric);
    const cell: DivergenceCell = {
      campaign_id: campaign,
      window_start: window,
      truth: truthValue,
      values: {},
      differences: {},
      causes: {},
      truthByLogic: {},
      logicVersions: {},
      lateViews: t?.late[ctx.truthLogicVersion] ?? 0,
      closed: ctx.closedBefore !== null && window < ctx.closedBefore,
    };
    for (const v of Object.keys(t?.views ?? {})) {
      const x = truthOf(t, Number(v), ctx.metric);
      if (x !== null) cell.truthByLogic![v] = x;
    }
    for (const layer of LAYERS) {
      const layerCells = readings.cells[layer];
      if (!layerCells) continue;
      const lc = layerCells.get(key);
      const value = pick(lc, ctx.metric);
      cell.values[layer] = value;
      cell.differences[layer] = value === null || truthValue === null ? null : value - truthValue;
      const layerLogic =
        lc?.logicVersion ??
        (layer === 'batch'
          ? readings.batchLogicVersion
          : layer === 'kappa'
            ? (readings.kappa?.logicVersion ?? null)
            : layer === 'kappa_candidate'
              ? (readings.candidate?.logicVersion ?? null)
              : null);
      if (layerLogic !== null) cell.logicVersions![layer] = layerLogic;
      const cause = attributeCause({
        layer,
        metric: ctx.metric,
        window,
        value,
        truth: truthValue,
        truthLogicVersion: ctx.truthLogicVersion,
        layerLogicVersion: layerLogic,
        truthUnderLayerLogic: layerLogic === null ? truthValue : truthOf(t, layerLogic, ctx.metric),
        lateViews: layerLogic === null ? (t?.late[ctx.truthLogicVersion] ?? 0) : (t?.late[layerLogic] ?? 0),
        droppedViews:
          layerLogic === null ? (t?.dropped[ctx.truthLogicVersion] ?? 0) : (t?.dropped[layerLogic] ?? 0),
        boundary: readings.boundary,
        closedBefore: ctx.closedBefore,
        atLeastOnceCrashes: ctx.atLeastOnceCrashes,
        kappaState:
          layer === 'kappa'
            ? readings.kappa?.state
            : layer === 'kappa_candidate'
              ? readings.candidate?.state
              : undefined,
      });
      if (cause) cell.causes[layer] = cause;
    }
    out.push(cell);
  }
  out.sort(
    (a, b) =>
      a.window_start - b.window_start ||
      (a.campaign_id < b.campaign_id ? -1 : a.campaign_id > b.campaign_id ? 1 : 0),
  );
  return out;
}
