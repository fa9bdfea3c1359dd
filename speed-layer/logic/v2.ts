import { windowStart, type YsbEvent } from '../../kernel/events/ysb-event.js';
import type { LogicContext, StreamLogic, WindowHit } from './speed-logic.js';

/** Speed logic v2 = YSB without bot users. */
export const speedLogicV2: StreamLogic = {
  version: 2,
  description: 'YSB without bot users',
  apply(e: YsbEvent, ctx: LogicContext): WindowHit | undefined {
    if (e.event_type !== 'view') return undefined;
    if (ctx.bots.has(e.user_id)) return undefined;
    const campaign = ctx.campaignOf.get(e.ad_id);
    if (campaign === undefined) return undefined;
    return { campaign, window: windowStart(Number(e.event_time)), user: e.user_id };
  },
};
