import { windowStart, type YsbEvent } from '../../kernel/events/ysb-event.js';
import type { LogicContext, StreamLogic, WindowHit } from './speed-logic.js';

/** Speed logic v1 = the YSB query: keep views, join ad → campaign, 10 s event-time window. */
export const speedLogicV1: StreamLogic = {
  version: 1,
  description: 'YSB: views per campaign per 10 s window',
  apply(e: YsbEvent, ctx: LogicContext): WindowHit | undefined {
    if (e.event_type !== 'view') return undefined;
    const campaign = ctx.campaignOf.get(e.ad_id);
    if (campaign === undefined) return undefined;
    return { campaign, window: windowStart(Number(e.event_time)), user: e.user_id };
  },
};
