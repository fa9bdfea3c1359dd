import { WINDOW_MS, type YsbEvent } from '../../kernel/events/ysb-event.js';
import type { LogicContext, StreamLogic, WindowCells } from './speed-logic.js';

/** Speed logic v2 = YSB without bot users. */
export const speedLogicV2: StreamLogic = {
  version: 2,
  description: 'YSB without bot users',
  campaignFor(e: YsbEvent, ctx: LogicContext): string | undefined {
    if (e.event_type !== 'view') return undefined;
    if (ctx.bots.has(e.user_id)) return undefined;
    return ctx.campaignOf.get(e.ad_id);
  },
  window(e: YsbEvent): number {
    return Math.floor(Number(e.event_time) / WINDOW_MS) * WINDOW_MS;
  },
  aggregate(into: WindowCells, window: number, campaign: string, e: YsbEvent): void {
    into.add(window, campaign, 1, e.user_id);
  },
};
