import { describe, expect, it } from 'vitest';
import { segmentsToDelete } from './retention-policy.js';

const seg = (sizeBytes: number, maxTimestamp: number) => ({ sizeBytes, maxTimestamp });

describe('retention policy', () => {
  it('keeps everything without a spec, and never deletes the active segment', () => {
    const segs = [seg(100, 1), seg(100, 2), seg(100, 3)];
    expect(segmentsToDelete(segs, 1e12, { retentionMs: undefined, retentionBytes: undefined })).toBe(0);
    expect(segmentsToDelete(segs, 1e12, { retentionMs: 1, retentionBytes: undefined })).toBe(2);
    expect(segmentsToDelete(segs, 1e12, { retentionMs: undefined, retentionBytes: 1 })).toBe(2);
  });

  it('by age: a prefix of segments strictly older than retentionMs', () => {
    const segs = [seg(1, 100), seg(1, 500), seg(1, 200), seg(1, 900)];
    // now − newest > 300: 100 yes, 500 no → stops, although 200 would qualify.
    expect(segmentsToDelete(segs, 700, { retentionMs: 300, retentionBytes: undefined })).toBe(1);
    expect(segmentsToDelete(segs, 800, { retentionMs: 300, retentionBytes: undefined })).toBe(1);
    expect(segmentsToDelete(segs, 801, { retentionMs: 300, retentionBytes: undefined })).toBe(3);
  });

  it('by size: oldest segments while what is left stays >= retentionBytes (Kafka)', () => {
    const segs = [seg(1000, 0), seg(1000, 0), seg(1000, 0), seg(500, 0)];
    expect(segmentsToDelete(segs, 0, { retentionMs: undefined, retentionBytes: 3500 })).toBe(0);
    expect(segmentsToDelete(segs, 0, { retentionMs: undefined, retentionBytes: 2500 })).toBe(1);
    expect(segmentsToDelete(segs, 0, { retentionMs: undefined, retentionBytes: 2499 })).toBe(1);
    expect(segmentsToDelete(segs, 0, { retentionMs: undefined, retentionBytes: 1500 })).toBe(2);
    expect(segmentsToDelete(segs, 0, { retentionMs: undefined, retentionBytes: 10 })).toBe(3);
  });

  it('applies age first, then size to what is left', () => {
    const segs = [seg(1000, 0), seg(1000, 10_000), seg(1000, 10_000), seg(10, 10_000)];
    expect(segmentsToDelete(segs, 10_000, { retentionMs: 5000, retentionBytes: 1010 })).toBe(2);
  });
});
