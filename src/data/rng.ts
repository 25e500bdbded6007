// Seeded random numbers that are the same on every machine: xoshiro128** (32-bit integer ops only), one
// independent stream per key tuple, e.g. (seed, "gaussian_noise", severity, imageIndex). Because every image
// has its own stream, results do not depend on order, chunking or the number of workers.
import { dlog } from "./detmath.ts";

const fmix32 = (h: number): number => {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

const seedWords = (seed: number): [number, number] => {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
};

const TWO_POW_53 = 9007199254740992;

export class Rng {
  private s0: number; private s1: number; private s2: number; private s3: number;
  private spareNormal = NaN;

  constructor(seed: number, ...keys: (number | string)[]) {
    const words = [...seedWords(seed), ...keys.map((k) => (typeof k === "string" ? fnv1a(k) : k >>> 0))];
    let h = 0x243f6a88 ^ words.length;
    for (const w of words) h = fmix32(h ^ fmix32(w + 0x9e3779b9));
    this.s0 = fmix32(h + 0x9e3779b9); this.s1 = fmix32(h + 0x3c6ef372);
    this.s2 = fmix32(h + 0xdaa66d2b); this.s3 = fmix32(h + 0x78dde6e4);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextU32(): number {
    const s1 = this.s1, r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0, t = s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t; this.s3 = rotl(this.s3, 11);
    return r;
  }

  // Uniform in [0, 1) with 53 random bits.
  uniform(): number {
    const a = this.nextU32() >>> 5, b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / TWO_POW_53;
  }

  uniformIn(lo: number, hi: number): number { return lo + (hi - lo) * this.uniform(); }

  // Integer in [lo, hi) like numpy's randint.
  int(lo: number, hi: number): number { return lo + Math.floor(this.uniform() * (hi - lo)); }

  // Standard normal by Box–Muller in Marsaglia's polar form (no sin/cos; log from detmath).
  normal(): number {
    if (this.spareNormal === this.spareNormal) { const z = this.spareNormal; this.spareNormal = NaN; return z; }
    let u: number, v: number, s: number;
    do { u = 2 * this.uniform() - 1; v = 2 * this.uniform() - 1; s = u * u + v * v; } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * dlog(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }

  // Fisher–Yates permutation of 0..n-1.
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) { const j = this.int(0, i + 1), t = p[i]; p[i] = p[j]; p[j] = t; }
    return p;
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
