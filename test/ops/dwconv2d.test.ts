// depthwise conv2d (stride 1, odd K, "same" padding) forward and backward vs the float64 reference, in normal
// and reference mode; parameter grads accumulate, NULL grads skip; the reference vs finite differences; bad input.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, uniform } from "../util/random.ts";
import { dwconv2dBackwardRef, dwconv2dRef } from "../ref/conv.ts";

const ctx = cpuContext();

// [B, C, H, W, K]
const cases: [string, number[]][] = [
  ["1x1 image, K=1", [1, 1, 1, 1, 1]],
  ["1x1 image, K=3", [1, 1, 1, 1, 3]],
  ["K=3, batch 2, odd sizes", [2, 3, 5, 7, 3]],
  ["K=7 bigger than the image", [1, 4, 3, 2, 7]],
  ["K=5", [2, 2, 6, 5, 5]],
  ["ConvNeXt K=7, batch 2", [2, 5, 9, 11, 7]],
  ["ConvNeXt K=7, 16 channels 14x14 (threaded)", [2, 16, 14, 14, 7]],
  ["K=9, tall", [1, 3, 20, 8, 9]],
  ["two 16-channel chunks and a tail", [3, 37, 4, 5, 7]],
  ["tiny ConvNeXt stage 4: 2x2 planes, 256 channels", [2, 256, 2, 2, 7]],
];

for (const reference of [false, true])
  describe(`dwconv2d, ${reference ? "reference mode" : "fast path"}`, () => {
    for (const [label, [B, C, H, W, K]] of cases)
      test(`${label} [${B}, ${C}, ${H}, ${W}, K=${K}]`, () => {
        const rng = freshRng();
        const n = B * C * H * W;
        // one-element images: positive inputs, so w*x + b cannot cancel (see conv2d.test.ts)
        const low = n <= 2 ? 0.25 : -1;
        const X = uniform(rng, n, low), Wt = uniform(rng, C * K * K, low), Bv = uniform(rng, C, low), G = uniform(rng, n, low);
        const DW0 = uniform(rng, C * K * K, low), DB0 = uniform(rng, C, low);
        ctx.setReference(reference);
        try {
          const x = ctx.upload(X, [B, C, H, W]), w = ctx.upload(Wt, [C, 1, K, K], "param"), bias = ctx.upload(Bv, [C], "param");
          const out = poisoned(ctx, [B, C, H, W]);
          ctx.call("dusa_dwconv2d_forward", out, x, w, bias, B, C, H, W, K);
          expectClose("forward", out.read(), dwconv2dRef(X, Wt, Bv, B, C, H, W, K), 1e-5, rng.seed);
          out.fill(Number.NaN);
          ctx.call("dusa_dwconv2d_forward", out, x, w, null, B, C, H, W, K);
          expectClose("forward, no bias", out.read(), dwconv2dRef(X, Wt, null, B, C, H, W, K), 1e-5, rng.seed);

          const ref = dwconv2dBackwardRef(G, X, Wt, B, C, H, W, K);
          const g = ctx.upload(G, [B, C, H, W]), din = poisoned(ctx, [B, C, H, W]);
          const dw = ctx.upload(DW0, [C, 1, K, K], "grad"), db = ctx.upload(DB0, [C], "grad");
          ctx.call("dusa_dwconv2d_backward", din, dw, db, g, x, w, B, C, H, W, K);
          expectClose("din", din.read(), ref.din, 1e-5, rng.seed);
          expectClose("dweight +=", dw.read(), ref.dw.map((v, i) => v + DW0[i]), 1e-5, rng.seed);
          expectClose("dbias +=", db.read(), ref.db.map((v, i) => v + DB0[i]), 1e-5, rng.seed);

          // NULL skips: din alone needs no input and leaves the parameter grads alone
          const dwBefore = dw.read(), dbBefore = db.read();
          din.fill(Number.NaN);
          ctx.call("dusa_dwconv2d_backward", din, null, null, g, null, w, B, C, H, W, K);
          expectClose("din alone", din.read(), ref.din, 1e-5, rng.seed);
          expect(dw.read()).toEqual(dwBefore);
          expect(db.read()).toEqual(dbBefore);
          // dweight alone needs no weight; dbias alone needs neither
          const dinBefore = din.read();
          ctx.call("dusa_dwconv2d_backward", null, dw, null, g, x, null, B, C, H, W, K);
          expectClose("dweight += twice", dw.read(), ref.dw.map((v, i) => 2 * v + DW0[i]), 1e-5, rng.seed);
          expect(db.read()).toEqual(dbBefore);
          ctx.call("dusa_dwconv2d_backward", null, null, db, g, null, null, B, C, H, W, K);
          expectClose("dbias += twice", db.read(), ref.db.map((v, i) => 2 * v + DB0[i]), 1e-5, rng.seed);
          expect(din.read()).toEqual(dinBefore);
          for (const t of [x, w, bias, out, g, din, dw, db]) t.free();
        } finally {
          ctx.setReference(false);
        }
      });
  });

