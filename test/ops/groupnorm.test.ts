// GroupNorm (+ fused SiLU) forward and backward vs the float64 reference, in normal and reference mode;
// saved statistics; parameter grads accumulate, NULL grads skip; the reference vs finite differences; bad input.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform } from "../util/random.ts";
import { groupnormBackwardRef, groupnormRef } from "../ref/norm-group.ts";

const ctx = cpuContext();

// [B, C, HW, G]
const cases: number[][] = [
  [1, 1, 1, 1], // one element per group: xhat = 0, the output is the bias
  [2, 4, 5, 2],
  [1, 6, 7, 3],
  [3, 12, 9, 1], // one group: LayerNorm over (C, HW)
  [1, 32, 64, 32], // one channel per group: InstanceNorm
  [2, 32, 16, 8],
  [1, 64, 300, 32], // threaded, SD-VAE's 32 groups
];

for (const reference of [false, true])
  for (const silu of [false, true])
    describe(`groupnorm${silu ? " + SiLU" : ""}, ${reference ? "reference mode" : "fast path"}`, () => {
      for (const [B, C, HW, G] of cases)
        test(`B=${B} C=${C} HW=${HW} G=${G}`, () => {
          const rng = freshRng();
          const n = B * C * HW, eps = 1e-6;
          // offset inputs (mean 3) so one-pass statistics would lose digits
          const X = normal(rng, n, 2).map((v) => v + 3), W = uniform(rng, C, 0.5, 1.5), Bv = uniform(rng, C), G_ = uniform(rng, n);
          const DW0 = uniform(rng, C), DB0 = uniform(rng, C);
          ctx.setReference(reference);
          try {
            const x = ctx.upload(X, [B, C, HW]), w = ctx.upload(W, [C], "param"), b = ctx.upload(Bv, [C], "param");
            const out = poisoned(ctx, [B, C, HW]), mean = poisoned(ctx, [B, G]), rstd = poisoned(ctx, [B, G]);
            ctx.call("dusa_groupnorm_forward", out, mean, rstd, x, w, b, B, C, HW, G, eps, +silu);
            const ref = groupnormRef(X, W, Bv, B, C, HW, G, eps, silu);
            expectClose("out", out.read(), ref.out, 1e-5, rng.seed);
            expectClose("mean", mean.read(), ref.mean, 1e-6, rng.seed);
            expectClose("rstd", rstd.read(), ref.rstd, 1e-6, rng.seed);

            const bref = groupnormBackwardRef(G_, X, W, Bv, B, C, HW, G, eps, silu);
            const g = ctx.upload(G_, [B, C, HW]), din = poisoned(ctx, [B, C, HW]);
            const dw = ctx.upload(DW0, [C], "grad"), db = ctx.upload(DB0, [C], "grad");
            ctx.call("dusa_groupnorm_backward", din, dw, db, g, x, w, b, mean, rstd, B, C, HW, G, +silu);
            // din cancels (dxhat - mean(dxhat) - xhat mean(dxhat xhat)); the float mean/rstd it is given are
            // rounded to 6e-8, which the mean-3 offset turns into ~1e-7 on xhat: well inside 1e-5.
            expectClose("din", din.read(), bref.din, 1e-5, rng.seed);
            expectClose("dweight +=", dw.read(), bref.dw.map((v, i) => v + DW0[i]), 1e-5, rng.seed);
            expectClose("dbias +=", db.read(), bref.db.map((v, i) => v + DB0[i]), 1e-5, rng.seed);

            // din alone: parameter grads untouched
            const dwBefore = dw.read(), dbBefore = db.read();
            din.fill(Number.NaN);
            ctx.call("dusa_groupnorm_backward", din, null, null, g, x, w, b, mean, rstd, B, C, HW, G, +silu);
            expectClose("din alone", din.read(), bref.din, 1e-5, rng.seed);
            expect(dw.read()).toEqual(dwBefore);
            expect(db.read()).toEqual(dbBefore);
            // parameter grads alone: din untouched
            const dinBefore = din.read();
            ctx.call("dusa_groupnorm_backward", null, dw, db, g, x, w, b, mean, rstd, B, C, HW, G, +silu);
            expectClose("dweight += twice", dw.read(), bref.dw.map((v, i) => 2 * v + DW0[i]), 1e-5, rng.seed);
            expectClose("dbias += twice", db.read(), bref.db.map((v, i) => 2 * v + DB0[i]), 1e-5, rng.seed);
            expect(din.read()).toEqual(dinBefore);
            for (const t of [x, w, b, out, mean, rstd, g, din, dw, db]) t.free();
          } finally {
            ctx.setReference(false);
          }
        });
    });

