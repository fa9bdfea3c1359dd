/**
 * The control plane's commands as decisions: given the registry, what a replay, switchover,
 * rollback or abort changes — or the error that says why it cannot happen. Pure: the
 * KappaReprocessor persists the result (one atomic apply), emits the event and starts or stops
 * runners.
 */
import { LabError } from '../../kernel/errors/lab-error.js';
import type { ActivePointer, KappaJobRecord } from '../state/index.js';
import type { CatchUpState } from './catch-up.js';
import type { KappaSettings } from './dto.js';
import { newJobRecord, replayCandidate, transition } from './lifecycle.js';
import type { ReplayOptions, ReplayPreflight, ReplaySource, ReplaySourceRequest } from './replay-sources.js';
import type { RetentionCheckResult } from './retention-check.js';

type Jobs = ReadonlyMap<number, KappaJobRecord>;

/** Only one replay at a time: refuses while one is replaying or caught up. */
export function assertNoReplayRunning(jobs: Jobs): void {
  const candidate = replayCandidate(jobs.values());
  if (!candidate) return;
  throw new LabError(
    'LKL_ERR_KAPPA_REPLAY_RUNNING',
    `Replay job ${candidate.id} (logic v${candidate.logicVersion}) is ${candidate.state}; switch it over (POST /api/kappa/switchover) or abort it (POST /api/kappa/replays/${candidate.id}/abort) before starting another.`,
    { details: { job: candidate.id, state: candidate.state } },
  );
}

/** Refuses a replay whose history is incomplete unless forced. */
export function assertHistoryComplete(
  check: RetentionCheckResult & { options?: ReplayOptions },
  force: boolean,
): void {
  if (check.ok || force) return;
  const archive = check.options?.archive;
  throw new LabError(
    'LKL_ERR_KAPPA_HISTORY_INCOMPLETE',
    `Replay refused: the log no longer holds the whole history — ${check.problems.join('; ')}. ${
      archive?.possible
        ? `The archive (the batch layer's master dataset) holds the rest: replay with source "archive" (lklab kappa replay --source archive), which reads it up to the cut-over and the log from there. Or raise`
        : 'Raise'
    } the topic's retention so the log keeps everything, or pass force to replay what is left (its answers will miss the dropped events).`,
    {
      details: {
        problems: check.problems,
        partitions: check.partitions,
        retentionMs: check.retentionMs,
        ...(check.options ? { options: check.options } : {}),
      },
    },
  );
}

/**
 * Which source a replay reads: 'log' keeps today's rule (refused unless forced when the log lost
 * history); 'archive' needs the archive to reach the log without a gap; 'auto' takes the log if it
 * can, else the archive, else refuses (force then replays what the log has left).
 */
export function chooseReplaySource(
  pre: ReplayPreflight,
  requested: ReplaySourceRequest,
  force: boolean,
): ReplaySource {
  const { log, archive } = pre.options;
  if (requested === 'archive') {
    if (archive.possible) return 'archive';
    throw new LabError(
      'LKL_ERR_KAPPA_HISTORY_INCOMPLETE',
      `Archive replay refused: ${archive.problems.join('; ')}.${
        log.possible ? ' The log holds the whole history: replay with source "log".' : ''
      }`,
      { details: { problems: archive.problems, partitions: pre.partitions, options: pre.options } },
    );
  }
  if (requested === 'auto' && pre.options.choice !== 'refuse') return pre.options.choice;
  if (requested === 'auto' && !force) {
    throw new LabError(
      'LKL_ERR_KAPPA_HISTORY_INCOMPLETE',
      `Replay refused: neither source holds the whole history. Log: ${log.problems.join('; ')}. Archive: ${archive.problems.join('; ')}. Raise the topic's retention, or pass force to replay what the log has left (its answers will miss the dropped events).`,
      {
        details: {
          problems: [...log.problems, ...archive.problems],
          partitions: pre.partitions,
          options: pre.options,
        },
      },
    );
  }
  assertHistoryComplete(pre, force);
  return 'log';
}

