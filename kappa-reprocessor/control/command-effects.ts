/**
 * The Kappa commands' effects, once commands.ts has planned them: launching a replay job, the
 * switchover's atomic flip (and the retirement of what it replaces), the rollback's flip back.
 * KappaReprocessor serializes the calls.
 */
import { availableParallelism } from 'node:os';
import type { Clock } from '../../kernel/clock/clock.js';
import { LAB_EVENTS, type LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import {
  CUTOVER_KEY,
  deleteTable,
  offsetsNamespace,
  readMaxEventTimes,
  type ActivePointer,
  type CutoverMode,
  type KappaJobRecord,
} from '../state/index.js';
import { planRollback, planSwitchover } from './commands.js';
import {
  planCutover,
  unmeasured,
  type CutoverAudit,
  type CutoverRecord,
  type CutoverReport,
} from './cutover.js';
import type { KappaSettings } from './dto.js';
import type { JobRunners } from './job-runners.js';
import type { JobMonitor } from './monitor.js';
import type { Registry } from './registry.js';
import type { JobRetirement } from './retirement.js';
import { assertVerified, type KappaVerification, type SwitchoverResult } from './verification.js';

/** What the commands act on. */
export interface CommandDeps {
  registry: Registry;
  runners: JobRunners;
  monitor: JobMonitor;
  retirement: JobRetirement;
  log: EventLog;
  store: RealtimeStore;
  clock: Clock;
  bus: LabEventBus;
  settings: KappaSettings;
  topic: string;
}

/** How a switchover moves readers: the mode (default kappa.cutoverMode) and, for gate, a requested T. */
export interface CutoverRequest {
  mode?: CutoverMode | undefined;
  at?: number | undefined;
}

/** Starts the planned replay job `rec` on a clean table, group and offsets. */
export async function launchReplay(
  d: CommandDeps,
  rec: KappaJobRecord,
  force: boolean,
): Promise<KappaJobRecord> {
  const id = rec.id;
  // Leftovers of an earlier life of this id (a registry that was wiped) must not leak into the new table.
  await deleteTable(d.store, id);
  await d.store.deleteOffsets(offsetsNamespace(id));
  await d.log.deleteGroup(rec.group).catch(() => undefined);
  await d.registry.persist([rec]);
  await d.runners.start(rec);
  d.bus.emit(LAB_EVENTS.KAPPA_REPLAY_STARTED, d.clock.now(), {
    job: id,
    logicVersion: rec.logicVersion,
    force,
    rateLimit: rec.rateLimit,
    parallelism: rec.parallelism,
    snapshot: rec.snapshot,
    warnings: rec.warnings,
  });
  return { ...rec };
}

/**
 * Points readers at the caught-up replay (one atomic flip); the old job enters its grace period.
 * Before the flip, the gate verifies the replay's table (`verify`); a `failed` verdict refuses the
 * switch (409 LKL_ERR_KAPPA_VERIFICATION_FAILED) unless `skipVerification`.
 */
export async function executeSwitchover(
  d: CommandDeps,
  how: 'manual' | 'auto',
  verify: (candidate: KappaJobRecord, current: KappaJobRecord | undefined) => Promise<KappaVerification>,
  skipVerification = false,
  request: CutoverRequest = {},
): Promise<SwitchoverResult> {
  const now = d.clock.now();
  const plan = planSwitchover({
    jobs: d.registry.jobs,
    active: d.registry.active,
    now,
    settings: d.settings,
    lastCatchUp: (job) => d.monitor.lastCatchUp(job),
  });
  const cand = plan.candidate;
  const verification = await verify(cand, plan.current);
  if (skipVerification) verification.skipped = true;
  else assertVerified(verification);
  const { cutover, record } = await decideCutover(d, plan.current, cand, now, request);
  const pointer: ActivePointer = { ...plan.pointer, cutover };
  await d.registry.persist(plan.changed, pointer, [
    { key: CUTOVER_KEY, field: 'last', value: JSON.stringify(record) },
  ]);
  d.bus.emit(LAB_EVENTS.KAPPA_SWITCHOVER, now, {
    from: plan.current?.id ?? null,
    to: cand.id,
    logicVersion: cand.logicVersion,
    how,
    verdict: verification.verdict,
    skipVerification,
    mode: record.mode,
    cutoverAt: record.at,
  });
  for (const rec of plan.stale)
    await d.retirement.end(rec, 'retired', `replaced by a newer switchover to job ${cand.id}`);
  // The new live job continues with the live job's engine (main thread, one consumer).
  const runner = d.runners.get(cand.id);
  if (runner && runner.status.engine !== 'inline') await d.runners.restart(d.registry.jobs.get(cand.id)!);
  return { ...pointer, verification, cutoverRecord: record };
}

/** The cutover readers get (cutover.ts), from job N's checkpointed positions and event times. */
async function decideCutover(
  d: CommandDeps,
  current: KappaJobRecord | undefined,
  candidate: KappaJobRecord,
  now: number,
  request: CutoverRequest,
): Promise<ReturnType<typeof planCutover>> {
  const mode = request.mode ?? d.settings.cutoverMode;
  const needsPositions = current !== undefined && mode === 'gate';
  const [maxEventTimes, positions, ends] = await Promise.all([
    current ? readMaxEventTimes(d.store, current.id) : Promise.resolve(new Map<number, number>()),
    needsPositions ? d.store.readOffsets(offsetsNamespace(current.id)) : Promise.resolve({}),
    needsPositions || current ? d.log.offsets(d.topic) : Promise.resolve([]),
  ]);
  return planCutover({
    mode,
    at: request.at,
    current,
    candidate,
    now,
    settings: d.settings,
    maxEventTimes,
    positions,
    ends,
  });
}

/** The last switchover's cutover record (null before the first switchover of this registry). */
export async function readCutoverRecord(d: Pick<CommandDeps, 'store'>): Promise<CutoverRecord | null> {
  const raw = (await d.store.getFields(CUTOVER_KEY)).last;
  return raw ? (JSON.parse(raw) as CutoverRecord) : null;
}

/** Points readers back at the previous job while it still exists. */
export async function executeRollback(d: CommandDeps): Promise<ActivePointer> {
  const now = d.clock.now();
  const plan = planRollback({
    jobs: d.registry.jobs,
    active: d.registry.active,
    now,
    settings: d.settings,
  });
  await d.registry.persist(plan.changed, plan.pointer);
  d.bus.emit(LAB_EVENTS.KAPPA_ROLLBACK, now, {
    from: plan.from.id,
    to: plan.to.id,
    logicVersion: plan.to.logicVersion,
  });
  return { ...plan.pointer };
}

/** A replay's parallelism: the setting, or one per available core when it is 0. */
export function replayParallelism(settings: KappaSettings): number {
  return settings.replayParallelism > 0 ? settings.replayParallelism : Math.max(1, availableParallelism());
}

/**
 * The last cutover with its count (GET /api/kappa/cutover): not counted when a job it read has
 * ended (its table is gone) or no audit is wired; null before the first switchover.
 */
export async function lastCutoverReport(
  d: Pick<CommandDeps, 'store' | 'registry'>,
  audit: CutoverAudit | undefined,
): Promise<CutoverReport | null> {
  const rec = await readCutoverRecord(d);
  if (!rec) return null;
  const gone = (id: number | null): boolean => {
    const st = id === null ? undefined : d.registry.jobs.get(id)?.state;
    return st === undefined || st === 'retired' || st === 'aborted';
  };
  const ended = gone(rec.to) ? rec.to : rec.mode !== 'flip' && gone(rec.from) ? rec.from : null;
  if (ended !== null)
    return unmeasured(
      rec,
      `job ${ended} has ended and its table is gone, so what readers were served from it cannot be counted any more`,
    );
  if (!audit) return unmeasured(rec, 'no truth oracle is wired to the Kappa control plane in this process');
  return audit.audit(rec);
}
