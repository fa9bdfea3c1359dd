import type { KappaEvent, KappaLogic, KappaLogicContext } from './kappa-logic.js';

/** Kappa logic v2 = YSB without bot users (reference.bots). */
export const kappaLogicV2: KappaLogic = {
  version: 2,
  description: 'YSB without bot users',
  campaignFor(e: KappaEvent, ctx: KappaLogicContext): string | undefined {
    if (e.event_type !== 'view') return undefined;
    if (ctx.bots.has(e.user_id)) return undefined;
    return ctx.campaignOf.get(e.ad_id);
  },
};