/** The record of replay job N+1: the snapshot to catch up with, its rate limit and parallelism. */
export function planReplay(p: {
  jobs: Jobs;
  logicVersion: number;
  groupPrefix: string;
  now: number;
  force: boolean;
  rateLimit: number;
  parallelism: number;
  check: RetentionCheckResult & { options?: ReplayOptions };
  /** Default 'log'. */
  source?: ReplaySource;
}): KappaJobRecord {
  const id = Math.max(0, ...p.jobs.keys()) + 1;
  const rec = newJobRecord({
    id,
    logicVersion: p.logicVersion,
    group: `${p.groupPrefix}${id}`,
    state: 'replaying',
    kind: 'replay',
    createdAt: p.now,
  });
  rec.force = p.force;
  rec.rateLimit = p.rateLimit;
  rec.parallelism = p.parallelism;
  rec.snapshot = p.check.partitions.map((x) => ({ partition: x.partition, end: x.end }));
  const archive = p.source === 'archive' ? p.check.options?.archive : undefined;
  rec.source = archive ? 'archive' : 'log';
  rec.cutover = archive
    ? archive.partitions.map((x) => ({ partition: x.partition, cutover: x.cutover }))
    : null;
  rec.warnings = archive
    ? [...archive.warnings]
    : [
        ...(p.force ? p.check.problems.map((x) => `started with force although ${x}`) : []),
        ...p.check.warnings,
      ];
  return rec;
}

export interface SwitchoverPlan {
  candidate: KappaJobRecord;
  /** The job readers used until now (it enters its grace period). */
  current: KappaJobRecord | undefined;
  changed: KappaJobRecord[];
  pointer: ActivePointer;
  /** Older jobs still in grace: retired now (only the job just replaced stays for rollback). */
  stale: KappaJobRecord[];
}

/** Points readers at the caught-up replay; refuses when there is none or it has not caught up. */
export function planSwitchover(p: {
  jobs: Jobs;
  active: ActivePointer | null;
  now: number;
  settings: KappaSettings;
  lastCatchUp: (job: number) => CatchUpState | null | undefined;
}): SwitchoverPlan {
  const cand = replayCandidate(p.jobs.values());
  if (!cand) {
    throw new LabError(
      'LKL_ERR_KAPPA_NO_CANDIDATE',
      'There is no replay to switch readers to; start one with POST /api/kappa/replays {"logicVersion": N}.',
    );
  }
  if (cand.state !== 'caught-up') {
    const m = p.lastCatchUp(cand.id);
    const s = p.settings;
    throw new LabError(
      'LKL_ERR_KAPPA_NOT_CAUGHT_UP',
      `Replay job ${cand.id} has not caught up yet (${m ? (m.passedSnapshot ? `lag ${m.lag} events, under ${s.catchUpLagThreshold} for ${m.heldMs} of ${s.catchUpDwellMs} ms` : `partitions ${m.behindSnapshot.join(', ')} still below the snapshot`) : 'no progress measured yet'}); GET /api/kappa/jobs shows its progress and ETA.`,
      { details: { job: cand.id, catchUp: m ?? null } },
    );
  }
  const now = p.now;
  const current = p.active ? p.jobs.get(p.active.job) : undefined;
  const changed: KappaJobRecord[] = [transition(cand, 'live', { activatedAt: now })];
  if (current)
    changed.push(transition(current, 'grace', { deactivatedAt: now, retireAt: now + p.settings.graceMs }));
  const stale: KappaJobRecord[] = [];
  for (const rec of p.jobs.values()) if (rec.state === 'grace' && rec.id !== current?.id) stale.push(rec);
  const pointer: ActivePointer = {
    job: cand.id,
    logicVersion: cand.logicVersion,
    previous: current?.id ?? null,
    switchedAt: now,
  };
  return { candidate: cand, current, changed, pointer, stale };
}