test("groupnorm without affine (NULL weight and bias) is weight 1, bias 0", () => {
  const rng = freshRng();
  const [B, C, HW, G, eps] = [2, 6, 10, 3, 1e-5];
  const X = normal(rng, B * C * HW), G_ = uniform(rng, B * C * HW);
  const x = ctx.upload(X, [B, C, HW]), out = poisoned(ctx, [B, C, HW]), mean = poisoned(ctx, [B, G]), rstd = poisoned(ctx, [B, G]);
  const g = ctx.upload(G_, [B, C, HW]), din = poisoned(ctx, [B, C, HW]);
  for (const silu of [false, true]) {
    ctx.call("dusa_groupnorm_forward", out, mean, rstd, x, null, null, B, C, HW, G, eps, +silu);
    expectClose("out", out.read(), groupnormRef(X, null, null, B, C, HW, G, eps, silu).out, 1e-5, rng.seed);
    ctx.call("dusa_groupnorm_backward", din, null, null, g, x, null, null, mean, rstd, B, C, HW, G, +silu);
    expectClose("din", din.read(), groupnormBackwardRef(G_, X, null, null, B, C, HW, G, eps, silu).din, 1e-5, rng.seed);
  }
  for (const t of [x, out, mean, rstd, g, din]) t.free();
});

test("groupnorm reference backward agrees with finite differences", () => {
  const rng = freshRng();
  const [B, C, HW, G, eps] = [2, 4, 3, 2, 1e-5];
  for (const silu of [false, true]) {
    const inputs = [toF64(normal(rng, B * C * HW)), toF64(uniform(rng, C)), toF64(uniform(rng, C))];
    const G_ = uniform(rng, B * C * HW);
    const f = (xs: Float64Array[]) => groupnormRef(xs[0], xs[1], xs[2], B, C, HW, G, eps, silu).out;
    const ref = groupnormBackwardRef(G_, inputs[0], inputs[1], inputs[2], B, C, HW, G, eps, silu);
    expectClose(`din silu=${silu}`, finiteDiff(f, inputs, G_, 0), ref.din, 1e-6, rng.seed);
    expectClose(`dweight silu=${silu}`, finiteDiff(f, inputs, G_, 1), ref.dw, 1e-6, rng.seed);
    expectClose(`dbias silu=${silu}`, finiteDiff(f, inputs, G_, 2), ref.db, 1e-6, rng.seed);
  }
});

test("groupnorm bad input names the op", () => {
  const t = ctx.alloc([64]);
  expect(() => ctx.call("dusa_groupnorm_forward", t, t, t, t, null, null, 1, 6, 4, 4, 1e-6, 0))
    .toThrow(/dusa_groupnorm_forward.*C \(6\) must be divisible by G \(4\)/);
  expect(() => ctx.call("dusa_groupnorm_forward", t, t, t, t, null, null, 1, 4, 4, 0, 1e-6, 0)).toThrow(/dusa_groupnorm_forward.*G must be > 0/);
  expect(() => ctx.call("dusa_groupnorm_forward", t, null, t, t, null, null, 1, 4, 4, 2, 1e-6, 0)).toThrow(/dusa_groupnorm_forward.*mean is null/);
  expect(() => ctx.call("dusa_groupnorm_backward", t, null, null, t, t, null, null, t, t, 1, 6, 4, 4, 1))
    .toThrow(/dusa_groupnorm_backward.*divisible by G/);
  expect(() => ctx.call("dusa_groupnorm_backward", t, null, null, t, t, null, null, null, t, 1, 4, 4, 2, 1))
    .toThrow(/dusa_groupnorm_backward.*mean is null/);
  t.free();
});
