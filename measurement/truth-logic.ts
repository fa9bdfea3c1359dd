/**
 * The truth's own statement of each business-logic version, declared once: the truth oracle's SQL
 * (truthSqlPredicate) and the in-memory count of truth-count.ts (truthAdmits) both derive from it.
 * Written independently of the layers' implementations (batch SQL, speed TS, Kappa TS), so that a
 * bug in one of those shows up as a divergence instead of being copied into the truth.
 *
 *   v1 = YSB: every view event of a known ad counts.
 *   v2 = YSB without bot users (reference data: bots).
 *   v3 = v2 with the campaign reorganisation: a moved ad (reference data: movedAds) counts for its
 *        new campaign — a join change, so a cell's campaign depends on the version.
 */
export interface TruthLogic {
  description: string;
  /** views of the reference data's bot users do not count */
  excludeBots: boolean;
  /** the join goes through the reorganisation: a moved ad's views count for its new campaign */
  joinMovedAds: boolean;
}

export const TRUTH_LOGIC: ReadonlyMap<number, TruthLogic> = new Map([
  [1, { description: 'YSB: views per campaign per 10 s window', excludeBots: false, joinMovedAds: false }],
  [2, { description: 'YSB without bot users', excludeBots: true, joinMovedAds: false }],
  [
    3,
    {
      description: 'YSB without bot users, moved ads joined to their new campaign',
      excludeBots: true,
      joinMovedAds: true,
    },
  ],
]);

export function truthLogicVersions(): number[] {
  return [...TRUTH_LOGIC.keys()].sort((a, b) => a - b);
}

/** The version's filter as a DuckDB predicate over the oracle's rows `p` (table `bots`: the bot users). */
export function truthSqlPredicate(logic: TruthLogic): string {
  return logic.excludeBots ? 'p.user_id NOT IN (SELECT user_id FROM bots)' : 'TRUE';
}

/** Whether a view event of a known ad by `userId` counts under the version. */
export function truthAdmits(logic: TruthLogic, userId: string, bots: ReadonlySet<string>): boolean {
  return !(logic.excludeBots && bots.has(userId));
}

/**
 * The version's join as a DuckDB expression: the campaign of the oracle's row `p`, given `ads a`
 * joined on ad_id and `moved_ads m` left-joined on ad_id.
 */
export function truthSqlCampaign(logic: TruthLogic): string {
  return logic.joinMovedAds ? 'coalesce(m.campaign_id, a.campaign_id)' : 'a.campaign_id';
}

/** The campaign a view of `adId` counts for under the version; undefined for an unknown ad. */
export function truthCampaign(
  logic: TruthLogic,
  adId: string,
  reference: { campaignOf: ReadonlyMap<string, string>; movedAds: ReadonlyMap<string, string> },
): string | undefined {
  const campaign = reference.campaignOf.get(adId);
  if (campaign === undefined || !logic.joinMovedAds) return campaign;
  return reference.movedAds.get(adId) ?? campaign;
}
