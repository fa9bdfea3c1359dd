import { WINDOW_MS } from '../../kernel/events/ysb-event.js';
import type { KappaCells, KappaEvent, KappaLogic, KappaLogicContext } from './kappa-logic.js';

/** Kappa logic v3 = v2 with the campaign reorganisation: a moved ad's views count for its new campaign. */
export const kappaLogicV3: KappaLogic = {
  version: 3,
  description: 'YSB without bot users, moved ads joined to their new campaign',
  campaignFor(e: KappaEvent, ctx: KappaLogicContext): string | undefined {
    if (e.event_type !== 'view') return undefined;
    if (ctx.bots.has(e.user_id)) return undefined;
    return ctx.movedAds.get(e.ad_id) ?? ctx.campaignOf.get(e.ad_id);
  },
  window(e: KappaEvent): number {
    return Math.floor(e.event_time / WINDOW_MS) * WINDOW_MS;
  },
  aggregate(into: KappaCells, window: number, campaign: string, e: KappaEvent): void {
    into.add(window, campaign, 1, e.user_id);
  },
};
