/**
 * Key layout of the Kappa output tables and control keys in the realtime store, and the
 * read/write helpers around it. Job N writes only under `lklab:kappa:v<N>:` (its table kappa_vN):
 *
 *   lklab:kappa:v<N>:views:<window>     hash campaign → views (counter)
 *   lklab:kappa:v<N>:users:<window>     hash "<campaign>:<user>" → 1 (exact distinct users; one key
 *                                       per window rather than per cell: 100× fewer keys to probe)
 *   lklab:kappa:v<N>:updated:<window>   hash campaign → time_updated (ms; YSB's latency input)
 *   lklab:kappa:v<N>:meta               hash: counters (processed, counted, late, dropped, invalid,
 *                                       slowPath) and maxEventTime:<partition> (the watermark state)
 *
 * Control plane (written only by the lab's KappaReprocessor, read by everyone):
 *
 *   lklab:kappa:jobs     hash job id → job record (JSON)
 *   lklab:kappa:active   hash job, logicVersion, previous, switchedAt: THE pointer readers follow;
 *                        a switchover or rollback rewrites it in one atomic apply
 *
 * Consumed offsets live in the store's offset space under namespace `kappa-v<N>`, committed in the
 * same apply as the state they produced.
 */
import type { CounterIncrement, FieldSet, RealtimeStore, StoreUpdate } from '../kernel/ports/realtime-store.js';
import type { CheckpointDelta, DeltaCounters } from './checkpoint-delta.js';

export const KAPPA_PREFIX = 'lklab:kappa:';
export const JOBS_KEY = `${KAPPA_PREFIX}jobs`;
export const ACTIVE_KEY = `${KAPPA_PREFIX}active`;

export const tablePrefix = (job: number): string => `${KAPPA_PREFIX}v${job}:`;
export const tableName = (job: number): string => `kappa_v${job}`;
export const offsetsNamespace = (job: number): string => `kappa-v${job}`;
export const viewsKey = (job: number, w: number): string => `${tablePrefix(job)}views:${w}`;
export const usersKey = (job: number, w: number): string => `${tablePrefix(job)}users:${w}`;
export const updatedKey = (job: number, w: number): string => `${tablePrefix(job)}updated:${w}`;
export const metaKey = (job: number): string => `${tablePrefix(job)}meta`;
export const maxEventTimeField = (partition: number): string => `maxEventTime:${partition}`;
export const userField = (campaign: string, user: string): string => `${campaign}:${user}`;

/** Counter fields of the meta hash. */
export const META_COUNTERS: ReadonlyArray<keyof DeltaCounters> = ['processed', 'counted', 'late', 'dropped', 'invalid', 'slowPath'];

export interface CheckpointContent {
  job: number;
  /** Per partition: the delta, the next offset to consume and the highest event time seen. */
  partitions: Array<{ partition: number; delta: CheckpointDelta; next: number; maxEventTime: number }>;
  /** time_updated written for every changed cell. */
  now: number;
}

/** One atomic update: the pre-aggregated output, the watermark state and the consumed offsets. */
export function toStoreUpdate(c: CheckpointContent): StoreUpdate {
  const increments: CounterIncrement[] = [];
  const sets: FieldSet[] = [];
  const offsets: Record<number, number> = {};
  const totals: Record<string, number> = {};
  // Merge the partitions' cells first: one increment per (window, campaign).
  const views = new Map<number, Map<string, number>>();
  for (const p of c.partitions) {
    offsets[p.partition] = p.next;
    if (p.maxEventTime >= 0) sets.push({ key: metaKey(c.job), field: maxEventTimeField(p.partition), value: p.maxEventTime });
    for (const k of META_COUNTERS) totals[k] = (totals[k] ?? 0) + p.delta.counters[k];
    for (const [w, cells] of p.delta.windows) {
      let byCampaign = views.get(w);
      if (!byCampaign) views.set(w, (byCampaign = new Map()));
      const uKey = usersKey(c.job, w);
      for (const [campaign, cell] of cells) {
        byCampaign.set(campaign, (byCampaign.get(campaign) ?? 0) + cell.views);
        for (const u of cell.users) sets.push({ key: uKey, field: userField(campaign, u), value: '1' });
      }
    }
  }
  for (const [w, byCampaign] of views) {
    const vKey = viewsKey(c.job, w);
    const tKey = updatedKey(c.job, w);
    for (const [campaign, n] of byCampaign) {
      increments.push({ key: vKey, field: campaign, by: n });
      sets.push({ key: tKey, field: campaign, value: c.now });
    }
  }
  for (const k of META_COUNTERS) if (totals[k]) increments.push({ key: metaKey(c.job), field: k, by: totals[k]! });
  return { increments, sets, offsets: { namespace: offsetsNamespace(c.job), offsets } };
}

