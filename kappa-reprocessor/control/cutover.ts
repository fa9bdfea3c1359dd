/**
 * The cutover a switchover gives readers (state/reader-cutover.ts has the reading rule), decided
 * here from what job N has checkpointed. Pure: the reads are the caller's (command-effects.ts).
 *
 * gate — the cut-over event time T is the start of the first window job N has not finalized in
 * every partition: per partition p, N's watermark (its newest event time − kappa.maxOutOfOrderMs)
 * has passed a window's end + kappa.allowedLatenessMs for every window below
 * finalized(p); T = min over the partitions that hold T back. Idle partitions (Flink's
 * withIdleness, in event time): a partition N has read to the log's end whose newest event time
 * trails the newest of all partitions by more than kappa.idleTimeoutMs does not hold T back — it
 * has nothing unread, so N has every event of it below T; a partition with unread records always
 * holds T back, so no window is taken from N before N has finished it there. Partitions without
 * records are skipped; when N has finalized nothing, T is null and every window comes from N+1.
 * A requested T (rounded down to a window) may be earlier than that, never later.
 */
import { WINDOW_MS, windowStart } from '../../kernel/events/ysb-event.js';
import { LabError } from '../../kernel/errors/lab-error.js';
import type { PartitionOffsets } from '../../kernel/ports/event-log.js';
import type { CutoverMode, KappaJobRecord, ReaderCutover } from '../state/index.js';
import type { KappaSettings } from './dto.js';

/** How T was found in one partition (gate). */
export interface CutoverPartition {
  partition: number;
  /** job N's newest checkpointed event time (null: none) */
  maxEventTime: number | null;
  /** start of the first window N has not finalized here (null: none finalized) */
  finalizedBefore: number | null;
  /** N has read the partition to the log's end */
  readToEnd: boolean;
  idle: boolean;
}

/** The last switchover's cutover, as GET /api/kappa/cutover shows it (before the measurement). */
export interface CutoverRecord {
  mode: CutoverMode;
  /** job N (null: there was none) */
  from: number | null;
  fromLogicVersion: number | null;
  to: number;
  toLogicVersion: number;
  switchedAt: number;
  /** gate: cut-over event time T; null otherwise (or when N finalized nothing) */
  at: number | null;
  /** when readers stop reading job N (overlap's end, or N's end of grace); null for flip */
  until: number | null;
  /** window of job N's newest event at the switch: the windows the measurement counts are around it (or T) */
  headWindow: number | null;
  partitions: CutoverPartition[];
  idlePartitions: number[];
  /** one sentence: what readers are served and why T is where it is */
  reason: string;
}

