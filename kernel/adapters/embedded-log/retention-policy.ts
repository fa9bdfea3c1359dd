/**
 * Which segments retention drops: a pure function of segment sizes and newest timestamps.
 * Kafka's rules: first by age, every oldest segment whose newest record is older than
 * now − retentionMs, stopping at the first that is not; then by size, oldest segments while
 * the partition stays at or above retentionBytes without them. The active (last) segment is
 * never dropped, so a partition only loses whole sealed segments and offsets stay contiguous.
 */

export interface SegmentStats {
  sizeBytes: number;
  /** Newest record timestamp in the segment; -1 when it is empty. */
  maxTimestamp: number;
}

export interface RetentionSpec {
  retentionMs: number | undefined;
  retentionBytes: number | undefined;
}

/** Number of leading segments to delete. */
export function segmentsToDelete(
  segments: readonly SegmentStats[],
  now: number,
  spec: RetentionSpec,
): number {
  const sealed = segments.length - 1;
  let count = 0;
  if (spec.retentionMs !== undefined) {
    while (count < sealed && now - segments[count]!.maxTimestamp > spec.retentionMs) count++;
  }
  if (spec.retentionBytes !== undefined) {
    let total = 0;
    for (let i = count; i < segments.length; i++) total += segments[i]!.sizeBytes;
    let excess = total - spec.retentionBytes;
    while (count < sealed && excess - segments[count]!.sizeBytes >= 0) {
      excess -= segments[count]!.sizeBytes;
      count++;
    }
  }
  return count;
}
