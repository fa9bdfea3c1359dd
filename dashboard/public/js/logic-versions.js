/** What each business-logic version means, for the deploy and replay pickers (docs/metrics.md). */
const MEANING = {
  1: 'YSB',
  2: 'without bots',
  3: 'without bots, moved ads → new campaign',
};

/** "v2 — without bots"; a version without a known meaning is just "v4". */
export function logicLabel(v) {
  return MEANING[v] ? `v${v} — ${MEANING[v]}` : `v${v}`;
}
