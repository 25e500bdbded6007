// DUSA class selection: exact agreement with the TS reference on the same Philox stream (top-k exactness with
// ties, random picks outside the top-k and never repeated), the empirical distribution of the draws over many
// rows and seeds against the restricted softmax (chi-square), thread independence; gather forward/backward.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, integers, normal, uniform, type Rng } from "../util/random.ts";
import { gatherBackwardRef, gatherRef, restrictedWeights, selectClassesRef, topkRef } from "../ref/select.ts";

const ctx = cpuContext();

function random64(rng: Rng): bigint {
  return (BigInt(Math.floor(rng.next() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng.next() * 2 ** 32));
}

// logits (B, C) and their row-L2-normalised values; `ties` quantises normed so equal values are common
function inputs(rng: Rng, B: number, C: number, ties: boolean) {
  const logits = normal(rng, B * C, 2);
  const normed = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += logits[b * C + c] ** 2;
    for (let c = 0; c < C; c++) normed[b * C + c] = ties ? Math.round((8 * logits[b * C + c]) / Math.sqrt(ss)) / 8 : logits[b * C + c] / Math.sqrt(ss);
  }
  return { logits, normed };
}

function select(normed: Float32Array, logits: Float32Array | null, B: number, C: number, topk: number, R: number, temperature: number, seed: bigint, offset: bigint): Int32Array {
  const n = ctx.upload(normed, [B, C]), l = logits ? ctx.upload(logits, [B, C]) : null;
  const sel = ctx.alloc([B, topk + R], "act", "i32").fill(Number.NaN);
  ctx.call("dusa_select_classes", sel, n, l, B, C, topk, R, temperature, seed, offset);
  const out = sel.read() as Int32Array;
  for (const t of [n, l, sel]) t?.free();
  return out;
}

describe("select_classes", () => {
  const cases: [number, number, number, number, number, boolean][] = [
    // B, C, topk, rand_budget, temperature, ties
    [1, 6, 4, 2, 1, false],
    [8, 10, 4, 2, 1, true],
    [16, 1000, 4, 2, 1, false],
    [5, 7, 3, 4, 0.5, true],    // topk + rand_budget = C: the draws exhaust the rest
    [4, 50, 5, 10, 2.5, false],
    [3, 9, 1, 0, 1, true],      // no draws (logits may be NULL)
    [2, 4, 4, 0, 1, false],     // topk = C
    [6, 12, 1, 11, 0.3, false], // everything drawn
  ];
  for (const [B, C, topk, R, temperature, ties] of cases)
    test(`B=${B} C=${C} topk=${topk} rand_budget=${R} T=${temperature}${ties ? " with ties" : ""}`, () => {
      const rng = freshRng();
      const { logits, normed } = inputs(rng, B, C, ties);
      const seed = random64(rng), offset = random64(rng) >> 2n;
      const got = select(normed, R ? logits : null, B, C, topk, R, temperature, seed, offset);
      const K = topk + R, where = `(seed ${seed}, offset ${offset}, rng ${rng.seed})`;
      for (let b = 0; b < B; b++) {
        const row = Array.from(got.subarray(b * K, (b + 1) * K));
        expect(row.slice(0, topk)).toEqual(topkRef(normed, b * C, C, topk));
        for (const c of row.slice(topk)) {
          if (row.slice(0, topk).includes(c)) throw new Error(`random pick ${c} is in the top-k, row ${b} ${where}`);
          expect(c >= 0 && c < C).toBe(true);
        }
        if (new Set(row).size !== K) throw new Error(`row ${b} repeats a class: ${row} ${where}`);
      }
      expect(Array.from(got)).toEqual(Array.from(selectClassesRef(normed, logits, B, C, topk, R, temperature, seed, offset)));
    });

  test("draws follow the restricted softmax (chi-square over 20000 rows per temperature)", () => {
    const rng = freshRng();
    const [C, topk, R, rows] = [10, 4, 2, 5000];
    const { logits: one, normed: oneNormed } = inputs(rng, 1, C, false);
    const logits = new Float32Array(rows * C), normed = new Float32Array(rows * C);
    for (let b = 0; b < rows; b++) { logits.set(one, b * C); normed.set(oneNormed, b * C); }
    const top = topkRef(oneNormed, 0, C, topk);
    for (const temperature of [1, 2.5]) {
      const w = restrictedWeights(one, 0, C, top, Math.fround(temperature));
      const total = w.reduce((s, x) => s + Math.max(x, 0), 0);
      const p = Array.from(w, (x) => Math.max(x, 0) / total);
      // second draw: sum over first picks i of p_i p_j / (1 - p_i)
      const p2 = p.map((pj, j) => p.reduce((s, pi, i) => (i === j || pi === 0 ? s : s + (pi * pj) / (1 - pi)), 0));
      const counts = [new Float64Array(C), new Float64Array(C)];
      let n = 0;
      for (let s = 0; s < 4; s++) {
        const seed = random64(rng);
        const got = select(normed, logits, rows, C, topk, R, temperature, seed, 0n);
        for (let b = 0; b < rows; b++) for (let j = 0; j < R; j++) counts[j][got[b * (topk + R) + topk + j]]++;
        n += rows;
      }
      [p, p2].forEach((probs, j) => {
        let chi2 = 0;
        for (let c = 0; c < C; c++) {
          if (probs[c] === 0) { expect(counts[j][c]).toBe(0); continue; }
          chi2 += (counts[j][c] - n * probs[c]) ** 2 / (n * probs[c]);
        }
        // 5 degrees of freedom: P(chi2 > 35) ~ 1.6e-6
        if (!(chi2 < 35)) throw new Error(`draw ${j} T=${temperature}: chi2 ${chi2.toFixed(1)} (counts ${Array.from(counts[j])}, p ${probs.map((x) => (n * x).toFixed(0))}, rng ${rng.seed})`);
      });
    }
  });

  test("results do not depend on the thread count", () => {
    const rng = freshRng();
    const [B, C] = [64, 1000];
    const { logits, normed } = inputs(rng, B, C, false);
    const seed = random64(rng), saved = ctx.threads, got: Int32Array[] = [];
    for (const threads of [1, 2, 3]) {
      ctx.threads = threads;
      got.push(select(normed, logits, B, C, 4, 2, 1, seed, 7n));
    }
    ctx.threads = saved;
    expect(got[1]).toEqual(got[0]);
    expect(got[2]).toEqual(got[0]);
  });

  test("bad arguments are errors naming the op", () => {
    const x = ctx.zeros([2, 6]), sel = ctx.alloc([2, 8], "act", "i32");
    const call = (topk: number, R: number, t: number, logits: unknown = x) => () =>
      ctx.call("dusa_select_classes", sel, x, logits as never, 2, 6, topk, R, t, 1, 0);
    expect(call(4, 3, 1)).toThrow(/dusa_select_classes.*topk \+ rand_budget \(4 \+ 3\) exceeds the 6 classes/);
    expect(call(0, 2, 1)).toThrow(/dusa_select_classes.*topk must be >= 1/);
    expect(call(2, -1, 1)).toThrow(/dusa_select_classes.*rand_budget must be >= 0/);
    expect(call(2, 2, 0)).toThrow(/dusa_select_classes.*temperature must be finite and > 0/);
    expect(call(2, 2, 1, null)).toThrow(/dusa_select_classes.*logits is null/);
    const nan = ctx.upload(Float32Array.of(0, 0, 0, 0, 0, 0, 1, Number.NaN, 0, 0, 0, 0), [2, 6]);
    expect(() => ctx.call("dusa_select_classes", sel, nan, x, 2, 6, 4, 2, 1, 1, 0)).toThrow(/dusa_select_classes.*normed row 1 has a non-finite value/);
    for (const t of [x, sel, nan]) t.free();
  });
});

