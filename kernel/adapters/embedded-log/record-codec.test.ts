import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../ports/event-log.js';
import { RECORD_OVERHEAD_BYTES, decodeRecords, encodeBatch, maxEncodedBytes } from './record-codec.js';

const MAX = 16 * 1024 * 1024;

function encode(records: Parameters<typeof encodeBatch>[0], base = 0, ts = 1000): Buffer {
  const buf = Buffer.alloc(maxEncodedBytes(records));
  const batch = encodeBatch(records, base, ts, buf, 4096);
  return buf.subarray(0, batch.bytes);
}

describe('record codec', () => {
  it('round-trips keys, values, timestamps and large offsets', () => {
    const base = 2 ** 40 + 5;
    const buf = encode(
      [{ value: 'a' }, { key: 'k', value: 'ünï ☃', timestamp: 2 ** 41 }, { key: '', value: '' }],
      base,
    );
    expect(buf.length).toBe(3 * RECORD_OVERHEAD_BYTES + 1 + 1 + Buffer.byteLength('ünï ☃'));
    const out: LogRecord[] = [];
    const r = decodeRecords(buf, 0, buf.length, base, base, 10, out, 0, MAX);
    expect(r).toEqual({ consumed: buf.length, nextOffset: base + 3, problem: undefined, problemAt: -1 });
    expect(out).toEqual([
      { offset: base, timestamp: 1000, key: undefined, value: 'a' },
      { offset: base + 1, timestamp: 2 ** 41, key: 'k', value: 'ünï ☃' },
      { offset: base + 2, timestamp: 1000, key: '', value: '' },
    ]);
  });

  it('skips records below fromOffset, stops at maxRecords and at an incomplete record', () => {
    const buf = encode(Array.from({ length: 5 }, (_, i) => ({ value: `v${i}` })));
    const out: LogRecord[] = [];
    const r = decodeRecords(buf, 0, buf.length, 0, 2, 2, out, 0, MAX);
    expect(out.map((x) => x.offset)).toEqual([2, 3]);
    expect(r.nextOffset).toBe(4);
    const partial: LogRecord[] = [];
    const frame = RECORD_OVERHEAD_BYTES + 2;
    const p = decodeRecords(buf, 0, buf.length - 1, 0, 0, 10, partial, 0, MAX);
    expect(partial).toHaveLength(4);
    expect(p.consumed).toBe(4 * frame);
    expect(p.problem).toBeUndefined();
  });

  it('reports a CRC mismatch only for records at or after checkFrom, and offset gaps always', () => {
    const buf = encode([{ value: 'one' }, { value: 'two' }]);
    const frame = RECORD_OVERHEAD_BYTES + 3;
    buf[frame + RECORD_OVERHEAD_BYTES] = 'T'.charCodeAt(0);
    const checked = decodeRecords(buf, 0, buf.length, 0, 0, 10, [], 0, MAX);
    expect(checked).toMatchObject({
      problem: 'checksum-mismatch',
      problemAt: frame,
      consumed: frame,
      nextOffset: 1,
    });
    const trusted: LogRecord[] = [];
    expect(decodeRecords(buf, 0, buf.length, 0, 0, 10, trusted, buf.length, MAX).problem).toBeUndefined();
    expect(trusted[1]!.value).toBe('Two');
    expect(decodeRecords(buf, 0, buf.length, 7, 0, 10, [], buf.length, MAX)).toMatchObject({
      problem: 'offset-gap',
      problemAt: 0,
    });
    buf.writeUInt32LE(3, 4);
    expect(decodeRecords(buf, 0, buf.length, 0, 0, 10, [], buf.length, MAX)).toMatchObject({
      problem: 'bad-length',
      problemAt: 0,
    });
  });
});