export interface RollbackPlan {
  from: KappaJobRecord;
  to: KappaJobRecord;
  changed: KappaJobRecord[];
  pointer: ActivePointer;
}

/** Points readers back at the previous job while it is in its grace period. */
export function planRollback(p: {
  jobs: Jobs;
  active: ActivePointer | null;
  now: number;
  settings: KappaSettings;
}): RollbackPlan {
  const prev = p.active?.previous == null ? undefined : p.jobs.get(p.active.previous);
  if (!p.active || !prev || prev.state !== 'grace') {
    throw new LabError(
      'LKL_ERR_KAPPA_NO_ROLLBACK',
      prev
        ? `Job ${prev.id} is ${prev.state}: its grace period (kappa.graceMs = ${p.settings.graceMs} ms) is over, so there is nothing to roll back to. Replay logic v${prev.logicVersion} again instead.`
        : 'No switchover happened since the lab started its first job, or the previous job was retired: there is nothing to roll back to.',
      { details: { previous: p.active?.previous ?? null } },
    );
  }
  const current = p.jobs.get(p.active.job)!;
  const back = transition(prev, 'live', { retireAt: null, deactivatedAt: null, activatedAt: p.now });
  const demoted = transition(current, 'caught-up', { deactivatedAt: p.now });
  const pointer: ActivePointer = {
    job: back.id,
    logicVersion: back.logicVersion,
    previous: null,
    switchedAt: p.now,
  };
  return { from: current, to: back, changed: [back, demoted], pointer };
}

/**
 * Which job a verification is about and which it is compared with: `id`, or by default the replay
 * in progress, else the active job; against the active job unless that is the job itself.
 */
export function verificationTarget(
  jobs: Jobs,
  active: ActivePointer | null,
  id: number | undefined,
): { job: KappaJobRecord; against: KappaJobRecord | undefined } {
  const live = active ? jobs.get(active.job) : undefined;
  const rec = id === undefined ? (replayCandidate(jobs.values()) ?? live) : jobs.get(id);
  if (!rec || rec.state === 'retired' || rec.state === 'aborted') {
    throw new LabError(
      'LKL_ERR_KAPPA_JOB_UNKNOWN',
      id === undefined
        ? 'There is no Kappa job to verify yet; the lab creates job 1 when it starts.'
        : `Kappa job ${id} does not exist or has already ended (its table is gone); GET /api/kappa/jobs lists the jobs.`,
      { details: { job: id ?? null } },
    );
  }
  return { job: rec, against: live && live.id !== rec.id ? live : undefined };
}

/** The replay job `id` may be aborted: it exists, has not ended, is not active and is a replay. */
export function checkAbort(p: { jobs: Jobs; active: ActivePointer | null; id: number }): KappaJobRecord {
  const { id } = p;
  const rec = p.jobs.get(id);
  if (!rec || rec.state === 'retired' || rec.state === 'aborted') {
    throw new LabError(
      'LKL_ERR_KAPPA_JOB_UNKNOWN',
      `Kappa job ${id} does not exist or has already ended; GET /api/kappa/jobs lists the jobs.`,
      { details: { job: id } },
    );
  }
  if (p.active?.job === id) {
    throw new LabError(
      'LKL_ERR_KAPPA_JOB_ACTIVE',
      `Job ${id} is the one readers use; roll back or switch over to another job before removing it.`,
      { details: { job: id } },
    );
  }
  if (rec.state !== 'replaying' && rec.state !== 'caught-up') {
    throw new LabError(
      'LKL_ERR_API_BAD_REQUEST',
      `Job ${id} is ${rec.state}, not a replay; only a replay (replaying or caught-up) can be aborted. A job in grace is retired at ${new Date(rec.retireAt ?? 0).toISOString()}.`,
      { details: { job: id, state: rec.state } },
    );
  }
  return rec;
}
