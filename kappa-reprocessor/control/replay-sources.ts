/**
 * Where a replay can read the history from — the pre-flight's options:
 * - **log**: the log still holds every partition from offset 0 (and its time retention leaves room
 *   for the replay): Kreps's recipe (retention-check.ts).
 * - **archive** (Kappa+): the history archive (the batch layer's master dataset) holds each
 *   partition from offset 0 up to a cut-over, and the log still holds it from the cut-over on
 *   (its low offset ≤ the cut-over) — no gap that neither holds.
 * - else **refuse**.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import type { EventLog, PartitionOffsets } from '../../kernel/ports/event-log.js';
import type { ArchiveCoverage, HistoryArchive } from '../../kernel/ports/history-archive.js';
import { checkRetention, type RetentionCheckResult } from './retention-check.js';

export type ReplaySource = 'log' | 'archive';
/** What a replay request asks for: one source, or whichever works (the log first). */
export type ReplaySourceRequest = ReplaySource | 'auto';

export interface LogSourceOption {
  possible: boolean;
  /** Why not (the retention check's problems). */
  problems: string[];
}

export interface ArchiveSourceOption {
  possible: boolean;
  problems: string[];
  warnings: string[];
  /** Per partition: the archive holds [0, cutover), the log [low, end). */
  partitions: Array<{ partition: number; cutover: number; low: number; end: number }>;
  /** Events the replay would read from the log after the cut-over. */
  fromLog: number;
}

export interface ReplayOptions {
  log: LogSourceOption;
  archive: ArchiveSourceOption;
  /** What source 'auto' would do: the log if it can, else the archive, else refuse. */
  choice: ReplaySource | 'refuse';
}

/** The pre-flight: the retention check plus the replay's options. */
export interface ReplayPreflight extends RetentionCheckResult {
  options: ReplayOptions;
}

/** Runs the pre-flight: the retention check and the archive's coverage (no archive: none), then the options. */
export async function runPreflight(
  log: EventLog,
  topic: string,
  clock: Clock,
  retentionMarginMs: number,
  archive: HistoryArchive | undefined,
): Promise<ReplayPreflight> {
  const [check, coverage] = await Promise.all([
    checkRetention(log, topic, clock, retentionMarginMs),
    archive?.coverage(topic),
  ]);
  return { ...check, options: replayOptions(check, topic, coverage) };
}

/** The options given the retention check and the archive's coverage (undefined: no archive here). */
export function replayOptions(
  check: RetentionCheckResult,
  topic: string,
  coverage: readonly ArchiveCoverage[] | undefined,
): ReplayOptions {
  const log: LogSourceOption = { possible: check.ok, problems: [...check.problems] };
  const archive = archiveOption(check.partitions, topic, coverage, check.retentionMs);
  return { log, archive, choice: log.possible ? 'log' : archive.possible ? 'archive' : 'refuse' };
}

function archiveOption(
  offsets: readonly PartitionOffsets[],
  topic: string,
  coverage: readonly ArchiveCoverage[] | undefined,
  retentionMs: number | null,
): ArchiveSourceOption {
  if (coverage === undefined) {
    return {
      possible: false,
      problems: [
        "this process has no history archive (the batch layer's master dataset): run the replay from the lab that runs the batch layer",
      ],
      warnings: [],
      partitions: [],
      fromLog: 0,
    };
  }
  const cut = new Map(coverage.map((c) => [c.partition, c.cutover]));
  const problems: string[] = [];
  const partitions = offsets.map((o) => {
    // The archive may have read past what the log still says it holds only if the topic was
    // recreated; never hand over above the log's end.
    const cutover = Math.min(cut.get(o.partition) ?? 0, o.end);
    if (o.low > cutover) {
      problems.push(
        `partition ${o.partition} of ${topic}: the archive holds offsets 0..${cutover - 1} (cut-over ${cutover}) but the log starts at ${o.low}, so offsets ${cutover}..${o.low - 1} are in neither — let the batch ingest catch up before retention drops more, or raise the topic's retention`,
      );
    }
    return { partition: o.partition, cutover, low: o.low, end: o.end };
  });
  const warnings =
    retentionMs !== null
      ? [
          `${topic} keeps records for ${retentionMs} ms: the log part of the archive replay (from the cut-over on) must still be there when the archive phase ends`,
        ]
      : [];
  const fromLog = partitions.reduce((s, p) => s + Math.max(0, p.end - p.cutover), 0);
  return { possible: problems.length === 0, problems, warnings, partitions, fromLog };
}
