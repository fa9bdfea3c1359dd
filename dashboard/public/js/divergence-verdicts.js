/**
 * The divergence inspector's verdicts: the layers it shows, the causes a difference can have, a
 * cell's verdict per layer (colour class, symbol, words) and how far a layer is off.
 */
import { h } from './dom.js';

export const WINDOW_MS = 10_000;
export const LAYERS = ['lambda', 'batch', 'speed', 'kappa', 'kappa_candidate'];
export const LAYER_NAMES = {
  lambda: 'Lambda (served)',
  batch: 'batch layer',
  speed: 'speed layer',
  kappa: 'Kappa (active)',
  kappa_candidate: 'Kappa (candidate)',
};

export const CAUSES = {
  'not-yet-in-batch': 'The batch view does not cover this window yet; the speed layer answers for it.',
  'late-event':
    'Events arrived after the window closed; a layer without allowed lateness (or past it) missed them.',
  'at-least-once-duplicate':
    'The speed layer re-read events after a crash between flush and commit (at-least-once) and counted them twice.',
  'hyperloglog-approximation':
    'Distinct users are estimated with a HyperLogLog in the speed layer: a small error, on purpose.',
  'logic-versions-differ':
    'This layer runs a different business-logic version than the truth (a partial deploy, or a replay not switched over).',
  'replay-not-caught-up': 'The Kappa replay has not reached this window yet.',
  'window-open': 'The window is still open (before the watermark + allowed lateness); values still move.',
  unknown: 'No known cause explains this difference.',
};

/**
 * A cell's verdict for one layer: its colour class, its symbol (so colour is never the only cue)
 * and its words, which the legend and a cell's accessible name use. Colours from Paul Tol's
 * colour-blind-safe schemes (the "light" scheme, dark red from "medium contrast"): told apart
 * with deuteranopia and protanopia too.
 */
export const VERDICTS = {
  correct: { symbol: '✓', label: 'equal to the truth' },
  small: { symbol: '≈', label: '< 2 % off' },
  mid: { symbol: '≠', label: '2–10 % off' },
  big: { symbol: '!', label: '> 10 % off' },
  missing: { symbol: '∅', label: 'missing (truth has it)' },
  extra: { symbol: '+', label: 'extra (no truth)' },
  na: { symbol: '', label: 'not this layer’s window' },
  none: { symbol: '', label: 'no data' },
};

/**
 * A cell's verdict for one layer (a key of VERDICTS). A layer without a value and without a cause
 * does not answer for that window by design (the speed layer below the batch boundary, the batch
 * layer above it): it is neutral, not "missing".
 */
export function cellVerdict(cell, layer) {
  if (!cell) return 'none';
  const v = cell.values?.[layer];
  const t = cell.truth;
  if (v === undefined || v === null)
    return cell.causes?.[layer] && t !== null && t !== undefined ? 'missing' : 'na';
  if (t === null || t === undefined) return 'extra';
  if (v === t) return 'correct';
  const rel = Math.abs(v - t) / Math.max(1, Math.abs(t));
  return rel < 0.02 ? 'small' : rel <= 0.1 ? 'mid' : 'big';
}

/** The window is still open: its values still move. */
export const isOpen = (cell, layer) => cell?.causes?.[layer] === 'window-open' || cell?.closed === false;

/** A cell's classes for one layer: c-<verdict>, plus c-open while the window is open. */
export function cellClass(cell, layer) {
  const verdict = cellVerdict(cell, layer);
  return `${verdict === 'none' ? '' : `c-${verdict}`}${isOpen(cell, layer) ? ' c-open' : ''}`;
}

/** A verdict's symbol in a cell or a legend swatch, hidden from screen readers (they read the words). */
export const symbol = (verdict) =>
  VERDICTS[verdict].symbol
    ? h('span', { class: 'sym', 'aria-hidden': 'true' }, VERDICTS[verdict].symbol)
    : null;

/** How far a layer is off in a cell; 0 when it agrees, does not answer it, or the window is still open. */
export function divergenceOf(cell, layer) {
  const cause = cell.causes?.[layer];
  if (!cause || cause === 'window-open') return 0;
  const d = cell.differences?.[layer];
  if (d === null || d === undefined) return Math.abs(cell.truth ?? 0) || 1;
  return Math.abs(d);
}
