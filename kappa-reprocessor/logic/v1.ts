import type { KappaEvent, KappaLogic, KappaLogicContext } from './kappa-logic.js';

/** Kappa logic v1 = the YSB query: keep views, join ad → campaign. */
export const kappaLogicV1: KappaLogic = {
  version: 1,
  description: 'YSB: views per campaign per 10 s window',
  campaignFor(e: KappaEvent, ctx: KappaLogicContext): string | undefined {
    if (e.event_type !== 'view') return undefined;
    return ctx.campaignOf.get(e.ad_id);
  },
};