/** Highest event time per partition as last checkpointed. */
export async function readMaxEventTimes(store: RealtimeStore, job: number): Promise<Map<number, number>> {
  const meta = await store.getFields(metaKey(job));
  const out = new Map<number, number>();
  for (const [f, v] of Object.entries(meta)) {
    if (f.startsWith('maxEventTime:')) out.set(Number(f.slice('maxEventTime:'.length)), Number(v));
  }
  return out;
}

/** The job's counters as last checkpointed. */
export async function readMetaCounters(store: RealtimeStore, job: number): Promise<DeltaCounters> {
  const meta = await store.getFields(metaKey(job));
  const out = {} as DeltaCounters;
  for (const k of META_COUNTERS) out[k] = Number(meta[k] ?? 0);
  return out;
}

/** Deletes a job's whole output table (views, users, updated, meta); returns the keys deleted. */
export async function deleteTable(store: RealtimeStore, job: number): Promise<number> {
  return store.deleteByPrefix(tablePrefix(job));
}

export interface ActivePointer {
  job: number;
  logicVersion: number;
  previous: number | null;
  switchedAt: number | null;
}

export function parseActive(fields: Record<string, string>): ActivePointer | null {
  if (fields.job === undefined) return null;
  return {
    job: Number(fields.job),
    logicVersion: Number(fields.logicVersion ?? 0),
    previous: fields.previous && fields.previous !== '' ? Number(fields.previous) : null,
    switchedAt: fields.switchedAt && fields.switchedAt !== '' ? Number(fields.switchedAt) : null,
  };
}

export async function readActive(store: RealtimeStore): Promise<ActivePointer | null> {
  return parseActive(await store.getFields(ACTIVE_KEY));
}

export interface KappaWindow {
  campaign: string;
  window: number;
  views: number;
  /** Exact distinct users; undefined unless asked for. */
  distinctUsers: number | undefined;
  timeUpdated: number;
}

/**
 * Reads one job's table for a window range (the serving layer's Kappa side). The caller reads the
 * active pointer once and passes its job, so a whole answer comes from one table.
 */
export async function readKappaWindows(
  store: RealtimeStore,
  job: number,
  windows: readonly number[],
  options: { campaign?: string | undefined; distinct: boolean },
): Promise<KappaWindow[]> {
  if (windows.length === 0) return [];
  const keys = windows.flatMap((w) => [viewsKey(job, w), updatedKey(job, w)]);
  const hashes = await store.getManyFields(keys);
  const out: KappaWindow[] = [];
  const withViews: number[] = [];
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    const views = hashes[2 * i]!;
    const updated = hashes[2 * i + 1]!;
    let any = false;
    for (const [campaign, count] of Object.entries(views)) {
      if (options.campaign && campaign !== options.campaign) continue;
      any = true;
      out.push({ campaign, window: w, views: Number(count), distinctUsers: undefined, timeUpdated: Number(updated[campaign] ?? 0) });
    }
    if (any) withViews.push(w);
  }
  if (options.distinct && withViews.length > 0) {
    const users = await store.getManyFields(withViews.map((w) => usersKey(job, w)));
    const distinct = new Map<string, number>();
    withViews.forEach((w, i) => {
      for (const field of Object.keys(users[i]!)) {
        const campaign = field.slice(0, field.indexOf(':'));
        const k = `${campaign}|${w}`;
        distinct.set(k, (distinct.get(k) ?? 0) + 1);
      }
    });
    for (const r of out) r.distinctUsers = distinct.get(`${r.campaign}|${r.window}`) ?? 0;
  }
  return out;
}
