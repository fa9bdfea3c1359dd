/**
 * HyperLogLog with 2^14 = 16,384 six-bit registers, built to give the same numbers as Redis:
 * MurmurHash64A with Redis's seed picks the register (low 14 bits) and the rank (1 + trailing
 * zeros of the remaining 50 bits, capped at 51); the count uses Otmar Ertl's improved estimator
 * ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which Redis ≥ 5 uses
 * and which corrects the raw estimate's bias at small and large cardinalities without empirical
 * tables. Relative standard error 1.04/√16384 ≈ 0.81 %.
 *
 * Representation, like Redis: sparse (sorted register/value pairs) while few registers are set,
 * dense (16,384 × 6 bits packed little-endian = 12,288 bytes, Redis's dense layout) after that.
 * Both encode the registers exactly, so the encoding never changes a count.
 *
 * Why not a library: the maintained candidates either use m ≤ 4096 (`hll`), need a native
 * murmurhash addon (`hll`, `hyperloglog`), or (`bloom-filters` 3.0.4) under-count by ≈ 50 % below
 * 2.5·m because empty registers and rank-1 registers are both stored as 0, and take ≈ 0.4 ms per add.
 */
import { murmurHash64A } from './murmur-hash-64a.js';

export const HLL_P = 14;
export const HLL_REGISTERS = 1 << HLL_P; // 16384
const HLL_P_MASK = HLL_REGISTERS - 1;
export const HLL_BITS = 6;
const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
const HLL_Q = 64 - HLL_P; // 50
export const HLL_DENSE_BYTES = (HLL_REGISTERS * HLL_BITS) / 8; // 12288
const HLL_ALPHA_INF = 0.7213475204444817; // 1 / (2 ln 2)
/** Sparse entries before switching to dense (4 bytes each: 8 KB, two thirds of the dense size). */
const SPARSE_MAX_ENTRIES = 2048;

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** Register index and rank of a member, exactly as Redis's hllPatLen computes them. */
export function registerOf(member: string): { index: number; rank: number } {
  // UTF-8 is at most 3 bytes per UTF-16 code unit.
  if (scratch.length < member.length * 3) scratch = new Uint8Array(member.length * 3);
  const { written } = encoder.encodeInto(member, scratch);
  const h = murmurHash64A(scratch, written);
  const index = h.lo & HLL_P_MASK;
  // rank = 1 + trailing zeros of (h >> 14), with bit 50 forced to 1 (so rank ≤ 51).
  const low = h.lo >>> HLL_P; // 18 bits
  let rank: number;
  if (low !== 0) rank = ctz(low) + 1;
  else if (h.hi !== 0) rank = Math.min(32 - HLL_P + ctz(h.hi) + 1, HLL_Q + 1);
  else rank = HLL_Q + 1;
  return { index, rank };
}

function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

export class HyperLogLog {
  /** Sparse: sorted (index << 6 | rank) words; undefined once dense. */
  private sparse: Uint32Array | undefined = new Uint32Array(8);
  private sparseLen = 0;
  /** Dense: Redis layout plus one spare byte so the last register can be read as two bytes. */
  private dense: Uint8Array | undefined;

  /** Adds members; returns true when a register changed (Redis PFADD's reply). */
  add(members: Iterable<string>): boolean {
    let changed = false;
    for (const m of members) {
      const { index, rank } = registerOf(m);
      if (this.setMax(index, rank)) changed = true;
    }
    return changed;
  }

  /** Estimated number of distinct members. */
  count(): number {
    return estimate(this.histogram());
  }

  /** Register-wise maximum with `other` (a union of the two member sets). */
  merge(other: HyperLogLog): void {
    other.forEachRegister((index, rank) => {
      this.setMax(index, rank);
    });
  }

  /** Bytes held by the registers (the memory metric). */
  get byteSize(): number {
    return this.dense ? this.dense.length : this.sparse!.byteLength;
  }

  get encoding(): 'sparse' | 'dense' {
    return this.dense ? 'dense' : 'sparse';
  }

  register(index: number): number {
    if (this.dense) return getDense(this.dense, index);
    const pos = this.find(index);
    return pos >= 0 ? this.sparse![pos]! & HLL_REGISTER_MAX : 0;
  }

  /** Histogram of register values (index = rank, 0 = empty), input of the estimator. */
  histogram(): Int32Array {
    const histo = new Int32Array(64);
    if (this.dense) {
      for (let i = 0; i < HLL_REGISTERS; i++) histo[getDense(this.dense, i)]!++;
    } else {
      for (let i = 0; i < this.sparseLen; i++) histo[this.sparse![i]! & HLL_REGISTER_MAX]!++;
      histo[0] = HLL_REGISTERS - this.sparseLen;
    }
    return histo;
  }

  /** Serialises the registers (for checkpoints). */
  toJSON(): { enc: 'sparse' | 'dense'; data: string } {
    if (this.dense)
      return { enc: 'dense', data: Buffer.from(this.dense.subarray(0, HLL_DENSE_BYTES)).toString('base64') };
    const words = this.sparse!.subarray(0, this.sparseLen);
    return {
      enc: 'sparse',
      data: Buffer.from(words.buffer, words.byteOffset, words.byteLength).toString('base64'),
    };
  }

