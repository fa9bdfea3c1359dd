import { WINDOW_MS, type YsbEvent } from '../../kernel/events/ysb-event.js';
import type { LogicContext, StreamLogic, WindowCells } from './speed-logic.js';

/** Speed logic v3 = v2 with the campaign reorganisation: a moved ad's views count for its new campaign. */
export const speedLogicV3: StreamLogic = {
  version: 3,
  description: 'YSB without bot users, moved ads joined to their new campaign',
  campaignFor(e: YsbEvent, ctx: LogicContext): string | undefined {
    if (e.event_type !== 'view') return undefined;
    if (ctx.bots.has(e.user_id)) return undefined;
    return ctx.movedAds.get(e.ad_id) ?? ctx.campaignOf.get(e.ad_id);
  },
  window(e: YsbEvent): number {
    return Math.floor(Number(e.event_time) / WINDOW_MS) * WINDOW_MS;
  },
  aggregate(into: WindowCells, window: number, campaign: string, e: YsbEvent): void {
    into.add(window, campaign, 1, e.user_id);
  },
};
