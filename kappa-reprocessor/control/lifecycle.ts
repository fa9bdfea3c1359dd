/**
 * Lifecycle of a Kappa job: its states and the legal transitions between them.
 *
 *   (new) ──initial──▶ live ◀──switchover── caught-up ◀──catch-up── replaying ◀──replay── (new)
 *                       │  ▲                   ▲  │                     │
 *            switchover │  │ rollback  rollback│  │ abort               │ abort
 *                       ▼  │        (demoted)  │  ▼                     ▼
 *                      grace ─────────────────────────▶ retired     aborted
 *                         grace over / a newer switchover
 *
 * A record changes state only through {@link transition}, so an illegal move (a programming
 * error) fails loudly instead of being persisted. retired and aborted are final.
 */
import type { ActivePointer, KappaJobRecord, KappaJobState } from '../state/index.js';

export { RUNNING_STATES, type KappaJobState } from '../state/index.js';

/** States a job can be created in: the lab's first job is live, every later one a replay. */
export const INITIAL_STATES: ReadonlySet<KappaJobState> = new Set(['live', 'replaying']);

export const LEGAL_TRANSITIONS: ReadonlyMap<KappaJobState, ReadonlySet<KappaJobState>> = new Map<
  KappaJobState,
  ReadonlySet<KappaJobState>
>([
  ['replaying', new Set<KappaJobState>(['caught-up', 'aborted'])],
  // live: readers were switched to it; aborted: the replay was cancelled.
  ['caught-up', new Set<KappaJobState>(['live', 'aborted'])],
  // grace: replaced by a switchover; caught-up: demoted by a rollback (it can be switched to again).
  ['live', new Set<KappaJobState>(['grace', 'caught-up'])],
  // live: rolled back to; retired: grace period over, or replaced by a newer switchover.
  ['grace', new Set<KappaJobState>(['live', 'retired'])],
  ['retired', new Set<KappaJobState>()],
  ['aborted', new Set<KappaJobState>()],
]);

export function canTransition(from: KappaJobState, to: KappaJobState): boolean {
  return LEGAL_TRANSITIONS.get(from)?.has(to) ?? false;
}

/** A job that has ended (its data is removed or about to be). */
export function isFinal(state: KappaJobState): boolean {
  return (LEGAL_TRANSITIONS.get(state)?.size ?? 0) === 0;
}

/** The record moved to `to` with `changes` applied; throws on an illegal transition. */
export function transition(
  rec: KappaJobRecord,
  to: KappaJobState,
  changes: Partial<Omit<KappaJobRecord, 'id' | 'state'>> = {},
): KappaJobRecord {
  if (!canTransition(rec.state, to)) {
    throw new Error(
      `Kappa job ${rec.id} cannot go from ${rec.state} to ${to} (legal from ${rec.state}: ${[...(LEGAL_TRANSITIONS.get(rec.state) ?? [])].join(', ') || 'none, it has ended'})`,
    );
  }
  return { ...rec, ...changes, state: to };
}

/** A new job record in an initial state (live for the lab's first job, replaying for a replay). */
export function newJobRecord(init: {
  id: number;
  logicVersion: number;
  group: string;
  state: KappaJobState;
  kind: 'initial' | 'replay';
  createdAt: number;
}): KappaJobRecord {
  if (!INITIAL_STATES.has(init.state)) throw new Error(`A Kappa job cannot start ${init.state}`);
  return {
    ...init,
    snapshot: null,
    rateLimit: 0,
    parallelism: 1,
    force: false,
    warnings: [],
    caughtUpAt: null,
    activatedAt: null,
    deactivatedAt: null,
    retireAt: null,
    endedAt: null,
    endReason: null,
  };
}

/** The replay in progress (replaying or caught-up), if any: at most one exists. */
export function replayCandidate(jobs: Iterable<KappaJobRecord>): KappaJobRecord | undefined {
  for (const j of jobs) if (j.state === 'replaying' || j.state === 'caught-up') return j;
  return undefined;
}

/** The lab's first job (live from the start) and the active pointer at it. */
export function firstJob(p: { logicVersion: number; group: string; now: number }): {
  record: KappaJobRecord;
  pointer: ActivePointer;
} {
  const record = newJobRecord({
    id: 1,
    logicVersion: p.logicVersion,
    group: p.group,
    state: 'live',
    kind: 'initial',
    createdAt: p.now,
  });
  record.activatedAt = p.now;
  return { record, pointer: { job: 1, logicVersion: p.logicVersion, previous: null, switchedAt: null } };
}
