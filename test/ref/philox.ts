// Philox4x32-10 (Salmon et al., Random123) in TypeScript: the reference for the library's counter-based RNG.
// The library's stream: element i of (seed, offset) is word i % 4 of the block with counter offset + i/4 (a 64-bit
// value in words 0 and 1, words 2 and 3 zero) and key seed (split into two 32-bit words).

const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 (exact, via 16-bit halves). */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = Math.floor((al * bl) / 65536) + (lh % 65536) + (hl % 65536);
  return (ah * bh + Math.floor(lh / 65536) + Math.floor(hl / 65536) + Math.floor(mid / 65536)) >>> 0;
}

/** Philox4x32 with 10 rounds on a full 4-word counter and 2-word key (the Random123 function). */
export function philox4x32(counter: readonly number[], key: readonly number[]): Uint32Array {
  let [c0, c1, c2, c3] = counter.map((x) => x >>> 0);
  let [k0, k1] = key.map((x) => x >>> 0);
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

const MASK32 = 0xffffffffn, MASK64 = (1n << 64n) - 1n;

/** The library's block: counter (64-bit) in words 0, 1; key = seed (64-bit). */
export function philoxBlock(counter: bigint, seed: bigint): Uint32Array {
  counter &= MASK64;
  seed &= MASK64;
  return philox4x32([Number(counter & MASK32), Number(counter >> 32n), 0, 0], [Number(seed & MASK32), Number(seed >> 32n)]);
}

/** Top 24 bits of a word -> [0, 1). */
export function wordToUnit(word: number): number {
  return (word >>> 8) / 16777216;
}

/** Element i of the uniform stream (seed, offset), in [0, 1). */
export function philoxUniform(seed: bigint, offset: bigint, i: number): number {
  const block = philoxBlock(offset + BigInt(Math.floor(i / 4)), seed);
  return wordToUnit(block[i % 4]);
}

/** n uniforms of the stream, computed a block at a time. */
export function philoxUniforms(seed: bigint, offset: bigint, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let blk = 0; blk * 4 < n; blk++) {
    const words = philoxBlock(offset + BigInt(blk), seed);
    for (let j = 0; j < 4 && blk * 4 + j < n; j++) out[blk * 4 + j] = wordToUnit(words[j]);
  }
  return out;
}

/** dusa_rng_normal's Box–Muller on word pairs (0,1), (2,3) of each block, in double (before rounding to float). */
export function philoxNormals(seed: bigint, offset: bigint, n: number, mean = 0, std = 1): Float64Array {
  const out = new Float64Array(n);
  for (let blk = 0; blk * 4 < n; blk++) {
    const words = philoxBlock(offset + BigInt(blk), seed);
    for (let pair = 0; pair < 2; pair++) {
      const u1 = ((words[2 * pair] >>> 8) + 1) / 16777216;
      const u2 = (words[2 * pair + 1] >>> 8) / 16777216;
      const radius = Math.sqrt(-2 * Math.log(u1));
      const z = [radius * Math.cos(2 * Math.PI * u2), radius * Math.sin(2 * Math.PI * u2)];
      for (let j = 0; j < 2; j++) {
        const i = blk * 4 + 2 * pair + j;
        if (i < n) out[i] = mean + std * z[j];
      }
    }
  }
  return out;
}
