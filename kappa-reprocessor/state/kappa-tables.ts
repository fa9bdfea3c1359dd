/**
 * Key layout of the Kappa output tables and control keys in the realtime store, and the
 * read/write helpers around it. Job N writes only under `lklab:kappa:v<N>:` (its table kappa_vN):
 *
 *   lklab:kappa:v<N>:w:<window>   hash "<partition>@<next offset>" → {"t":<time_updated>,"c":[[campaign, views, [users]], ...]}
 *                                 one field per (window, partition, checkpoint): that checkpoint's
 *                                 delta for the window. A (campaign, window) cell is the fold of
 *                                 the window's fields: views = Σ views, distinct users = |∪ users|
 *                                 (exact), time_updated = the latest t (YSB's latency input).
 *                                 Once the window is final — every partition's checkpointed
 *                                 watermark is past its end + allowedLatenessMs, so no partition
 *                                 can count anything there again — its delta fields are folded
 *                                 into one field "=" → {"o":{"<partition>":<next offset>,...},
 *                                 "c":[[campaign, views, distinct users, time_updated], ...]} in
 *                                 one atomic apply (window-compactor.ts): a few KB instead of every
 *                                 checkpoint's users. "o" names the deltas it holds, so a delta
 *                                 field "p@n" with n ≤ o[p] is never counted twice.
 *   lklab:kappa:v<N>:meta         hash: counters (processed, counted, late, dropped, invalid,
 *                                 slowPath) and maxEventTime:<partition> (the watermark state)
 *
 * Why deltas rather than one field per (campaign, user): a YSB catch-up run touches ~0.5 cells
 * and user pairs per event, and writing each as its own store item cost ~2 µs per event on the
 * main thread (measured, docs/kappa.md); one field per window and partition costs ~0.01 items per
 * event, and worker threads encode the payloads. A field name is unique — offsets only grow —
 * and committed in the same apply as the offsets, so a retried or replayed checkpoint never
 * overwrites another one's delta.
 *
 * Control plane (written only by the lab's KappaReprocessor, read by everyone):
 *
 *   lklab:kappa:jobs     hash job id → job record (JSON)
 *   lklab:kappa:active   hash job, logicVersion, previous, switchedAt, cutover (JSON, '' = flip):
 *                        THE pointer readers follow (reader-cutover.ts); a switchover or rollback
 *                        rewrites it in one atomic apply
 *   lklab:kappa:cutover  hash last → the last switchover's cutover record (JSON, control/cutover.ts)
 *
 * Consumed offsets live in the store's offset space under namespace `kappa-v<N>`, committed in the
 * same apply as the state they produced.
 */
import type {
  CounterIncrement,
  FieldSet,
  RealtimeStore,
  StoreUpdate,
} from '../../kernel/ports/realtime-store.js';
import type { DeltaCounters, WindowPayload } from '../operator/index.js';
import type { ReaderCutover } from './cutover-types.js';

export const KAPPA_PREFIX = 'lklab:kappa:';
export const JOBS_KEY = `${KAPPA_PREFIX}jobs`;
export const ACTIVE_KEY = `${KAPPA_PREFIX}active`;
export const CUTOVER_KEY = `${KAPPA_PREFIX}cutover`;

/**
 * Prefix of every store key the Kappa reprocessor writes (tables and control keys), for callers
 * that account for storage by prefix: ask here instead of spelling the layout out.
 */
export const kappaKeyPrefix = (): string => KAPPA_PREFIX;
/** Prefix of the keys of job N's output table (its windows and meta hash). */
export const tablePrefix = (job: number): string => `${KAPPA_PREFIX}v${job}:`;
export const tableName = (job: number): string => `kappa_v${job}`;
export const offsetsNamespace = (job: number): string => `kappa-v${job}`;
const windowKeyPrefix = (job: number): string => `${tablePrefix(job)}w:`;
export const windowKey = (job: number, w: number): string => `${windowKeyPrefix(job)}${w}`;
export const metaKey = (job: number): string => `${tablePrefix(job)}meta`;
export const maxEventTimeField = (partition: number): string => `maxEventTime:${partition}`;
/** Name of the field holding a checkpoint's delta of one window from one partition. */
export const deltaField = (partition: number, next: number): string => `${partition}@${next}`;
/** Name of the field holding a final window's folded deltas. */
export const FOLDED_FIELD = '=';

