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
  if (q.arch === 'kappa') return queryKappaViews({ ...q, arch: 'kappa' }, store, now);
  return withParts(q, views, store, now, (head, batch, batchWindows, speed) => {
    const out: ServedWindow[] = [];
    if (batch) for (const w of batchWindows) pushBatch(out, batch, w, q);
    out.push(...speed);
    return { ...head, windows: out };
  });
}

/**
 * The same answer as `queryViews`, serialized: exactly the UTF-8 bytes of
 * `JSON.stringify(await queryViews(...))` (test: query/view-query.test.ts), as one Buffer. A
 * published batch view never changes, so the serialized rows of its windows are kept in `rows`,
 * and so is the joined block of all the batch windows an answer covers: every query over the same
 * range reuses that one Buffer, with no per-window lookups or keys. Only the envelope and the
 * realtime windows are serialized per query.
 * At 1,000 queries/s over 5 minutes of all campaigns (≈ 3,000 rows, 436 KB per answer), garbage the
 * serving layer makes per query reaches V8's old generation while queries overlap scavenges, and
 * each major GC it brings holds the event loop for 5–30 ms (docs/targets.md).
 */
export async function queryViewsJson(
  q: ViewQuery,
  views: BatchViews,
  store: RealtimeStore,
  now: number,
  rows: BatchRowCache,
): Promise<Buffer> {
  if (q.arch === 'kappa') return Buffer.from(JSON.stringify(await queryViews(q, views, store, now)));
  return withParts(q, views, store, now, (head, batch, batchWindows, speed) => {
    const envelope = JSON.stringify({ ...head, windows: [] });
    const parts: Buffer[] = [Buffer.from(envelope.slice(0, -2))];
    const block = batch ? rows.blockOf(batch, batchWindows, q) : EMPTY;
    if (block.length > 0) parts.push(block);
    if (speed.length > 0) {
      if (block.length > 0) parts.push(COMMA);
      parts.push(Buffer.from(speed.map((r) => JSON.stringify(r)).join(',')));
    }
    parts.push(CLOSE);
    return Buffer.concat(parts);
  });
}

const EMPTY = Buffer.alloc(0);
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

type AnswerHead = Omit<ViewAnswer, 'windows'>;

/** Pins the batch view, reads the realtime rows, and hands both to `build` while still pinned. */
async function withParts<T>(
  q: ViewQuery,
  views: BatchViews,
  store: RealtimeStore,
  now: number,
  build: (head: AnswerHead, batch: BatchView | undefined, batchWindows: number[], speed: ServedWindow[]) => T,
): Promise<T> {
  const pinned = views.pin();
  try {
    const batch = pinned.view;
    const boundary = batch?.boundary ?? null;
    const windows = windowRange(q.from, q.to);
    const useBatch = q.arch === 'batch' || q.arch === 'lambda';
    const useSpeed = q.arch === 'speed' || q.arch === 'lambda';
    const split = q.arch === 'lambda' ? (boundary ?? Number.MIN_SAFE_INTEGER) : undefined;
    const batchWindows = useBatch && batch ? windows.filter((w) => split === undefined || w < split) : [];
    const speed: ServedWindow[] = [];
    if (useSpeed) {
      const speedWindows = split === undefined ? windows : windows.filter((w) => w >= split);
      const rt = await readRealtimeWindows(store, speedWindows, {
        campaign: q.campaign,
        distinct: q.metric === 'distinct_users',
      });
      for (const r of rt) {
        speed.push({
          campaign_id: r.campaign,
          window_start: r.window,
          value: q.metric === 'views' ? r.views : (r.distinctUsers ?? 0),
          source: 'speed',
          version: r.logicVersion,
          logicVersion: r.logicVersion,
        });
      }
      speed.sort(byWindowThenCampaign);
    }
    const head: AnswerHead = {
      arch: q.arch,
      metric: q.metric,
      from: q.from,
      to: q.to,
      boundary,
      batchVersion: batch?.version ?? null,
      batchLogicVersion: batch?.logicVersion ?? null,
      boundaryLagMs: boundary === null ? null : Math.max(0, now - boundary),
    };
    return build(head, batch, batchWindows, speed);
  } finally {
    pinned.release();
  }
}

function byWindowThenCampaign(a: ServedWindow, b: ServedWindow): number {
  return (
    a.window_start - b.window_start ||
    (a.campaign_id < b.campaign_id ? -1 : a.campaign_id > b.campaign_id ? 1 : 0)
  );
}

/** One batch window's rows, sorted by campaign (batch windows come in window order). */
function pushBatch(out: ServedWindow[], batch: BatchView, w: number, q: ViewQuery): void {
  const rows: ServedWindow[] = [];
  batch.cells.forEachIn(
    w,
    (campaign, views, distinctUsers) =>
      rows.push({
        campaign_id: campaign,
        window_start: w,
        value: q.metric === 'views' ? views : distinctUsers,
        source: 'batch',
        version: batch.version,
        logicVersion: batch.logicVersion,
      }),
    q.campaign,
  );
  rows.sort(byWindowThenCampaign);
  for (const r of rows) out.push(r);
}

/**
 * Serialized rows of batch windows, per (batch view, metric, campaign filter, window), under a
 * byte budget (oldest first out). Exact without invalidation: a batch view is immutable, and a
 * newer view has its own entries (the older ones age out).
 */
export class BatchRowCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = 8 * 1024 * 1024) {}

  rowsOf(batch: BatchView, w: number, q: ViewQuery): Buffer {
    const key = `${batch.version}|${batch.boundary}|${q.metric}|${q.campaign ?? ''}|${w}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const out: ServedWindow[] = [];
    pushBatch(out, batch, w, q);
    return this.keep(key, Buffer.from(out.map((r) => JSON.stringify(r)).join(',')));
  }

  /** The rows of `windows` (ascending, as an answer lists them), joined by commas; '' when none. */
  blockOf(batch: BatchView, windows: readonly number[], q: ViewQuery): Buffer {
    if (windows.length === 0) return EMPTY;
    const key = `${batch.version}|${batch.boundary}|${q.metric}|${q.campaign ?? ''}|${windows[0]}..${windows.at(-1)}#${windows.length}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const parts: Buffer[] = [];
    for (const w of windows) {
      const fragment = this.rowsOf(batch, w, q);
      if (fragment.length === 0) continue;
      if (parts.length > 0) parts.push(COMMA);
      parts.push(fragment);
    }
    return this.keep(key, Buffer.concat(parts));
  }

  /** Keeps `value` under `key` if it fits the budget, dropping the oldest entries; returns it. */
  private keep(key: string, value: Buffer): Buffer {
    if (value.length > this.maxBytes) return value;
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
    return value;
  }

  /** Cached bytes (UTF-8 JSON). */
  get size(): number {
    return this.bytes;
  }
}

/** Window starts covering [from, to). */
export function windowRange(from: number, to: number): number[] {
  const out: number[] = [];
  for (let w = windowStart(from); w < to; w += WINDOW_MS) out.push(w);
  return out;
}
