// The library's Philox4x32-10 stream: the TS reference against Random123's known answers, dusa_rng_uniform
// bit-exact against the reference, dusa_rng_normal's Box–Muller against it and its statistics, independence of
// the thread count, and offset-shift consistency.
import { describe, expect, test } from "bun:test";
import { expectClose } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng } from "../util/random.ts";
import { philox4x32, philoxNormals, philoxUniforms } from "../ref/philox.ts";

const ctx = cpuContext();
const hex = (a: Uint32Array) => Array.from(a, (x) => x.toString(16).padStart(8, "0")).join(" ");

// a random 64-bit value from the test rng (seed printed on failure through the labels)
function random64(rng: { next: () => number }): bigint {
  return (BigInt(Math.floor(rng.next() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng.next() * 2 ** 32));
}

describe("philox reference", () => {
  test("Random123 known-answer vectors (philox4x32_10)", () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe("6627e8d5 e169c58d bc57ac4c 9b00dbd8");
    const ones = 0xffffffff;
    expect(hex(philox4x32([ones, ones, ones, ones], [ones, ones]))).toBe("408f276d 41c83b0e a20bc7c6 6d5451fd");
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])))
      .toBe("d16cfe09 94fdcceb 5001e420 24126ea1");
  });
});

describe("dusa_rng_uniform", () => {
  test("bit-exact against the reference stream (word i%4 of block offset + i/4), 64-bit seeds and offsets", () => {
    const rng = freshRng();
    for (const n of [1, 3, 4, 5, 1023, 70001]) {
      const seed = random64(rng), offset = random64(rng) >> 1n;
      const out = ctx.alloc([n]).fill(Number.NaN);
      ctx.call("dusa_rng_uniform", out, n, seed, offset, 0, 1);
      const got = out.read(), ref = philoxUniforms(seed, offset, n);
      for (let i = 0; i < n; i++)
        if (got[i] !== ref[i]) throw new Error(`uniform n=${n} seed=${seed} offset=${offset}: [${i}] got ${got[i]}, want ${ref[i]} (rng seed ${rng.seed})`);
      out.free();
    }
  });

  test("range [low, high) mapping and counter carry into word 1", () => {
    const rng = freshRng();
    const n = 4099, seed = random64(rng);
    const offset = 0xffffffffn - 3n; // blocks cross the 32-bit boundary of the counter
    const out = ctx.alloc([n]).fill(Number.NaN);
    ctx.call("dusa_rng_uniform", out, n, seed, offset, -2.5, 4);
    const got = out.read(), ref = philoxUniforms(seed, offset, n).map((u) => -2.5 + 6.5 * u);
    // (high - low) * u + low in float, possibly fused: within one float rounding of the double value
    expectClose(`uniform range seed=${seed}`, got, ref, 1e-7, rng.seed);
    for (const x of got) expect(x >= -2.5 && x < 4).toBe(true);
    out.free();
  });

  test("independent of the thread count; shifting offset by 1 shifts the stream by 4", () => {
    const rng = freshRng();
    const n = 1 << 16, seed = random64(rng), offset = BigInt(Math.floor(rng.next() * 1e9));
    const saved = ctx.threads;
    const a = ctx.alloc([n]), b = ctx.alloc([n]), c = ctx.alloc([n]);
    ctx.threads = 1;
    ctx.call("dusa_rng_uniform", a, n, seed, offset, 0, 1);
    ctx.threads = 2;
    ctx.call("dusa_rng_uniform", b, n, seed, offset, 0, 1);
    ctx.call("dusa_rng_uniform", c, n, seed, offset + 1n, 0, 1);
    ctx.threads = saved;
    const A = a.read(), B = b.read(), Cs = c.read();
    expect(B).toEqual(A);
    expect(Cs.subarray(0, n - 4)).toEqual(A.subarray(4));
    for (const t of [a, b, c]) t.free();
  });
});

describe("dusa_rng_normal", () => {
  test("Box–Muller on the reference stream", () => {
    const rng = freshRng();
    for (const n of [1, 2, 3, 4, 5, 4097]) {
      const seed = random64(rng), offset = random64(rng) >> 8n;
      const out = ctx.alloc([n]).fill(Number.NaN);
      ctx.call("dusa_rng_normal", out, n, seed, offset, 0.5, 2);
      // C and JS log/cos/sin may differ in the last bit before the rounding to float
      expectClose(`normal n=${n} seed=${seed} offset=${offset}`, out.read(), philoxNormals(seed, offset, n, 0.5, 2), 1e-7, rng.seed);
      out.free();
    }
  });

  test("mean and std of 1e6 samples; thread count and offset shift", () => {
    const rng = freshRng();
    const n = 1_000_000, seed = random64(rng), offset = BigInt(Math.floor(rng.next() * 1e9));
    const [mean, std] = [1.5, 3];
    const saved = ctx.threads;
    const a = ctx.alloc([n]), b = ctx.alloc([n]), c = ctx.alloc([n]);
    ctx.threads = 1;
    ctx.call("dusa_rng_normal", a, n, seed, offset, mean, std);
    ctx.threads = 2;
    ctx.call("dusa_rng_normal", b, n, seed, offset, mean, std);
    ctx.call("dusa_rng_normal", c, n, seed, offset + 3n, mean, std);
    ctx.threads = saved;
    const A = a.read(), B = b.read(), Cs = c.read();
    expect(B).toEqual(A);
    expect(Cs.subarray(0, n - 12)).toEqual(A.subarray(12));
    let s = 0, s2 = 0, s4 = 0;
    for (const x of A) s += x;
    const m = s / n;
    for (const x of A) {
      const d = (x - m) * (x - m);
      s2 += d;
      s4 += d * d;
    }
    const sd = Math.sqrt(s2 / (n - 1)), kurtosis = s4 / n / ((s2 / n) * (s2 / n));
    // standard errors: mean std/sqrt(n) = 3e-3, std std/sqrt(2n) = 2.1e-3; bounds at ~6 sigma
    const where = `(seed ${seed}, offset ${offset})`;
    if (Math.abs(m - mean) > 0.02) throw new Error(`normal mean ${m} vs ${mean} ${where}`);
    if (Math.abs(sd - std) > 0.015) throw new Error(`normal std ${sd} vs ${std} ${where}`);
    if (Math.abs(kurtosis - 3) > 0.05) throw new Error(`normal kurtosis ${kurtosis} vs 3 ${where}`);
    for (const t of [a, b, c]) t.free();
  });
});

test("rng: null output is an invalid argument naming the op", () => {
  expect(() => ctx.call("dusa_rng_uniform", null, 4, 1, 0, 0, 1)).toThrow(/dusa_rng_uniform.*out is null/);
  expect(() => ctx.call("dusa_rng_normal", null, 4, 1, 0, 0, 1)).toThrow(/dusa_rng_normal.*out is null/);
});
