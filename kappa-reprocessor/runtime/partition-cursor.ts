/**
 * Where a Kappa job stands in one partition. Offsets the runner trusts:
 * - `next`: the next record to process. Records below it in a batch are skipped (re-deliveries
 *   after a seek or a rebalance); a batch starting above it makes the runner seek back (once: a
 *   second batch at the same place means the log has nothing in between, e.g. retention).
 * - `base`: the offset in the store when this runner last loaded or checkpointed the partition.
 *   A stored offset that is no longer `base` means another member checkpointed the partition
 *   (fencing: the cursor is replaced by a fresh one at the stored offset).
 *
 * The cursor object's identity matters: the runner keeps one per partition, and work done for a
 * cursor that has been replaced meanwhile (fenced, restarted) is thrown away.
 */

/** What to do with a batch, decided by {@link PartitionCursor.admit}. */
export type BatchAdmission =
  /** Records from index `from` on are new: process them. */
  | { kind: 'process'; from: number }
  /** The batch starts above `next`: seek the consumer back to `to` and drop the batch. */
  | { kind: 'seek'; to: number }
  /** Nothing new in the batch. */
  | { kind: 'none' };

export interface PartitionPosition {
  partition: number;
  /** Next offset to process. */
  next: number;
  /** Next offset as committed to the store (undefined: none yet). */
  checkpointed: number | undefined;
  processed: number;
  skipped: number;
}

export interface PartitionCursorInit {
  /** Read by the engine itself (bulk phase): `next` is known from drains. Default false. */
  direct?: boolean;
  /** Counters carried over from the cursor this one replaces. */
  processed?: number;
  skipped?: number;
}

export class PartitionCursor {
  /** Next record to process. */
  next: number;
  /** Records processed through this cursor. */
  processed: number;
  /** Offsets the log no longer had when we needed them (retention). */
  skipped: number;
  /** Read by the engine itself (bulk phase): `next` is known from drains. */
  direct: boolean;
  private seekedTo = -1;
  private seekSaw = -1;

  /**
   * @param base the partition's offset in the store when loaded (undefined: the store has none);
   *   processing starts there.
   */
  constructor(
    readonly partition: number,
    public base: number | undefined,
    init: PartitionCursorInit = {},
  ) {
    this.next = base ?? 0;
    this.processed = init.processed ?? 0;
    this.skipped = init.skipped ?? 0;
    this.direct = init.direct ?? false;
  }

  /** The log starts at `low` (retention): offsets below it are skipped. */
  skipTo(low: number): void {
    if (low <= this.next) return;
    this.skipped += low - this.next;
    this.next = low;
  }

  /** Decides which records of a batch (ascending offsets) are new to this cursor. */
  admit(records: ReadonlyArray<{ offset: number }>): BatchAdmission {
    if (records.length === 0) return { kind: 'none' };
    const first = records[0]!.offset;
    if (first > this.next) {
      if (this.seekedTo === this.next && this.seekSaw === first) {
        // Sought back and the log still starts here: the records in between are gone (retention).
        this.skipped += first - this.next;
        this.next = first;
      } else {
        this.seekedTo = this.next;
        this.seekSaw = first;
        return { kind: 'seek', to: this.next };
      }
    }
    let from = 0;
    if (first < this.next) {
      while (from < records.length && records[from]!.offset < this.next) from++;
      if (from === records.length) return { kind: 'none' };
    }
    return { kind: 'process', from };
  }

  /** `count` records up to `lastOffset` were handed to the engine. */
  advance(lastOffset: number, count: number): void {
    this.next = lastOffset + 1;
    this.processed += count;
  }

  /** The engine read records itself (bulk phase) up to `next`, `count` of them. */
  advanceDirect(next: number, count: number): void {
    if (next > this.next) this.next = next;
    this.processed += count;
  }

  /** Something to checkpoint: moved since the last checkpoint, read by the engine, or a delta left over. */
  dirty(carried: boolean): boolean {
    return this.direct || this.next !== this.base || carried;
  }

  /** The store now holds `next` for this partition. */
  checkpointed(next: number): void {
    this.base = next;
  }

  /** A fresh cursor at the offset another member stored (its counters carried over). */
  fencedAt(stored: number | undefined): PartitionCursor {
    return new PartitionCursor(this.partition, stored, { processed: this.processed, skipped: this.skipped });
  }

  position(): PartitionPosition {
    return {
      partition: this.partition,
      next: this.next,
      checkpointed: this.base,
      processed: this.processed,
      skipped: this.skipped,
    };
  }
}
