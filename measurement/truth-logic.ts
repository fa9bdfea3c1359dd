/**
 * The truth oracle's own statement of each business-logic version, as a DuckDB predicate over the
 * oracle's rows (view events joined to their campaign). Written once more, independently of the
 * layers' implementations (batch SQL, speed TS, Kappa TS), so that a bug in one of those shows
 * up as a divergence instead of being copied into the truth.
 *
 *   v1 = YSB: every view event of a known ad counts.
 *   v2 = YSB without bot users (reference data: bots).
 */
export const TRUTH_LOGIC: ReadonlyMap<number, { description: string; predicate: string }> = new Map([
  [1, { description: 'YSB: views per campaign per 10 s window', predicate: 'TRUE' }],
  [
    2,
    {
      description: 'YSB without bot users',
      predicate: 'p.user_id NOT IN (SELECT user_id FROM bots)',
    },
  ],
]);

export function truthLogicVersions(): number[] {
  return [...TRUTH_LOGIC.keys()].sort((a, b) => a - b);
}
