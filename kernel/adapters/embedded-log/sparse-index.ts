/**
 * In-memory sparse offset index of one segment: (offset, file position) pairs at least
 * `intervalBytes` apart, built by scanning the segment on open and extended on append.
 */
export class SparseOffsetIndex {
  private readonly offsets: number[] = [];
  private readonly positions: number[] = [];

  constructor(private readonly intervalBytes: number) {}

  get entries(): number {
    return this.offsets.length;
  }

  /** Records (offset, position) when it is the first entry or far enough from the last one. */
  maybeAdd(offset: number, position: number): void {
    const n = this.positions.length;
    if (n === 0 || position - this.positions[n - 1]! >= this.intervalBytes) {
      this.offsets.push(offset);
      this.positions.push(position);
    }
  }

  /** Index of the greatest entry whose offset is <= `offset` (0 when none is). */
  private floor(offset: number): number {
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.offsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** [offset, position] of the entry to start a scan for `offset` from; undefined when empty. */
  lookup(offset: number): [number, number] | undefined {
    if (this.offsets.length === 0) return undefined;
    const i = this.floor(offset);
    return [this.offsets[i]!, this.positions[i]!];
  }
}
