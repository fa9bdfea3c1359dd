/**
 * MurmurHash64A (Austin Appleby), the hash Redis uses for PFADD, computed on 32-bit halves so it
 * stays fast without BigInt. Same seed as Redis (0xadc83b19), so a member lands in the same
 * HyperLogLog register here and in Redis.
 */

const M_HI = 0xc6a4a793;
const M_LO = 0x5bd1e995;
export const REDIS_HLL_SEED = 0xadc83b19;

/** A 64-bit value as two unsigned 32-bit halves. */
export interface U64 {
  hi: number;
  lo: number;
}

// Scratch state: the hash is synchronous and single-threaded, so module-level registers are safe.
let hHi = 0;
let hLo = 0;
let kHi = 0;
let kLo = 0;

/** (aHi:aLo) * (M_HI:M_LO) mod 2^64, written to rHi/rLo via the return pair. */
function mulM(aHi: number, aLo: number): [number, number] {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = M_LO & 0xffff;
  const b1 = M_LO >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const carry = ((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16;
  const mulHi = p11 + (p01 >>> 16) + (p10 >>> 16) + carry;
  const hi = (mulHi + Math.imul(aHi, M_LO) + Math.imul(aLo, M_HI)) >>> 0;
  const lo = Math.imul(aLo, M_LO) >>> 0;
  return [hi, lo];
}

function hTimesM(): void {
  const r = mulM(hHi, hLo);
  hHi = r[0];
  hLo = r[1];
}

/** MurmurHash64A of `bytes[0..len)`. */
export function murmurHash64A(
  bytes: Uint8Array,
  len: number = bytes.length,
  seed: number = REDIS_HLL_SEED,
): U64 {
  // h = seed ^ (len * m)
  const lm = mulM(0, len >>> 0);
  hHi = lm[0];
  hLo = (lm[1] ^ seed) >>> 0;

  const blocks = len - (len & 7);
  for (let i = 0; i < blocks; i += 8) {
    kLo = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
    kHi = (bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24)) >>> 0;
    let r = mulM(kHi, kLo); // k *= m
    kHi = r[0];
    kLo = (r[1] ^ (kHi >>> 15)) >>> 0; // k ^= k >> 47
    r = mulM(kHi, kLo); // k *= m
    hHi = (hHi ^ r[0]) >>> 0; // h ^= k
    hLo = (hLo ^ r[1]) >>> 0;
    hTimesM();
  }

  const rest = len & 7;
  if (rest > 0) {
    const t = blocks;
    if (rest >= 7) hHi ^= bytes[t + 6]! << 16;
    if (rest >= 6) hHi ^= bytes[t + 5]! << 8;
    if (rest >= 5) hHi ^= bytes[t + 4]!;
    if (rest >= 4) hLo ^= bytes[t + 3]! << 24;
    if (rest >= 3) hLo ^= bytes[t + 2]! << 16;
    if (rest >= 2) hLo ^= bytes[t + 1]! << 8;
    hLo ^= bytes[t]!;
    hHi >>>= 0;
    hLo >>>= 0;
    hTimesM();
  }

  hLo = (hLo ^ (hHi >>> 15)) >>> 0; // h ^= h >> 47
  hTimesM();
  hLo = (hLo ^ (hHi >>> 15)) >>> 0;
  return { hi: hHi, lo: hLo };
}
