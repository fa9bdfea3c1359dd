import type { YsbEvent } from '../../kernel/events/ysb-event.js';

/** Reference data the logic joins against. */
export interface LogicContext {
  campaignOf: ReadonlyMap<string, string>;
  bots: ReadonlySet<string>;
  /** ad_id → new campaign_id of the ads the reorganisation moved (logic v3's join). */
  movedAds: ReadonlyMap<string, string>;
}

/** The speed layer's pending window state: where the logic's aggregate step adds an event. */
export interface WindowCells {
  /** views of (window, campaign) += `views`; `user` joins the cell's distinct users. */
  add(window: number, campaign: string, views: number, user: string): void;
}

/**
 * Stream-side business logic (speed layer; the Kappa job has its own modules): one module per
 * version, so the Lambda cost of "two codebases for one logic" is countable. A module holds the
 * same four responsibilities as a batch SQL file (docs/metrics.md): filter and join
 * (`campaignFor`), window (`window`), aggregate (`aggregate`); the speed layer only calls them
 * and keeps the cells.
 */
export interface StreamLogic {
  version: number;
  description: string;
  /** Filter + join: the campaign an event counts for, or undefined when the logic drops it. */
  campaignFor(e: YsbEvent, ctx: LogicContext): string | undefined;
  /** Window: the start (epoch ms) of the event-time window an event falls in. */
  window(e: YsbEvent): number;
  /** Aggregate: what one counted event adds to its (campaign, window) cell. */
  aggregate(into: WindowCells, window: number, campaign: string, e: YsbEvent): void;
}
