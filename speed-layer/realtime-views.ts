import type { RealtimeStore, StoreUpdate } from '../kernel/ports/realtime-store.js';

/**
 * Key layout of the speed layer's realtime views in the realtime store, and the reads and writes
 * over it. The keys stay inside speed-layer/: other folders read through the functions that
 * speed-layer/index.ts exports.
 */
export const SPEED_PREFIX = 'lklab:speed:';
export const viewsKey = (w: number): string => `${SPEED_PREFIX}views:${w}`;
export const updatedKey = (w: number): string => `${SPEED_PREFIX}updated:${w}`;
export const usersKey = (w: number, campaign: string): string => `${SPEED_PREFIX}users:${w}:${campaign}`;
/** Meta fields in the updated:{w} hash: the batch boundary the window extends, and the logic version. */
export const EXTENDS_FIELD = '__extends';
export const LOGIC_FIELD = '__logic';

/** Written by whoever publishes a batch view: boundary, version, logicVersion (control plane via the store). */
export const BATCH_META_KEY = 'lklab:batch:meta';
/** Desired state for components in other processes: speedLogicVersion. */
export const CONTROL_KEY = 'lklab:control';
/** The speed layer's last status (JSON in field "json"), for processes that do not host it. */
export const SPEED_STATUS_KEY = 'lklab:status:speed';

/** A flush's counts: window → campaign → views and the users seen. */
export type FlushCounts = ReadonlyMap<
  number,
  ReadonlyMap<string, { views: number; users: ReadonlySet<string> }>
>;

/**
 * The one store update a flush writes at `now`: per (window, campaign) the views added, the time
 * updated and the users' sketch; per window the batch boundary it extends and the logic version.
 */
export function flushUpdate(
  counts: FlushCounts,
  now: number,
  extendsBoundary: number,
  logicVersion: number,
): StoreUpdate {
  const update: StoreUpdate = { increments: [], sets: [], sketches: [] };
  for (const [w, byCampaign] of counts) {
    for (const [campaign, p] of byCampaign) {
      update.increments!.push({ key: viewsKey(w), field: campaign, by: p.views });
      update.sets!.push({ key: updatedKey(w), field: campaign, value: now });
      update.sketches!.push({ key: usersKey(w, campaign), members: [...p.users] });
    }
    update.sets!.push({ key: updatedKey(w), field: EXTENDS_FIELD, value: extendsBoundary });
    update.sets!.push({ key: updatedKey(w), field: LOGIC_FIELD, value: logicVersion });
  }
  return update;
}

/**
 * The speed logic version deployed through the store's control record (by a process that may
 * not host the speed layer); undefined when none was requested.
 */
export async function readRequestedSpeedLogicVersion(store: RealtimeStore): Promise<number | undefined> {
  const [control] = await store.getManyFields([CONTROL_KEY]);
  return control?.speedLogicVersion ? Number(control.speedLogicVersion) : undefined;
}

/** Per window, the times (epoch ms) its campaigns were last flushed: YSB's `time_updated`. */
export async function readWindowUpdateTimes(
  store: RealtimeStore,
  windows: readonly number[],
): Promise<number[][]> {
  const hashes = await store.getManyFields(windows.map((w) => updatedKey(w)));
  return hashes.map((h) =>
    Object.entries(h)
      .filter(([f]) => f !== EXTENDS_FIELD && f !== LOGIC_FIELD)
      .map(([, v]) => Number(v)),
  );
}

/**
 * Memory the realtime views take in the store: all their keys, or the users' HyperLogLog sketches
 * only; null when the store cannot tell.
 */
export function realtimeViewsMemoryBytes(
  store: RealtimeStore,
  part: 'all' | 'sketches' = 'all',
): Promise<number | null> {
  if (!store.memoryBytes) return Promise.resolve(null);
  return store.memoryBytes(part === 'all' ? SPEED_PREFIX : `${SPEED_PREFIX}users:`);
}

/**
 * Marz's expiry: deletes the realtime windows below `below` (a boundary a batch view covers).
 * Returns the windows deleted.
 */
export async function expireRealtimeWindows(store: RealtimeStore, below: number): Promise<number[]> {
  // One scan of the speed layer's keys, then one batched delete (a scan per window would be
  // quadratic: 1,000 windows × 100,000 keys).
  const doomedKeys: string[] = [];
  const doomed = new Set<number>();
  for (const key of await store.keys(SPEED_PREFIX)) {
    const w = windowOfKey(key);
    if (w !== undefined && w < below) {
      doomedKeys.push(key);
      doomed.add(w);
    }
  }
  await store.deleteKeys(doomedKeys);
  return [...doomed].sort((a, b) => a - b);
}

/** The window a speed-layer key belongs to (views:<w>, updated:<w>, users:<w>:<campaign>). */
function windowOfKey(key: string): number | undefined {
  const rest = key.slice(SPEED_PREFIX.length);
  const m = /^(?:views|updated|users):(\d+)/.exec(rest);
  return m ? Number(m[1]) : undefined;
}

export interface RealtimeWindow {
  campaign: string;
  window: number;
  views: number;
  /** HyperLogLog estimate; undefined unless asked for. */
  distinctUsers: number | undefined;
  timeUpdated: number;
  logicVersion: number;
  /** The batch boundary this window extended when last flushed. */
  extendsBoundary: number;
}

/** Reads realtime views for a window range (the serving layer's speed side). */
export async function readRealtimeWindows(
  store: RealtimeStore,
  windows: readonly number[],
  options: { campaign?: string | undefined; distinct: boolean },
): Promise<RealtimeWindow[]> {
  if (windows.length === 0) return [];
  const keys = windows.flatMap((w) => [viewsKey(w), updatedKey(w)]);
  const hashes = await store.getManyFields(keys);
  const out: RealtimeWindow[] = [];
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    const views = hashes[2 * i]!;
    const updated = hashes[2 * i + 1]!;
    const logicVersion = Number(updated[LOGIC_FIELD] ?? 0);
    const extendsBoundary = Number(updated[EXTENDS_FIELD] ?? 0);
    // for-in, not Object.entries: no [key, value] array per field (the serving layer reads ~100
    // fields per window per query, at up to 1,000 queries/s).
    for (const campaign in views) {
      if (options.campaign && campaign !== options.campaign) continue;
      out.push({
        campaign,
        window: w,
        views: Number(views[campaign]),
        distinctUsers: undefined,
        timeUpdated: Number(updated[campaign] ?? 0),
        logicVersion,
        extendsBoundary,
      });
    }
  }
  if (options.distinct && out.length > 0) {
    const counts = await store.sketchCountMany(out.map((r) => usersKey(r.window, r.campaign)));
    out.forEach((r, i) => (r.distinctUsers = counts[i]));
  }
  return out;
}
