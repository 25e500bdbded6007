// The fused DUSA flow loss vs the float64 reference: each term alone and all together, grad_scale, the dp = NULL
// (frozen aux) and dw = NULL paths, a zero target (clamped cosine), thread independence; the reference gradients
// vs finite differences with the norm_l2 denominator held fixed (its stop-gradient).
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, type Rng } from "../util/random.ts";
import { flowLossBackwardRef, flowLossDenominators, flowLossRef, type LossWeights } from "../ref/flow-loss.ts";

const ctx = cpuContext();
const weightSets: LossWeights[] = [
  { mse: 1, normL2: 0, cosine: 0 },
  { mse: 0, normL2: 1, cosine: 0 },
  { mse: 0, normL2: 0, cosine: 1 },
  { mse: 1, normL2: 0.5, cosine: 0.25 },
];
const label = (lw: LossWeights) => `(${lw.mse}, ${lw.normL2}, ${lw.cosine})`;

// softmax weights over K (as DUSA's), predictions near the target so the terms are in a realistic range
function problem(rng: Rng, B: number, K: number, D: number) {
  const logits = normal(rng, B * K);
  const w = new Float32Array(B * K);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(logits[b * K + k]);
    for (let k = 0; k < K; k++) w[b * K + k] = Math.exp(logits[b * K + k]) / s;
  }
  const target = normal(rng, B * D), noise = normal(rng, B * K * D, 0.7);
  const p = new Float32Array(B * K * D);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) p[(b * K + k) * D + d] = target[b * D + d] + noise[(b * K + k) * D + d];
  return { w, p, target };
}

function run(w: Float32Array, p: Float32Array, target: Float32Array, B: number, K: number, D: number, lw: LossWeights, gradScale: number, want = { dw: true, dp: true }) {
  const W = ctx.upload(w, [B, K]), P = ctx.upload(p, [B, K, D]), T = ctx.upload(target, [B, D]);
  const terms = poisoned(ctx, [4]), dw = poisoned(ctx, [B, K]), dp = poisoned(ctx, [B, K, D]);
  ctx.call("dusa_flow_loss", terms, want.dw ? dw : null, want.dp ? dp : null, W, P, T, B, K, D, lw.mse, lw.normL2, lw.cosine, gradScale);
  const out = { terms: terms.readFloat(), dw: dw.readFloat(), dp: dp.readFloat() };
  for (const t of [W, P, T, terms, dw, dp]) t.free();
  return out;
}

function checkTerms(got: ArrayLike<number>, ref: ArrayLike<number>, what: string, seed: number) {
  ["total", "mse", "norm_l2", "cosine"].forEach((name, i) => expectClose(`${what} ${name}`, [got[i]], [ref[i]], 1e-6, seed));
}