/** A folded window's value: the deltas it holds (partition → highest next offset) and its cells. */
interface FoldedValue {
  o: Record<string, number>;
  c: Array<[campaign: string, views: number, users: number, t: number]>;
}

/** partition → next offset of a delta field's name ("p@n"); undefined for any other name. */
function deltaPosition(field: string): [partition: string, next: number] | undefined {
  const at = field.indexOf('@');
  if (at <= 0) return undefined;
  const next = Number(field.slice(at + 1));
  return Number.isSafeInteger(next) ? [field.slice(0, at), next] : undefined;
}

/** Counter fields of the meta hash. */
export const META_COUNTERS: ReadonlyArray<keyof DeltaCounters> = [
  'processed',
  'counted',
  'late',
  'dropped',
  'invalid',
  'slowPath',
];

/** One window's delta, named for the checkpoint that first tried to write it. */
export interface DeltaEntry {
  window: number;
  field: string;
  /** JSON of WindowPayload[]. */
  payload: string;
}

export interface CheckpointContent {
  job: number;
  /** Per partition: its window deltas, counters, the next offset to consume and the highest event time seen. */
  partitions: Array<{
    partition: number;
    entries: DeltaEntry[];
    counters: DeltaCounters;
    next: number;
    maxEventTime: number;
    /**
     * The offset this writer last read or wrote for the partition (null: none stored); when
     * given, the update applies only if the store still holds it (compare-and-set), so a member
     * that lost the partition in a rebalance cannot apply over the new owner.
     */
    expected?: number | null;
  }>;
  /** time_updated of every cell the checkpoint changes. */
  now: number;
}

/** One atomic update: the window deltas, the counters, the watermark state and the consumed offsets. */
export function toStoreUpdate(c: CheckpointContent): StoreUpdate {
  const increments: CounterIncrement[] = [];
  const sets: FieldSet[] = [];
  const offsets: Record<number, number> = {};
  const expected: Record<number, number | null> = {};
  let cas = false;
  const totals: Record<string, number> = {};
  const head = `{"t":${c.now},"c":`;
  for (const p of c.partitions) {
    offsets[p.partition] = p.next;
    if (p.expected !== undefined) {
      expected[p.partition] = p.expected;
      cas = true;
    }
    if (p.maxEventTime >= 0)
      sets.push({ key: metaKey(c.job), field: maxEventTimeField(p.partition), value: p.maxEventTime });
    for (const k of META_COUNTERS) totals[k] = (totals[k] ?? 0) + p.counters[k];
    for (const e of p.entries)
      sets.push({ key: windowKey(c.job, e.window), field: e.field, value: `${head}${e.payload}}` });
  }
  for (const k of META_COUNTERS)
    if (totals[k]) increments.push({ key: metaKey(c.job), field: k, by: totals[k]! });
  return {
    increments,
    sets,
    offsets: { namespace: offsetsNamespace(c.job), offsets, ...(cas ? { expected } : {}) },
  };
}

/** Start times of the windows job N's table holds (a scan: for a process that starts, not per read). */
export async function listWindows(store: RealtimeStore, job: number): Promise<number[]> {
  const prefix = windowKeyPrefix(job);
  return (await store.keys(prefix))
    .map((k) => Number(k.slice(prefix.length)))
    .filter((w) => Number.isSafeInteger(w));
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
  /** How readers leave job `previous` (reader-cutover.ts); absent or null = the atomic flip. */
  cutover?: ReaderCutover | null;
}

