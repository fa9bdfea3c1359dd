/**
 * Which Kappa jobs exist and which one readers use, persisted in the realtime store so that a
 * restarted lab — and `lklab kappa-worker` processes — see the same jobs. Only the lab's
 * KappaReprocessor writes it; every transition (replay start, catch-up, switchover, rollback,
 * retire, abort) is ONE atomic store.apply of the changed job records and, for a switchover or
 * rollback, the active pointer.
 */
import { LabError } from '../../kernel/errors/lab-error.js';
import type { FieldSet, RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { ACTIVE_KEY, JOBS_KEY, parseActive, type ActivePointer } from './kappa-tables.js';

/**
 * live: the job readers use (or the first job).
 * replaying: job N+1 reading history into its own table.
 * caught-up: the replay passed the snapshot and its lag stayed small; waits for a switchover.
 * grace: the previous job after a switchover, still running until retireAt, for rollback.
 * retired / aborted: stopped, table, group and offsets removed (kept in the list as history).
 */
export type KappaJobState = 'live' | 'replaying' | 'caught-up' | 'grace' | 'retired' | 'aborted';

/** States whose job consumes the log. */
export const RUNNING_STATES: ReadonlySet<KappaJobState> = new Set([
  'live',
  'replaying',
  'caught-up',
  'grace',
]);

export interface KappaJobRecord {
  id: number;
  logicVersion: number;
  group: string;
  state: KappaJobState;
  /** 'live' = the job the lab started with; 'replay' = started from the earliest offset by a replay. */
  kind: 'initial' | 'replay';
  createdAt: number;
  /** End offsets of the log when the replay started (catch-up means passing all of them). */
  snapshot: Array<{ partition: number; end: number }> | null;
  /** Events per second, 0 = unlimited (replays). */
  rateLimit: number;
  /** Worker threads (embedded) or consumers (Kafka) of a replay; 1 for a live job. */
  parallelism: number;
  force: boolean;
  /**
   * Where a replay reads history: 'log' (from offset 0) or 'archive' (Kappa+: the batch layer's
   * master dataset below each partition's cut-over, then the log). Absent on older records: 'log'.
   */
  source?: 'log' | 'archive';
  /** An archive replay's cut-over per partition: the archive holds [0, cutover), the log the rest. */
  cutover?: Array<{ partition: number; cutover: number }> | null;
  warnings: string[];
  caughtUpAt: number | null;
  activatedAt: number | null;
  deactivatedAt: number | null;
  /** When a job in grace is stopped and deleted. */
  retireAt: number | null;
  endedAt: number | null;
  /** Why the job ended (retired after grace, aborted by whom). */
  endReason: string | null;
}

export interface RegistrySnapshot {
  jobs: Map<number, KappaJobRecord>;
  active: ActivePointer | null;
}

export async function loadRegistry(store: RealtimeStore): Promise<RegistrySnapshot> {
  const [raw, active] = await store.getManyFields([JOBS_KEY, ACTIVE_KEY]);
  const jobs = new Map<number, KappaJobRecord>();
  for (const [field, json] of Object.entries(raw ?? {})) {
    let rec: KappaJobRecord;
    try {
      rec = JSON.parse(json) as KappaJobRecord;
    } catch (err) {
      throw new LabError(
        'LKL_ERR_KAPPA_STATE_CORRUPT',
        `Field ${field} of ${JOBS_KEY} in the realtime store is not a job record (${(err as Error).message}).`,
        {
          cause: err,
          details: { key: JOBS_KEY, field },
        },
      );
    }
    if (
      typeof rec !== 'object' ||
      rec === null ||
      rec.id !== Number(field) ||
      typeof rec.state !== 'string'
    ) {
      throw new LabError(
        'LKL_ERR_KAPPA_STATE_CORRUPT',
        `Field ${field} of ${JOBS_KEY} in the realtime store is not a job record (missing id or state).`,
        {
          details: { key: JOBS_KEY, field },
        },
      );
    }
    jobs.set(rec.id, rec);
  }
  return { jobs, active: parseActive(active ?? {}) };
}

/** The sets that persist `records` (and the pointer, when given) — apply them in one update. */
export function registrySets(records: KappaJobRecord[], active?: ActivePointer): FieldSet[] {
  const sets: FieldSet[] = records.map((r) => ({
    key: JOBS_KEY,
    field: String(r.id),
    value: JSON.stringify(r),
  }));
  if (active) {
    sets.push(
      { key: ACTIVE_KEY, field: 'job', value: active.job },
      { key: ACTIVE_KEY, field: 'logicVersion', value: active.logicVersion },
      { key: ACTIVE_KEY, field: 'previous', value: active.previous === null ? '' : active.previous },
      { key: ACTIVE_KEY, field: 'switchedAt', value: active.switchedAt === null ? '' : active.switchedAt },
      { key: ACTIVE_KEY, field: 'cutover', value: active.cutover ? JSON.stringify(active.cutover) : '' },
    );
  }
  return sets;
}

export async function saveRegistry(
  store: RealtimeStore,
  records: KappaJobRecord[],
  active?: ActivePointer,
): Promise<void> {
  await store.apply({ sets: registrySets(records, active) });
}

/**
 * Consumer group of the job readers use, read from the store: for a process that does not run the
 * Kappa jobs itself (`lklab produce` watching the live job's lag for back-pressure).
 */
export async function readLiveGroup(store: RealtimeStore): Promise<string | undefined> {
  const { jobs, active } = await loadRegistry(store);
  return active ? jobs.get(active.job)?.group : undefined;
}