describe("flow loss", () => {
  for (const [B, K, D] of [[1, 1, 1], [2, 6, 16], [8, 6, 256], [3, 4, 4096], [5, 3, 7]])
    for (const lw of weightSets)
      test(`B=${B} K=${K} D=${D} weights ${label(lw)}`, () => {
        const rng = freshRng();
        const { w, p, target } = problem(rng, B, K, D);
        for (const gradScale of [1, 0.125]) {
          const got = run(w, p, target, B, K, D, lw, gradScale);
          checkTerms(got.terms, flowLossRef(w, p, target, B, K, D, lw), `${label(lw)} g=${gradScale}`, rng.seed);
          const ref = flowLossBackwardRef(w, p, target, B, K, D, lw, gradScale);
          expectClose(`dw ${label(lw)} g=${gradScale}`, got.dw, ref.dw, 1e-5, rng.seed);
          expectClose(`dp ${label(lw)} g=${gradScale}`, got.dp, ref.dp, 1e-5, rng.seed);
        }
      });

  test("dp = NULL (frozen aux) and dw = NULL skip exactly their output", () => {
    const rng = freshRng();
    const [B, K, D] = [4, 6, 64];
    const { w, p, target } = problem(rng, B, K, D);
    const lw = weightSets[3];
    const full = run(w, p, target, B, K, D, lw, 0.5);
    const noDp = run(w, p, target, B, K, D, lw, 0.5, { dw: true, dp: false });
    const noDw = run(w, p, target, B, K, D, lw, 0.5, { dw: false, dp: true });
    const none = run(w, p, target, B, K, D, lw, 0.5, { dw: false, dp: false });
    expect(noDp.dw).toEqual(full.dw);
    expect(noDp.dp.every(Number.isNaN)).toBe(true);
    expect(noDw.dp).toEqual(full.dp);
    expect(noDw.dw.every(Number.isNaN)).toBe(true);
    for (const r of [noDp, noDw, none]) expect(r.terms).toEqual(full.terms);
  });

  test("a zero target row: cosine clamps its denominator", () => {
    const rng = freshRng();
    const [B, K, D] = [3, 2, 10];
    const { w, p, target } = problem(rng, B, K, D);
    target.fill(0, D, 2 * D);
    const lw = weightSets[3];
    const got = run(w, p, target, B, K, D, lw, 1);
    checkTerms(got.terms, flowLossRef(w, p, target, B, K, D, lw), "zero target", rng.seed);
    const ref = flowLossBackwardRef(w, p, target, B, K, D, lw, 1);
    expectClose("dw", got.dw, ref.dw, 1e-5, rng.seed);
    expectClose("dp", got.dp, ref.dp, 1e-5, rng.seed);
  });

  test("results do not depend on the thread count", () => {
    const rng = freshRng();
    const [B, K, D] = [16, 6, 1024];
    const { w, p, target } = problem(rng, B, K, D);
    const saved = ctx.threads, got: ReturnType<typeof run>[] = [];
    for (const threads of [1, 2, 3]) {
      ctx.threads = threads;
      got.push(run(w, p, target, B, K, D, weightSets[3], 1));
    }
    ctx.threads = saved;
    for (const r of got.slice(1)) {
      expect(r.terms).toEqual(got[0].terms);
      expect(r.dw).toEqual(got[0].dw);
      expect(r.dp).toEqual(got[0].dp);
    }
  });

  test("reference gradients agree with finite differences (norm_l2 denominator held fixed)", () => {
    const rng = freshRng();
    const [B, K, D] = [2, 3, 5];
    const { w, p, target } = problem(rng, B, K, D);
    const inputs = [toF64(w), toF64(p)];
    const den = flowLossDenominators(w, p, target, B, K, D);
    for (const lw of weightSets) {
      const gradScale = 0.75;
      const f = (xs: Float64Array[]) => [flowLossRef(xs[0], xs[1], target, B, K, D, lw, den)[0]];
      const ref = flowLossBackwardRef(inputs[0], inputs[1], target, B, K, D, lw, gradScale);
      expectClose(`dw ${label(lw)}`, finiteDiff(f, inputs, [gradScale], 0), ref.dw, 1e-7, rng.seed);
      expectClose(`dp ${label(lw)}`, finiteDiff(f, inputs, [gradScale], 1), ref.dp, 1e-7, rng.seed);
    }
  });

  test("bad arguments are errors naming the op", () => {
    const x = ctx.zeros([16]), terms = ctx.alloc([4]);
    expect(() => ctx.call("dusa_flow_loss", terms, null, null, x, x, x, 2, 0, 4, 1, 0, 0, 1)).toThrow(/dusa_flow_loss.*K must be > 0/);
    expect(() => ctx.call("dusa_flow_loss", null, null, null, x, x, x, 2, 2, 4, 1, 0, 0, 1)).toThrow(/dusa_flow_loss.*terms is null/);
    expect(() => ctx.call("dusa_flow_loss", terms, null, null, x, x, x, 2, 2, 4, Number.NaN, 0, 0, 1)).toThrow(/dusa_flow_loss.*must be finite/);
    x.free();
    terms.free();
  });
});
