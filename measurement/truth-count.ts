import { WINDOW_MS, windowStart } from '../kernel/events/ysb-event.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import {
  TRUTH_LOGIC,
  truthAdmits,
  truthCampaign,
  truthLogicVersions,
  type TruthLogic,
} from './truth-logic.js';

/**
 * The pure part of the truth: which log records are YSB events, their window and lateness, and the
 * exact count per (campaign, window) under each logic version of truth-logic.ts. The truth oracle
 * (truth-oracle.ts, DuckDB) and the scenario runner's tracker (scenarios/truth-tracker.ts, in
 * memory) read events with it; tests keep one independent recount (test-support/recount.ts).
 */

/** One YSB event as the truth reads it. */
export interface TruthEvent {
  /** event time, ms */
  time: number;
  /** start of its 10 s window, ms */
  window: number;
  adId: string;
  userId: string;
  type: string;
}

export const truthCellKey = (campaign: string, window: number): string => `${campaign}|${window}`;

/** A parsed log record as a YSB event; undefined when it is not one (the oracle counts it invalid). */
export function toTruthEvent(e: unknown): TruthEvent | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const r = e as Record<string, unknown>;
  const time = typeof r.event_time === 'string' ? Number(r.event_time) : Number.NaN;
  if (
    !Number.isFinite(time) ||
    typeof r.ad_id !== 'string' ||
    typeof r.user_id !== 'string' ||
    typeof r.event_type !== 'string'
  )
    return undefined;
  return { time, window: windowStart(time), adId: r.ad_id, userId: r.user_id, type: r.event_type };
}

/**
 * How late an event of `window` is for an exact stream job whose watermark is `watermark`: late once
 * the watermark passed the window's end, dropped once it passed the end + the allowed lateness.
 */
export function lateness(
  window: number,
  watermark: number,
  allowedLatenessMs: number,
): { late: boolean; dropped: boolean } {
  return {
    late: watermark >= window + WINDOW_MS,
    dropped: watermark >= window + WINDOW_MS + allowedLatenessMs,
  };
}

/** A (campaign, window) cell of an in-memory count. */
export interface CountedCell {
  campaign: string;
  window: number;
  views: number;
  users: Set<string>;
}

/** Exact in-memory counts per (campaign, window) under each logic version (all of truth-logic.ts by default). */
export class TruthCounter {
  /** YSB events counted (every type) */
  events = 0;
  private readonly byVersion: Array<{ version: number; logic: TruthLogic; cells: Map<string, CountedCell> }>;
  private readonly bots: ReadonlySet<string>;

  constructor(
    private readonly reference: ReferenceData,
    versions: readonly number[] = truthLogicVersions(),
  ) {
    this.bots = new Set(reference.bots);
    this.byVersion = versions.map((version) => {
      const logic = TRUTH_LOGIC.get(version);
      if (!logic) throw new RangeError(`the truth has no statement of logic v${version} (truth-logic.ts)`);
      return { version, logic, cells: new Map() };
    });
  }

  /** Counts one event: a view of a known ad, under every version that admits it. */
  add(e: TruthEvent): void {
    this.events++;
    if (e.type !== 'view') return;
    for (const { logic, cells } of this.byVersion) {
      const campaign = truthCampaign(logic, e.adId, this.reference);
      if (campaign === undefined || !truthAdmits(logic, e.userId, this.bots)) continue;
      const key = truthCellKey(campaign, e.window);
      let c = cells.get(key);
      if (!c) cells.set(key, (c = { campaign, window: e.window, views: 0, users: new Set() }));
      c.views++;
      c.users.add(e.userId);
    }
  }

  /** The cells of a version; undefined for a version this counter does not count. */
  cells(version: number): Map<string, CountedCell> | undefined {
    return this.byVersion.find((v) => v.version === version)?.cells;
  }

  /** The versions counted, ascending as given. */
  versions(): number[] {
    return this.byVersion.map((v) => v.version);
  }
}