  static fromJSON(json: { enc: string; data: string }): HyperLogLog {
    const hll = new HyperLogLog();
    const bytes = Buffer.from(json.data, 'base64');
    if (json.enc === 'dense') {
      if (bytes.length !== HLL_DENSE_BYTES)
        throw new Error(`dense sketch has ${bytes.length} bytes, expected ${HLL_DENSE_BYTES}`);
      hll.sparse = undefined;
      hll.dense = new Uint8Array(HLL_DENSE_BYTES + 1);
      hll.dense.set(bytes);
      return hll;
    }
    if (json.enc !== 'sparse' || bytes.length % 4 !== 0)
      throw new Error(`unknown sketch encoding ${json.enc}`);
    const words = new Uint32Array(bytes.length / 4);
    new Uint8Array(words.buffer).set(bytes);
    for (let i = 0; i < words.length; i++) {
      const index = words[i]! >>> HLL_BITS;
      const rank = words[i]! & HLL_REGISTER_MAX;
      if (
        index >= HLL_REGISTERS ||
        rank === 0 ||
        rank > HLL_Q + 1 ||
        (i > 0 && index <= words[i - 1]! >>> HLL_BITS)
      ) {
        throw new Error('sparse sketch entries are not sorted valid registers');
      }
    }
    hll.sparse = words.length > 0 ? words : new Uint32Array(8);
    hll.sparseLen = words.length;
    if (words.length > SPARSE_MAX_ENTRIES) hll.toDense();
    return hll;
  }

  private forEachRegister(fn: (index: number, rank: number) => void): void {
    if (this.dense) {
      for (let i = 0; i < HLL_REGISTERS; i++) {
        const r = getDense(this.dense, i);
        if (r > 0) fn(i, r);
      }
    } else {
      for (let i = 0; i < this.sparseLen; i++)
        fn(this.sparse![i]! >>> HLL_BITS, this.sparse![i]! & HLL_REGISTER_MAX);
    }
  }

  private setMax(index: number, rank: number): boolean {
    if (this.dense) {
      if (getDense(this.dense, index) >= rank) return false;
      setDense(this.dense, index, rank);
      return true;
    }
    const pos = this.find(index);
    const sparse = this.sparse!;
    if (pos >= 0) {
      if ((sparse[pos]! & HLL_REGISTER_MAX) >= rank) return false;
      sparse[pos] = (index << HLL_BITS) | rank;
      return true;
    }
    if (this.sparseLen >= SPARSE_MAX_ENTRIES) {
      this.toDense();
      setDense(this.dense!, index, rank);
      return true;
    }
    const at = -pos - 1;
    let target = sparse;
    if (this.sparseLen === sparse.length) {
      target = new Uint32Array(Math.min(Math.max(8, sparse.length * 2), SPARSE_MAX_ENTRIES));
      target.set(sparse.subarray(0, at));
      target.set(sparse.subarray(at, this.sparseLen), at + 1);
      this.sparse = target;
    } else {
      sparse.copyWithin(at + 1, at, this.sparseLen);
    }
    target[at] = (index << HLL_BITS) | rank;
    this.sparseLen++;
    return true;
  }

  /** Binary search: position of `index`, or -(insertion point) - 1. */
  private find(index: number): number {
    const sparse = this.sparse!;
    let lo = 0;
    let hi = this.sparseLen - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = sparse[mid]! >>> HLL_BITS;
      if (at < index) lo = mid + 1;
      else if (at > index) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  private toDense(): void {
    const dense = new Uint8Array(HLL_DENSE_BYTES + 1);
    for (let i = 0; i < this.sparseLen; i++)
      setDense(dense, this.sparse![i]! >>> HLL_BITS, this.sparse![i]! & HLL_REGISTER_MAX);
    this.dense = dense;
    this.sparse = undefined;
    this.sparseLen = 0;
  }
}

function getDense(p: Uint8Array, regnum: number): number {
  const byte = (regnum * HLL_BITS) >>> 3;
  const fb = (regnum * HLL_BITS) & 7;
  return ((p[byte]! >>> fb) | (p[byte + 1]! << (8 - fb))) & HLL_REGISTER_MAX;
}

function setDense(p: Uint8Array, regnum: number, val: number): void {
  const byte = (regnum * HLL_BITS) >>> 3;
  const fb = (regnum * HLL_BITS) & 7;
  const fb8 = 8 - fb;
  p[byte] = (p[byte]! & ~(HLL_REGISTER_MAX << fb)) | (val << fb);
  p[byte + 1] = (p[byte + 1]! & ~(HLL_REGISTER_MAX >>> fb8)) | (val >>> fb8);
}

/** Ertl's estimator over the register histogram (Redis hllCount). */
export function estimate(histo: Int32Array): number {
  const m = HLL_REGISTERS;
  let z = m * tau((m - histo[HLL_Q + 1]!) / m);
  for (let j = HLL_Q; j >= 1; j--) {
    z += histo[j]!;
    z *= 0.5;
  }
  z += m * sigma(histo[0]! / m);
  return Math.round((HLL_ALPHA_INF * m * m) / z);
}

/** Union estimate of several sketches (Redis PFCOUNT k1 k2 ...). */
export function unionCount(sketches: HyperLogLog[]): number {
  const union = new HyperLogLog();
  for (const s of sketches) union.merge(s);
  return union.count();
}

function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  let zPrime: number;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let zPrime: number;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (zPrime !== z);
  return z / 3;
}
