import { WINDOW_MS, windowStart } from '../kernel/events/ysb-event.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { readActive, readServedWindows } from '../kappa-reprocessor/index.js';

export interface KappaQuery {
  arch: 'kappa';
  metric: 'views' | 'distinct_users';
  from: number;
  to: number;
  campaign?: string | undefined;
}

/** The ViewAnswer shape of view-query.ts (kept structural so the two modules do not import each other). */
export interface KappaAnswer {
  arch: 'kappa';
  metric: 'views' | 'distinct_users';
  from: number;
  to: number;
  boundary: null;
  batchVersion: null;
  batchLogicVersion: null;
  boundaryLagMs: null;
  windows: Array<{
    campaign_id: string;
    window_start: number;
    value: number;
    source: 'kappa';
    version: number;
    logicVersion: number;
  }>;
}

/**
 * arch=kappa: answers from the ACTIVE Kappa table — and, while a switchover's cutover lasts, from
 * the tables its mode names (reader-cutover.ts: overlap sums jobs N and N+1, gate takes windows
 * before T from N). The pointer is read once per query, so a switchover during the query never
 * mixes two decisions; every window carries the job (N of kappa_vN, as `version`; the newer job
 * when two were summed) and its logic version as provenance. `now` (ms) is the lab's clock.
 */
export async function queryKappaViews(
  q: KappaQuery,
  store: RealtimeStore,
  now: number,
): Promise<KappaAnswer> {
  const active = await readActive(store);
  const windows: KappaAnswer['windows'] = [];
  if (active) {
    const range: number[] = [];
    for (let w = windowStart(q.from); w < q.to; w += WINDOW_MS) range.push(w);
    const rows = await readServedWindows(
      store,
      active,
      range,
      { campaign: q.campaign, distinct: q.metric === 'distinct_users' },
      now,
    );
    for (const r of rows) {
      const from = r.sources[r.sources.length - 1]!;
      windows.push({
        campaign_id: r.campaign,
        window_start: r.window,
        value: q.metric === 'views' ? r.views : (r.distinctUsers ?? 0),
        source: 'kappa',
        version: from.job,
        logicVersion: from.logicVersion,
      });
    }
  }
  windows.sort(
    (a, b) =>
      a.window_start - b.window_start ||
      (a.campaign_id < b.campaign_id ? -1 : a.campaign_id > b.campaign_id ? 1 : 0),
  );
  return {
    arch: 'kappa',
    metric: q.metric,
    from: q.from,
    to: q.to,
    boundary: null,
    batchVersion: null,
    batchLogicVersion: null,
    boundaryLagMs: null,
    windows,
  };
}
