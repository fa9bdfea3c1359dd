import { WINDOW_MS, type YsbEvent } from '../../kernel/events/ysb-event.js';
import type { LogicContext, StreamLogic, WindowCells } from './speed-logic.js';

/** Speed logic v1 = the YSB query: keep views, join ad → campaign, 10 s event-time window. */
export const speedLogicV1: StreamLogic = {
  version: 1,
  description: 'YSB: views per campaign per 10 s window',
  campaignFor(e: YsbEvent, ctx: LogicContext): string | undefined {
    if (e.event_type !== 'view') return undefined;
    return ctx.campaignOf.get(e.ad_id);
  },
  window(e: YsbEvent): number {
    return Math.floor(Number(e.event_time) / WINDOW_MS) * WINDOW_MS;
  },
  aggregate(into: WindowCells, window: number, campaign: string, e: YsbEvent): void {
    into.add(window, campaign, 1, e.user_id);
  },
};
