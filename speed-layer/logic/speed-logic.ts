import type { YsbEvent } from '../../kernel/events/ysb-event.js';

/** Reference data the logic joins against. */
export interface LogicContext {
  campaignOf: ReadonlyMap<string, string>;
  bots: ReadonlySet<string>;
}

/** One (campaign, window) contribution of an event, or undefined when the logic drops the event. */
export interface WindowHit {
  campaign: string;
  window: number;
  user: string;
}

/**
 * Stream-side business logic (speed layer; the Kappa job has its own modules): one module per
 * version, so the Lambda cost of "two codebases for one logic" is countable.
 */
export interface StreamLogic {
  version: number;
  description: string;
  apply(e: YsbEvent, ctx: LogicContext): WindowHit | undefined;
}
