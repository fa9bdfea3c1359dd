import { WINDOW_MS } from '../../kernel/events/ysb-event.js';
import type { KappaCells, KappaEvent, KappaLogic, KappaLogicContext } from './kappa-logic.js';

/** Kappa logic v1 = the YSB query: keep views, join ad → campaign, 10 s event-time window. */
export const kappaLogicV1: KappaLogic = {
  version: 1,
  description: 'YSB: views per campaign per 10 s window',
  campaignFor(e: KappaEvent, ctx: KappaLogicContext): string | undefined {
    if (e.event_type !== 'view') return undefined;
    return ctx.campaignOf.get(e.ad_id);
  },
  window(e: KappaEvent): number {
    return Math.floor(e.event_time / WINDOW_MS) * WINDOW_MS;
  },
  aggregate(into: KappaCells, window: number, campaign: string, e: KappaEvent): void {
    into.add(window, campaign, 1, e.user_id);
  },
};