export interface CutoverInput {
  mode: CutoverMode;
  /** gate: a requested T (ms, event time); default the one computed */
  at?: number | undefined;
  current: KappaJobRecord | undefined;
  candidate: KappaJobRecord;
  now: number;
  settings: KappaSettings;
  /** job N's checkpointed newest event time per partition */
  maxEventTimes: ReadonlyMap<number, number>;
  /** job N's checkpointed next offset per partition */
  positions: Readonly<Record<number, number>>;
  ends: readonly PartitionOffsets[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Where job N stands per partition and which partitions are idle. */
export function cutoverPartitions(i: CutoverInput): CutoverPartition[] {
  const s = i.settings;
  const held = i.ends.filter((e) => e.end > e.low);
  const newest = Math.max(-Infinity, ...held.map((e) => i.maxEventTimes.get(e.partition) ?? -Infinity));
  return held.map((e) => {
    const t = i.maxEventTimes.get(e.partition);
    const readToEnd = (i.positions[e.partition] ?? 0) >= e.end;
    const finalizedBefore =
      t === undefined
        ? null
        : windowStart(t - s.maxOutOfOrderMs - s.allowedLatenessMs - WINDOW_MS) + WINDOW_MS;
    const idle = readToEnd && t !== undefined && newest - t > s.idleTimeoutMs;
    return { partition: e.partition, maxEventTime: t ?? null, finalizedBefore, readToEnd, idle };
  });
}

/** The cutover written into the pointer (null = flip) and the record kept as the last cutover. */
export function planCutover(i: CutoverInput): { cutover: ReaderCutover | null; record: CutoverRecord } {
  const cur = i.current;
  const mode: CutoverMode = cur ? i.mode : 'flip';
  const partitions = cur ? cutoverPartitions(i) : [];
  const newest = Math.max(-Infinity, ...partitions.map((p) => p.maxEventTime ?? -Infinity));
  const base: CutoverRecord = {
    mode,
    from: cur?.id ?? null,
    fromLogicVersion: cur?.logicVersion ?? null,
    to: i.candidate.id,
    toLogicVersion: i.candidate.logicVersion,
    switchedAt: i.now,
    at: null,
    until: null,
    headWindow: Number.isFinite(newest) ? windowStart(newest) : null,
    partitions,
    idlePartitions: partitions.filter((p) => p.idle).map((p) => p.partition),
    reason: '',
  };
  if (!cur || mode === 'flip') {
    const reason = cur
      ? `flip: readers moved from job ${cur.id} to job ${i.candidate.id} in one atomic pointer write; every window now comes from job ${i.candidate.id}`
      : `flip: job ${i.candidate.id} is the first job readers use`;
    return { cutover: null, record: { ...base, mode: 'flip', reason } };
  }
  const common = { from: cur.id, fromLogicVersion: cur.logicVersion };
  if (mode === 'overlap') {
    const until = i.now + Math.min(i.settings.overlapMs, i.settings.graceMs);
    const reason = `overlap: until ${iso(until)} readers are served jobs ${cur.id} and ${i.candidate.id} summed (at-least-once: events both counted appear twice), then job ${i.candidate.id} alone`;
    return {
      cutover: { mode, ...common, at: null, until },
      record: { ...base, until, reason },
    };
  }
  const holding = partitions.filter((p) => !p.idle);
  const counted = holding.length > 0 ? holding : partitions;
  const edges = counted.map((p) => p.finalizedBefore);
  const computed = edges.length === 0 || edges.includes(null) ? null : Math.min(...(edges as number[]));
  let at = computed;
  if (i.at !== undefined) {
    const want = windowStart(i.at);
    if (computed === null || want > computed) {
      throw new LabError(
        'LKL_ERR_API_BAD_REQUEST',
        `Cut-over time ${iso(want)} is later than the newest window job ${cur.id} has finalized in every partition (${computed === null ? 'none yet' : `windows before ${iso(computed)}`}); give an earlier time or leave it out.`,
        { details: { requested: want, finalizedBefore: computed, partitions } },
      );
    }
    at = want;
  }
  // N is read until its grace period ends (planSwitchover sets its retireAt to the same instant).
  const until = i.now + i.settings.graceMs;
  const idle = base.idlePartitions;
  const reason =
    at === null
      ? `gate: job ${cur.id} has finalized no window in every partition, so every window comes from job ${i.candidate.id}`
      : `gate: windows before T = ${iso(at)} come from job ${cur.id}, the rest from job ${i.candidate.id}` +
        (i.at !== undefined
          ? ' (T as requested)'
          : ` (the first window job ${cur.id} has not finalized in every partition)`) +
        (idle.length > 0
          ? `; partition${idle.length > 1 ? 's' : ''} ${idle.join(', ')} idle (read to the end, newest event more than ${i.settings.idleTimeoutMs} ms behind) and not holding T back`
          : '');
  return {
    cutover: { mode: 'gate', ...common, at, until },
    record: { ...base, at, until, reason },
  };
}

/** What GET /api/kappa/cutover answers: the last cutover and, per window, what readers lost or got twice. */
export interface CutoverWindow {
  window: number;
  /** the jobs readers were served this window from (two = summed) */
  jobs: number[];
  /** Σ over campaigns of the truth for the serving logic version */
  expected: number;
  served: number;
  /** Σ over campaigns of max(0, expected − served): events readers never saw */
  lost: number;
  /** Σ over campaigns of max(0, served − expected): events readers saw twice */
  duplicated: number;
}

export interface CutoverReport extends CutoverRecord {
  measured: boolean;
  /** why the counts are what they are, or why there are none */
  measuredReason: string;
  /** event time below which windows are final for the truth and the jobs read */
  closedBefore: number | null;
  windows: CutoverWindow[];
  lost: number;
  duplicated: number;
}

/** Counts lost and duplicated events of what readers were served under a cutover (the measurement holds the truth). */
export interface CutoverAudit {
  audit(record: CutoverRecord): Promise<CutoverReport>;
}

/** A report without counts (no switchover yet, no truth in this process, or job N is gone). */
export function unmeasured(record: CutoverRecord, reason: string): CutoverReport {
  return {
    ...record,
    measured: false,
    measuredReason: reason,
    closedBefore: null,
    windows: [],
    lost: 0,
    duplicated: 0,
  };
}