export function parseActive(fields: Record<string, string>): ActivePointer | null {
  if (fields.job === undefined) return null;
  return {
    job: Number(fields.job),
    logicVersion: Number(fields.logicVersion ?? 0),
    previous: fields.previous && fields.previous !== '' ? Number(fields.previous) : null,
    switchedAt: fields.switchedAt && fields.switchedAt !== '' ? Number(fields.switchedAt) : null,
    ...(fields.cutover ? { cutover: JSON.parse(fields.cutover) as ReaderCutover } : {}),
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
  /** When the cell last changed (ms): the latest checkpoint that touched it. */
  timeUpdated: number;
}

interface Cell {
  views: number;
  /** Users of the delta fields (undefined unless asked for). */
  users: Set<string> | undefined;
  /** Distinct users already counted in the folded field: disjoint from `users` by the finality rule. */
  folded: number;
  t: number;
}

/**
 * Folds one window's fields into cells (campaign → views, users, time_updated): the folded field
 * if there is one, plus the delta fields it does not already hold.
 */
export function foldWindow(
  fields: Readonly<Record<string, string>>,
  options: { campaign?: string | undefined; distinct: boolean },
): Map<string, Cell> {
  const cells = new Map<string, Cell>();
  const cellOf = (campaign: string): Cell => {
    let cell = cells.get(campaign);
    if (!cell)
      cells.set(
        campaign,
        (cell = { views: 0, users: options.distinct ? new Set() : undefined, folded: 0, t: 0 }),
      );
    return cell;
  };
  const foldedJson = fields[FOLDED_FIELD];
  const folded = foldedJson === undefined ? undefined : (JSON.parse(foldedJson) as FoldedValue);
  if (folded) {
    for (const [campaign, views, users, t] of folded.c) {
      if (options.campaign !== undefined && campaign !== options.campaign) continue;
      const cell = cellOf(campaign);
      cell.views += views;
      cell.folded += users;
      if (t > cell.t) cell.t = t;
    }
  }
  for (const [name, value] of Object.entries(fields)) {
    if (name === FOLDED_FIELD) continue;
    if (folded) {
      const pos = deltaPosition(name);
      const held = pos && folded.o[pos[0]];
      if (pos && held !== undefined && pos[1] <= held) continue;
    }
    const d = JSON.parse(value) as { t: number; c: WindowPayload[] };
    for (const [campaign, views, users] of d.c) {
      if (options.campaign !== undefined && campaign !== options.campaign) continue;
      const cell = cellOf(campaign);
      cell.views += views;
      if (d.t > cell.t) cell.t = d.t;
      if (cell.users) for (const u of users) cell.users.add(u);
    }
  }
  return cells;
}

/**
 * The update that folds a final window's fields into its folded field, or undefined when there
 * is nothing to fold. Deterministic (campaigns in order), so two members folding the same window
 * at once write the same value.
 */
export function foldUpdate(
  key: string,
  fields: Readonly<Record<string, string>>,
): { set: FieldSet; remove: string[] } | undefined {
  const deltas = Object.keys(fields).filter((f) => f !== FOLDED_FIELD);
  if (deltas.length === 0) return undefined;
  const prior = fields[FOLDED_FIELD];
  const o: Record<string, number> = prior === undefined ? {} : { ...(JSON.parse(prior) as FoldedValue).o };
  for (const f of deltas) {
    const pos = deltaPosition(f);
    if (pos && !(o[pos[0]]! >= pos[1])) o[pos[0]] = pos[1];
  }
  const c: FoldedValue['c'] = [...foldWindow(fields, { distinct: true })]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([campaign, cell]) => [campaign, cell.views, cell.folded + cell.users!.size, cell.t]);
  const sorted = Object.fromEntries(Object.entries(o).sort(([a], [b]) => Number(a) - Number(b)));
  return { set: { key, field: FOLDED_FIELD, value: JSON.stringify({ o: sorted, c }) }, remove: deltas };
}

/** A folded cell as a fold cache keeps it: the distinct users as a count, not their set. */
interface FoldedCell {
  views: number;
  users: number | undefined;
  t: number;
}

