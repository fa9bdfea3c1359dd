/**
 * Catch-up detection for a replay (pure). The end offsets are snapshotted when the replay starts;
 * the replay has caught up when (1) every partition has passed its snapshot and (2) the total lag
 * behind the log's current end has stayed at or under the threshold for the dwell time. A
 * partition that gets no new data is at lag 0 once consumed, so idle partitions never block it.
 */
export interface CatchUpInput {
  /** Checkpointed position (next offset) per partition; missing = nothing checkpointed (0). */
  positions: ReadonlyMap<number, number>;
  snapshot: ReadonlyArray<{ partition: number; end: number }>;
  ends: ReadonlyArray<{ partition: number; end: number }>;
}

export interface CatchUpState {
  passedSnapshot: boolean;
  /** Partitions still below their snapshot end. */
  behindSnapshot: number[];
  lag: number;
  /** How long the lag has been under the threshold (ms; 0 when it is not). */
  heldMs: number;
  caughtUp: boolean;
}

export class CatchUpDetector {
  private since: number | undefined;

  constructor(
    private readonly lagThreshold: number,
    private readonly dwellMs: number,
  ) {}

  observe(now: number, input: CatchUpInput): CatchUpState {
    const pos = (p: number): number => input.positions.get(p) ?? 0;
    const behindSnapshot = input.snapshot.filter((s) => pos(s.partition) < s.end).map((s) => s.partition);
    const lag = input.ends.reduce((sum, e) => sum + Math.max(0, e.end - pos(e.partition)), 0);
    const passedSnapshot = behindSnapshot.length === 0;
    if (passedSnapshot && lag <= this.lagThreshold) this.since ??= now;
    else this.since = undefined;
    const heldMs = this.since === undefined ? 0 : now - this.since;
    return {
      passedSnapshot,
      behindSnapshot,
      lag,
      heldMs,
      caughtUp: this.since !== undefined && heldMs >= this.dwellMs,
    };
  }
}