describe("gather", () => {
  for (const [B, C, K] of [[1, 1, 1], [3, 10, 6], [8, 1000, 6], [2, 5, 9]])
    test(`B=${B} C=${C} K=${K} (repeated indices accumulate)`, () => {
      const rng = freshRng();
      const X = uniform(rng, B * C), idx = integers(rng, B * K, C), G = uniform(rng, B * K);
      const x = ctx.upload(X, [B, C]), id = ctx.upload(idx, [B, K]), out = poisoned(ctx, [B, K]);
      ctx.call("dusa_gather_forward", out, x, id, B, C, K);
      expect(out.readFloat()).toEqual(Float32Array.from(gatherRef(X, idx, B, C, K)));
      const g = ctx.upload(G, [B, K]), din = poisoned(ctx, [B, C]);
      ctx.call("dusa_gather_backward", din, g, id, B, C, K);
      expectClose("gather backward", din.read(), gatherBackwardRef(G, idx, B, C, K), 1e-7, rng.seed);
      for (const t of [x, id, out, g, din]) t.free();
    });

  test("reference backward agrees with finite differences", () => {
    const rng = freshRng();
    const [B, C, K] = [2, 5, 7];
    const idx = integers(rng, B * K, C), G = uniform(rng, B * K);
    const f = (xs: Float64Array[]) => gatherRef(xs[0], idx, B, C, K);
    expectClose("din", finiteDiff(f, [toF64(uniform(rng, B * C))], G, 0), gatherBackwardRef(G, idx, B, C, K), 1e-8, rng.seed);
  });

  test("indices outside [0, C) are errors naming the op and the position", () => {
    const x = ctx.zeros([2, 4]), id = ctx.upload(Int32Array.of(0, 1, 3, 4), [2, 2]), out = ctx.alloc([2, 2]);
    expect(() => ctx.call("dusa_gather_forward", out, x, id, 2, 4, 2)).toThrow(/dusa_gather_forward.*idx\[1, 1\] = 4 is outside \[0, 4\)/);
    expect(() => ctx.call("dusa_gather_backward", x, out, id, 2, 4, 2)).toThrow(/dusa_gather_backward.*idx\[1, 1\] = 4/);
    for (const t of [x, id, out]) t.free();
  });
});