test("dwconv2d: the fast path at ConvNeXt width (C=96, 28x28, K=7) matches reference mode", () => {
  const rng = freshRng();
  const [B, C, H, W, K] = [2, 96, 28, 28, 7];
  const n = B * C * H * W;
  const x = ctx.upload(uniform(rng, n), [B, C, H, W]), w = ctx.upload(uniform(rng, C * K * K), [C, 1, K, K]);
  const bias = ctx.upload(uniform(rng, C), [C]), g = ctx.upload(uniform(rng, n), [B, C, H, W]);
  const results = [false, true].map((reference) => {
    ctx.setReference(reference);
    const out = poisoned(ctx, [B, C, H, W]), din = poisoned(ctx, [B, C, H, W]);
    const dw = ctx.zeros([C, 1, K, K]), db = ctx.zeros([C]);
    ctx.call("dusa_dwconv2d_forward", out, x, w, bias, B, C, H, W, K);
    ctx.call("dusa_dwconv2d_backward", din, dw, db, g, x, w, B, C, H, W, K);
    const r = [out, din, dw, db].map((t) => t.read());
    for (const t of [out, din, dw, db]) t.free();
    return r;
  });
  ctx.setReference(false);
  ["out", "din", "dweight", "dbias"].forEach((label, i) => expectClose(label, results[0][i], results[1][i], 1e-5, rng.seed));
  for (const t of [x, w, bias, g]) t.free();
});

test("dwconv2d reference backward agrees with finite differences", () => {
  const rng = freshRng();
  for (const [B, C, H, W, K] of [[2, 2, 3, 4, 3], [1, 1, 2, 3, 5]]) {
    const inputs = [toF64(uniform(rng, B * C * H * W)), toF64(uniform(rng, C * K * K)), toF64(uniform(rng, C))];
    const G = uniform(rng, B * C * H * W);
    const f = (xs: Float64Array[]) => dwconv2dRef(xs[0], xs[1], xs[2], B, C, H, W, K);
    const ref = dwconv2dBackwardRef(G, inputs[0], inputs[1], B, C, H, W, K);
    expectClose("din", finiteDiff(f, inputs, G, 0), ref.din, 1e-7, rng.seed);
    expectClose("dweight", finiteDiff(f, inputs, G, 1), ref.dw, 1e-7, rng.seed);
    expectClose("dbias", finiteDiff(f, inputs, G, 2), ref.db, 1e-7, rng.seed);
  }
});

test("dwconv2d bad input names the op", () => {
  const t = ctx.alloc([64]);
  expect(() => ctx.call("dusa_dwconv2d_forward", t, t, t, null, 1, 1, 4, 4, 4)).toThrow(/dusa_dwconv2d_forward.*K must be odd/);
  expect(() => ctx.call("dusa_dwconv2d_forward", t, t, t, null, 1, 1, 4, 4, 0)).toThrow(/dusa_dwconv2d_forward.*K must be > 0/);
  expect(() => ctx.call("dusa_dwconv2d_forward", t, t, null, null, 1, 1, 4, 4, 3)).toThrow(/dusa_dwconv2d_forward.*weight is null/);
  expect(() => ctx.call("dusa_dwconv2d_backward", t, null, null, t, t, t, 1, 0, 4, 4, 3)).toThrow(/dusa_dwconv2d_backward.*C must be > 0/);
  expect(() => ctx.call("dusa_dwconv2d_backward", t, null, null, t, t, null, 1, 1, 4, 4, 3))
    .toThrow(/dusa_dwconv2d_backward.*weight is null but din is requested/);
  t.free();
});
