import type { BatchViews } from '../batch-layer/index.js';
import { loadRegistry, readKappaWindows } from '../kappa-reprocessor/index.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { queryViews } from '../query/view-query.js';
import { readRealtimeWindows } from '../speed-layer/index.js';
import type { MeasuredLayer } from './measurement-api.js';
import { truthCellKey } from './truth-count.js';

/** One layer's answer for one (campaign, window). */
export interface LayerCell {
  views: number;
  /** distinct users: exact (batch, Kappa) or a HyperLogLog estimate (speed) */
  users: number;
  logicVersion: number;
  /** where a Lambda answer came from */
  source?: 'batch' | 'speed';
}

export interface KappaJobRef {
  job: number;
  logicVersion: number;
  state: string;
}

/**
 * What GET /api/views?arch=…&metric=views answers over [from, to), by window then campaign (the
 * serving layer's own query code).
 */
export async function readServed(
  src: LayerSources,
  arch: 'lambda' | 'kappa',
  from: number,
  to: number,
  now: number,
): Promise<Map<number, Map<string, number>>> {
  const answer = await queryViews({ arch, metric: 'views', from, to }, src.views, src.store, now);
  const out = new Map<number, Map<string, number>>();
  for (const w of answer.windows) {
    let m = out.get(w.window_start);
    if (!m) out.set(w.window_start, (m = new Map()));
    m.set(w.campaign_id, w.value);
  }
  return out;
}

/** Every layer's answers for a set of windows, read the way the serving layer reads them. */
export interface LayerReadings {
  boundary: number | null;
  batchLogicVersion: number | null;
  kappa: KappaJobRef | null;
  candidate: KappaJobRef | null;
  cells: Partial<Record<MeasuredLayer, Map<string, LayerCell>>>;
}

export interface LayerSources {
  views: BatchViews;
  store: RealtimeStore;
}

/**
 * Reads batch (the current batch view), speed (the realtime views), lambda (the serving layer's
 * merged answer, through the same query code as GET /api/views), kappa (the active table) and
 * kappa_candidate (a replay's table, when one runs) for `windows`.
 */
export async function readLayers(
  src: LayerSources,
  windows: readonly number[],
  now: number,
  campaign?: string,
): Promise<LayerReadings> {
  const cells: LayerReadings['cells'] = {};
  const batch = new Map<string, LayerCell>();
  const pinned = src.views.pin();
  let boundary: number | null = null;
  let batchLogicVersion: number | null = null;
  try {
    const view = pinned.view;
    if (view) {
      boundary = view.boundary;
      batchLogicVersion = view.logicVersion;
      for (const w of windows) {
        view.cells.forEachIn(
          w,
          (c, views, users) =>
            batch.set(truthCellKey(c, w), {
              views,
              users,
              logicVersion: view.logicVersion,
            }),
          campaign || undefined,
        );
      }
    }
  } finally {
    pinned.release();
  }
  cells.batch = batch;

  const speed = new Map<string, LayerCell>();
  for (const r of await readRealtimeWindows(src.store, windows, { campaign, distinct: true })) {
    speed.set(truthCellKey(r.campaign, r.window), {
      views: r.views,
      users: r.distinctUsers ?? 0,
      logicVersion: r.logicVersion,
    });
  }
  cells.speed = speed;

  const lambda = new Map<string, LayerCell>();
  if (windows.length > 0) {
    const from = windows[0]!;
    const to = windows[windows.length - 1]! + 1;
    const [v, u] = await Promise.all(
      (['views', 'distinct_users'] as const).map((metric) =>
        queryViews({ arch: 'lambda', metric, from, to, campaign }, src.views, src.store, now),
      ),
    );
    const wanted = new Set(windows);
    for (const w of v!.windows) {
      if (!wanted.has(w.window_start)) continue;
      lambda.set(truthCellKey(w.campaign_id, w.window_start), {
        views: w.value,
        users: 0,
        logicVersion: w.logicVersion,
        source: w.source === 'batch' ? 'batch' : 'speed',
      });
    }
    for (const w of u!.windows) {
      const cell = lambda.get(truthCellKey(w.campaign_id, w.window_start));
      if (cell) cell.users = w.value;
    }
  }
  cells.lambda = lambda;

  const registry = await loadRegistry(src.store);
  const active = registry.active;
  const kappa: KappaJobRef | null = active
    ? {
        job: active.job,
        logicVersion: active.logicVersion,
        state: registry.jobs.get(active.job)?.state ?? 'live',
      }
    : null;
  const cand = [...registry.jobs.values()]
    .filter((j) => j.state === 'replaying' || j.state === 'caught-up')
    .sort((a, b) => b.id - a.id)[0];
  const candidate: KappaJobRef | null = cand
    ? { job: cand.id, logicVersion: cand.logicVersion, state: cand.state }
    : null;
  const readKappa = async (ref: KappaJobRef): Promise<Map<string, LayerCell>> => {
    const m = new Map<string, LayerCell>();
    for (const r of await readKappaWindows(src.store, ref.job, windows, {
      campaign,
      distinct: true,
    })) {
      m.set(truthCellKey(r.campaign, r.window), {
        views: r.views,
        users: r.distinctUsers ?? 0,
        logicVersion: ref.logicVersion,
      });
    }
    return m;
  };
  if (kappa) cells.kappa = await readKappa(kappa);
  if (candidate) cells.kappa_candidate = await readKappa(candidate);
  return { boundary, batchLogicVersion, kappa, candidate, cells };
}
