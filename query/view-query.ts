import { WINDOW_MS, windowStart } from '../kernel/events/ysb-event.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import type { BatchView, BatchViews } from '../batch-layer/index.js';
import { readRealtimeWindows } from '../speed-layer/index.js';
import { queryKappaViews } from './kappa-query.js';

export type Arch = 'lambda' | 'batch' | 'speed' | 'kappa';
export type Metric = 'views' | 'distinct_users';

export interface ViewQuery {
  arch: Arch;
  metric: Metric;
  from: number;
  to: number;
  campaign?: string | undefined;
}

export interface ServedWindow {
  campaign_id: string;
  window_start: number;
  value: number;
  source: 'batch' | 'speed' | 'kappa';
  /** Batch view version, the speed layer's logic version for realtime windows, or the Kappa job (N of kappa_vN). */
  version: number;
  logicVersion: number;
}

export interface ViewAnswer {
  arch: Arch;
  metric: Metric;
  from: number;
  to: number;
  /** Exclusive event-time upper bound of the pinned batch view (null before the first batch run). */
  boundary: number | null;
  batchVersion: number | null;
  batchLogicVersion: number | null;
  /** now − boundary: how far the batch view lags behind. */
  boundaryLagMs: number | null;
  windows: ServedWindow[];
}

/** Most windows one query may span (10 s each: 10,000 windows ≈ 28 hours). */
export const MAX_QUERY_WINDOWS = 10_000;

/**
 * Answers a view query. For arch=lambda the split is exact: windows below the pinned batch
 * version's boundary come from that version, windows at or above it from the realtime views
 * (Pinot's hybrid-table split). One batch version per query: it is pinned for the whole answer.
 */
export async function queryViews(
  q: ViewQuery,
  views: BatchViews,
  store: RealtimeStore,
  now: number,
): Promise<ViewAnswer> {
  if (q.arch === 'kappa') return queryKappaViews({ ...q, arch: 'kappa' }, store);
  const pinned = views.pin();
  try {
    const batch = pinned.view;
    const boundary = batch?.boundary ?? null;
    const windows = windowRange(q.from, q.to);
    const out: ServedWindow[] = [];
    const useBatch = q.arch === 'batch' || q.arch === 'lambda';
    const useSpeed = q.arch === 'speed' || q.arch === 'lambda';
    const split = q.arch === 'lambda' ? (boundary ?? Number.MIN_SAFE_INTEGER) : undefined;
    if (useBatch && batch) {
      for (const w of windows) {
        if (split !== undefined && w >= split) break;
        pushBatch(out, batch, w, q);
      }
    }
    if (useSpeed) {
      const speedWindows = split === undefined ? windows : windows.filter((w) => w >= split);
      const rt = await readRealtimeWindows(store, speedWindows, {
        campaign: q.campaign,
        distinct: q.metric === 'distinct_users',
      });
      for (const r of rt) {
        out.push({
          campaign_id: r.campaign,
          window_start: r.window,
          value: q.metric === 'views' ? r.views : (r.distinctUsers ?? 0),
          source: 'speed',
          version: r.logicVersion,
          logicVersion: r.logicVersion,
        });
      }
    }
    out.sort(
      (a, b) =>
        a.window_start - b.window_start ||
        (a.campaign_id < b.campaign_id ? -1 : a.campaign_id > b.campaign_id ? 1 : 0),
    );
    return {
      arch: q.arch,
      metric: q.metric,
      from: q.from,
      to: q.to,
      boundary,
      batchVersion: batch?.version ?? null,
      batchLogicVersion: batch?.logicVersion ?? null,
      boundaryLagMs: boundary === null ? null : Math.max(0, now - boundary),
      windows: out,
    };
  } finally {
    pinned.release();
  }
}

function pushBatch(out: ServedWindow[], batch: BatchView, w: number, q: ViewQuery): void {
  batch.cells.forEachIn(
    w,
    (campaign, views, distinctUsers) =>
      out.push({
        campaign_id: campaign,
        window_start: w,
        value: q.metric === 'views' ? views : distinctUsers,
        source: 'batch',
        version: batch.version,
        logicVersion: batch.logicVersion,
      }),
    q.campaign,
  );
}

/** Window starts covering [from, to). */
export function windowRange(from: number, to: number): number[] {
  const out: number[] = [];
  for (let w = windowStart(from); w < to; w += WINDOW_MS) out.push(w);
  return out;
}
