/**
 * Kappa's business logic: one TS module per version, used by the live job and by every replay
 * alike — Kappa's single codebase, as opposed to Lambda's two (batch SQL + speed TS). These
 * modules deliberately import nothing from speed-layer/: the lab counts each architecture's logic
 * implementations separately.
 */

/** The projected fields of a YSB event the Kappa job works on (what the event scanner extracts). */
export interface KappaEvent {
  user_id: string;
  ad_id: string;
  event_type: string;
  /** Event time, epoch ms. */
  event_time: number;
}

/** Reference data the logic joins against. */
export interface KappaLogicContext {
  /** ad_id → campaign_id (the YSB join). */
  campaignOf: ReadonlyMap<string, string>;
  /** User ids of bots. */
  bots: ReadonlySet<string>;
  /** ad_id → new campaign_id of the ads the reorganisation moved (logic v3's join). */
  movedAds: ReadonlyMap<string, string>;
}

/**
 * The job's pending window state (the engine's): where the logic's aggregate step adds an event.
 */
export interface KappaCells {
  /** views of (window, campaign) += `views`; `user` joins the cell's distinct users. */
  add(window: number, campaign: string, views: number, user: string): void;
}

/**
 * A module holds the same four responsibilities as a batch SQL file (docs/metrics.md): filter and
 * join (`campaignFor`), window (`window`), aggregate (`aggregate`). The job's engine calls them and
 * does what is the engine's: watermark, allowed lateness, keeping the cells, checkpoints.
 */
export interface KappaLogic {
  version: number;
  description: string;
  /** Filter + join: the campaign an event counts for, or undefined when the logic drops it. */
  campaignFor(e: KappaEvent, ctx: KappaLogicContext): string | undefined;
  /** Window: the start (epoch ms) of the event-time window an event falls in. */
  window(e: KappaEvent): number;
  /** Aggregate: what one counted event adds to its (campaign, window) cell. */
  aggregate(into: KappaCells, window: number, campaign: string, e: KappaEvent): void;
}
