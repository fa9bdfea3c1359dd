import { windowStart, type YsbEvent } from '../kernel/events/ysb-event.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';

export interface Truth {
  views: Map<string, number>;
  distinct: Map<string, Set<string>>;
}

export const cellKey = (campaign: string, window: number): string => `${campaign}|${window}`;

/**
 * YSB's correctness check, independently of the code under test: recount views (and distinct users)
 * per (campaign, window) straight from the events.
 */
export function recount(
  events: Iterable<YsbEvent>,
  ref: ReferenceData,
  options: { excludeBots?: boolean; joinMovedAds?: boolean } = {},
): Truth {
  const bots = new Set(options.excludeBots ? ref.bots : []);
  const views = new Map<string, number>();
  const distinct = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.event_type !== 'view' || bots.has(e.user_id)) continue;
    const known = ref.campaignOf.get(e.ad_id);
    if (!known) continue;
    const campaign = (options.joinMovedAds ? ref.movedAds.get(e.ad_id) : undefined) ?? known;
    const k = cellKey(campaign, windowStart(Number(e.event_time)));
    views.set(k, (views.get(k) ?? 0) + 1);
    let s = distinct.get(k);
    if (!s) distinct.set(k, (s = new Set()));
    s.add(e.user_id);
  }
  return { views, distinct };
}

export interface Verdicts {
  correct: number;
  differ: number;
  missing: number;
  /** Served cells the truth does not have. */
  extra: number;
  examples: string[];
}

/** YSB verdicts of served cells against the truth, over the truth's cells in [from, to). */
export function verdicts(
  served: Map<string, number>,
  truth: Map<string, number | Set<string>>,
  from: number,
  to: number,
): Verdicts {
  const v: Verdicts = { correct: 0, differ: 0, missing: 0, extra: 0, examples: [] };
  for (const [k, t] of truth) {
    const w = Number(k.split('|')[1]);
    if (w < from || w >= to) continue;
    const expected = typeof t === 'number' ? t : t.size;
    const got = served.get(k);
    if (got === undefined) {
      v.missing++;
      if (v.examples.length < 5) v.examples.push(`${k}: missing (truth ${expected})`);
    } else if (got === expected) v.correct++;
    else {
      v.differ++;
      if (v.examples.length < 5) v.examples.push(`${k}: ${got} != truth ${expected}`);
    }
  }
  for (const k of served.keys()) {
    const w = Number(k.split('|')[1]);
    if (w >= from && w < to && !truth.has(k)) v.extra++;
  }
  return v;
}
