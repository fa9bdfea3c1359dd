import { describe, expect, it } from 'vitest';
import { PartitionCursor } from './partition-cursor.js';

const batch = (...offsets: number[]): Array<{ offset: number }> => offsets.map((offset) => ({ offset }));

describe('PartitionCursor: per-partition position of a Kappa job', () => {
  it('starts at the stored offset (0 without one) and is clean until it moves', () => {
    const fresh = new PartitionCursor(3, undefined);
    expect(fresh.position()).toEqual({
      partition: 3,
      next: 0,
      checkpointed: undefined,
      processed: 0,
      skipped: 0,
    });
    expect(fresh.dirty(false)).toBe(true); // nothing stored yet: next 0 !== base undefined
    const loaded = new PartitionCursor(3, 40);
    expect(loaded.next).toBe(40);
    expect(loaded.dirty(false)).toBe(false);
    expect(loaded.dirty(true)).toBe(true); // a delta carried from a failed checkpoint
  });

  it('processes only the records at or above next, and moves past them', () => {
    const c = new PartitionCursor(0, 10);
    expect(c.admit(batch(10, 11, 12))).toEqual({ kind: 'process', from: 0 });
    c.advance(12, 3);
    expect(c.position()).toMatchObject({ next: 13, checkpointed: 10, processed: 3 });
    expect(c.dirty(false)).toBe(true);
    // A re-delivery after a rebalance: 11 and 12 are skipped, 13 and 14 are new.
    expect(c.admit(batch(11, 12, 13, 14))).toEqual({ kind: 'process', from: 2 });
    // Everything already seen.
    expect(c.admit(batch(8, 9, 10, 11, 12))).toEqual({ kind: 'none' });
    expect(c.admit([])).toEqual({ kind: 'none' });
  });

  it('seeks back once when a batch starts above next, then skips the gap when the log starts there', () => {
    const c = new PartitionCursor(1, 100);
    expect(c.admit(batch(150, 151))).toEqual({ kind: 'seek', to: 100 });
    expect(c.next).toBe(100);
    // A different batch after the seek: seek again.
    expect(c.admit(batch(120))).toEqual({ kind: 'seek', to: 100 });
    // The same start twice after seeking to 100: offsets 100..119 are gone (retention).
    expect(c.admit(batch(120, 121))).toEqual({ kind: 'process', from: 0 });
    expect(c.position()).toMatchObject({ next: 120, skipped: 20 });
    c.advance(121, 2);
    expect(c.position()).toMatchObject({ next: 122, processed: 2, skipped: 20 });
  });

  it('skips to the log low offset only when that is above next', () => {
    const c = new PartitionCursor(0, 5, { direct: true });
    c.skipTo(3);
    expect(c.position()).toMatchObject({ next: 5, skipped: 0 });
    c.skipTo(50);
    expect(c.position()).toMatchObject({ next: 50, skipped: 45 });
  });

  it('direct (bulk) reads: next only grows, the engine count is added, it stays dirty until handed back', () => {
    const c = new PartitionCursor(2, undefined, { direct: true });
    c.advanceDirect(1_000, 0);
    expect(c.next).toBe(1_000);
    c.advanceDirect(400, 250); // an older drain: next kept, its records counted
    expect(c.position()).toMatchObject({ next: 1_000, processed: 250 });
    c.checkpointed(1_000);
    expect(c.dirty(false)).toBe(true); // still read by the engine
    c.direct = false;
    expect(c.dirty(false)).toBe(false);
  });

  it('checkpointed() moves base; fencedAt() gives a new cursor at the stored offset with the counters kept', () => {
    const c = new PartitionCursor(4, 0);
    c.admit(batch(0, 1, 2, 3));
    c.advance(3, 4);
    c.checkpointed(4);
    expect(c.position()).toMatchObject({ next: 4, checkpointed: 4 });
    expect(c.dirty(false)).toBe(false);
    c.advance(9, 6);
    const fenced = c.fencedAt(7);
    expect(fenced).not.toBe(c);
    expect(fenced.position()).toEqual({ partition: 4, next: 7, checkpointed: 7, processed: 10, skipped: 0 });
    expect(fenced.direct).toBe(false);
    expect(c.fencedAt(undefined).position()).toMatchObject({ next: 0, checkpointed: undefined });
  });
});
