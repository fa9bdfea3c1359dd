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
}

export interface KappaLogic {
  version: number;
  description: string;
  /**
   * The campaign an event counts for, or undefined when the logic drops it. The job's engine
   * does the rest: 10 s event-time windows, watermark, allowed lateness, exact distinct users.
   */
  campaignFor(e: KappaEvent, ctx: KappaLogicContext): string | undefined;
}
