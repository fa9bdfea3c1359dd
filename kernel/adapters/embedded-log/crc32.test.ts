import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Range } from './crc32.js';

describe('crc32Range', () => {
  it('equals zlib.crc32 for every length and alignment, below and above the native cut-over', () => {
    const buf = randomBytes(5000);
    for (const start of [0, 1, 3, 7]) {
      for (let len = 0; len < 40; len++)
        expect(crc32Range(buf, start, start + len)).toBe(crc32(buf.subarray(start, start + len)));
      for (const len of [255, 1023, 1024, 1025, 4096]) {
        expect(crc32Range(buf, start, start + len)).toBe(crc32(buf.subarray(start, start + len)));
      }
    }
    expect(crc32Range(Buffer.from('123456789'), 0, 9)).toBe(0xcbf43926);
  });
});