/**
 * Folded windows kept between reads by readers that read the same windows again and again (the
 * served-correctness sampler re-reads the windows of the last 5 minutes every second, the
 * measurement its whole horizon every snapshot, dashboards the same range every few seconds): a
 * window whose fields are unchanged — the same field names with the same values — is not parsed
 * and folded again. Fields are never rewritten in place (a field name is unique per checkpoint),
 * so a closed window is folded once. Holds at most `maxWindows` windows, the least recently read
 * dropped first, each as per-campaign counts (views, number of distinct users, time_updated).
 */
export class KappaFoldCache {
  private readonly entries = new Map<
    string,
    { fields: Readonly<Record<string, string>>; count: number; cells: ReadonlyMap<string, FoldedCell> }
  >();

  constructor(private readonly maxWindows = 2048) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Forgets a window's folds (both kinds). Its compactor calls this once the window is folded: an
   * entry keeps the fields it was folded from, ~200 KB of delta strings per window at 1,000
   * events/s, and a reader that read the window once before it was folded (final-event latency, a
   * views-only query) would otherwise keep them alive for as long as the entry lives.
   */
  forget(key: string): void {
    this.entries.delete(`d${key}`);
    this.entries.delete(`v${key}`);
  }

  fold(
    key: string,
    fields: Readonly<Record<string, string>>,
    distinct: boolean,
  ): ReadonlyMap<string, Readonly<FoldedCell>> {
    const id = `${distinct ? 'd' : 'v'}${key}`;
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      if (hit.fields === fields || sameFields(hit.fields, hit.count, fields)) {
        this.entries.set(id, { ...hit, fields });
        return hit.cells;
      }
    }
    const cells = new Map<string, FoldedCell>();
    for (const [campaign, c] of foldWindow(fields, { distinct }))
      cells.set(campaign, { views: c.views, users: c.users && c.folded + c.users.size, t: c.t });
    this.entries.set(id, { fields, count: Object.keys(fields).length, cells });
    if (this.entries.size > this.maxWindows) this.entries.delete(this.entries.keys().next().value!);
    return cells;
  }
}

/** Each store's shared fold cache (readKappaWindows' default): every reader of a store shares it. */
const storeCaches = new WeakMap<RealtimeStore, KappaFoldCache>();
export function foldCacheOf(store: RealtimeStore): KappaFoldCache {
  let c = storeCaches.get(store);
  if (!c) storeCaches.set(store, (c = new KappaFoldCache()));
  return c;
}

function sameFields(
  a: Readonly<Record<string, string>>,
  count: number,
  b: Readonly<Record<string, string>>,
): boolean {
  let n = 0;
  for (const f in b) {
    if (a[f] !== b[f]) return false;
    n++;
  }
  return n === count;
}

/**
 * Reads one job's table for a window range (the serving layer's Kappa side). The caller reads the
 * active pointer once and passes its job, so a whole answer comes from one table. Unchanged
 * windows are not folded again: the fold cache is `cache`, or the store's shared one.
 */
export async function readKappaWindows(
  store: RealtimeStore,
  job: number,
  windows: readonly number[],
  options: { campaign?: string | undefined; distinct: boolean; cache?: KappaFoldCache | undefined },
): Promise<KappaWindow[]> {
  if (windows.length === 0) return [];
  const keys = windows.map((w) => windowKey(job, w));
  const hashes = await store.getManyFields(keys);
  const out: KappaWindow[] = [];
  const cache = options.cache ?? foldCacheOf(store);
  windows.forEach((w, i) => {
    for (const [campaign, cell] of cache.fold(keys[i]!, hashes[i]!, options.distinct)) {
      if (cell.views === 0) continue;
      if (options.campaign !== undefined && campaign !== options.campaign) continue;
      out.push({
        campaign,
        window: w,
        views: cell.views,
        distinctUsers: cell.users,
        timeUpdated: cell.t,
      });
    }
  });
  return out;
}
