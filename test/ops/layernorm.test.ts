// LayerNorm, LayerNorm + adaLN modulate and LayerNorm2d: forward and backward vs float64 references,
// the references vs finite differences, accumulation of parameter grads, NULL skips, bad input.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform } from "../util/random.ts";
import {
  layernorm2dBackwardRef, layernorm2dRef, layernormBackwardRef, layernormModulateBackwardRef, layernormModulateRef, layernormRef,
} from "../ref/layernorm.ts";

const ctx = cpuContext();
const eps = 1e-6;

describe("layernorm", () => {
  for (const [N, C] of [[1, 1], [1, 7], [5, 3], [33, 64], [64, 257]])
    test(`N=${N} C=${C}, affine and not`, () => {
      const rng = freshRng();
      const X = normal(rng, N * C, 2), W = uniform(rng, C), Bv = uniform(rng, C), G = uniform(rng, N * C);
      const DW0 = uniform(rng, C), DB0 = uniform(rng, C);
      const x = ctx.upload(X, [N, C]), w = ctx.upload(W, [C], "param"), b = ctx.upload(Bv, [C], "param");
      const out = poisoned(ctx, [N, C]), mean = poisoned(ctx, [N]), rstd = poisoned(ctx, [N]);
      for (const affine of [true, false]) {
        ctx.call("dusa_layernorm_forward", out, mean, rstd, x, affine ? w : null, affine ? b : null, N, C, eps);
        const ref = layernormRef(X, affine ? W : null, affine ? Bv : null, N, C, eps);
        // C = 1 normalises to exactly 0: compare absolutely
        expectClose("out", out.read(), ref.out, C === 1 ? 1e-6 : 1e-5, rng.seed);
        expectClose("mean", mean.read(), ref.mean, 1e-6, rng.seed);
        expectClose("rstd", rstd.read(), ref.rstd, 1e-5, rng.seed);
        const g = ctx.upload(G, [N, C]), din = poisoned(ctx, [N, C]);
        const dw = ctx.upload(DW0, [C], "grad"), db = ctx.upload(DB0, [C], "grad");
        ctx.call("dusa_layernorm_backward", din, affine ? dw : null, affine ? db : null, g, x, affine ? w : null, mean, rstd, N, C);
        const bref = layernormBackwardRef(G, X, affine ? W : null, N, C, eps);
        // C = 1: the exact din is 0, and the float rounding of dout*w is amplified by rstd = 1/sqrt(eps) = 1000;
        expectClose("din", din.read(), bref.din, C === 1 ? 1e-4 : 1e-5, rng.seed);
        if (affine) {
          expectClose("dw += ", dw.read(), bref.dw.map((v, i) => v + DW0[i]), 1e-5, rng.seed);
          expectClose("db += ", db.read(), bref.db.map((v, i) => v + DB0[i]), 1e-5, rng.seed);
        } else {
          expect(Array.from(dw.read())).toEqual(Array.from(DW0));
        }
        for (const t of [g, din, dw, db]) t.free();
      }
      for (const t of [x, w, b, out, mean, rstd]) t.free();
    });

  test("reference backward agrees with finite differences", () => {
    const rng = freshRng();
    const [N, C] = [3, 6];
    const inputs = [toF64(normal(rng, N * C)), toF64(uniform(rng, C)), toF64(uniform(rng, C))];
    const G = uniform(rng, N * C);
    const f = (xs: Float64Array[]) => layernormRef(xs[0], xs[1], xs[2], N, C, eps).out;
    const ref = layernormBackwardRef(G, inputs[0], inputs[1], N, C, eps);
    expectClose("din", finiteDiff(f, inputs, G, 0), ref.din, 1e-6, rng.seed);
    expectClose("dw", finiteDiff(f, inputs, G, 1), ref.dw, 1e-6, rng.seed);
    expectClose("db", finiteDiff(f, inputs, G, 2), ref.db, 1e-6, rng.seed);
  });
});

describe("layernorm + adaLN modulate", () => {
  for (const [B, T, C, chunks] of [[1, 1, 4, 2], [2, 5, 7, 6], [3, 16, 64, 6], [2, 9, 130, 2]])
    test(`B=${B} T=${T} C=${C} inside a (B, ${chunks}C) modulation buffer`, () => {
      const rng = freshRng();
      const stride = chunks * C;
      const X = normal(rng, B * T * C, 1.5), MOD = uniform(rng, B * stride), G = uniform(rng, B * T * C);
      const SHIFT = new Float32Array(B * C), SCALE = new Float32Array(B * C);
      for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) { SHIFT[b * C + c] = MOD[b * stride + c]; SCALE[b * C + c] = MOD[b * stride + C + c]; }
      const x = ctx.upload(X, [B, T, C]), mod = ctx.upload(MOD, [B, stride]);
      const shiftPtr = mod.ptr, scalePtr = mod.ptr + C * 4;
      const out = poisoned(ctx, [B, T, C]), mean = poisoned(ctx, [B * T]), rstd = poisoned(ctx, [B * T]);
      ctx.call("dusa_layernorm_modulate_forward", out, mean, rstd, x, shiftPtr, scalePtr, B, T, C, stride, eps);
      expectClose("out", out.read(), layernormModulateRef(X, SHIFT, SCALE, B, T, C, C, eps), 1e-5, rng.seed);

      const g = ctx.upload(G, [B, T, C]), din = poisoned(ctx, [B, T, C]), dmod = ctx.alloc([B, stride]).fill(123);
      ctx.call("dusa_layernorm_modulate_backward", din, dmod.ptr, dmod.ptr + C * 4, g, x, scalePtr, mean, rstd, B, T, C, stride);
      const ref = layernormModulateBackwardRef(G, X, SCALE, B, T, C, C, eps);
      expectClose("din", din.read(), ref.din, 1e-5, rng.seed);
      const D = dmod.read();
      const dshift = new Float32Array(B * C), dscale = new Float32Array(B * C);
      for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) { dshift[b * C + c] = D[b * stride + c]; dscale[b * C + c] = D[b * stride + C + c]; }
      expectClose("dshift", dshift, ref.dshift, 1e-5, rng.seed);
      expectClose("dscale", dscale, ref.dscale, 1e-5, rng.seed);
      // the rest of the modulation-grad buffer is untouched
      for (let b = 0; b < B; b++) for (let j = 2 * C; j < stride; j++) expect(D[b * stride + j]).toBe(123);
      for (const t of [x, mod, out, mean, rstd, g, din, dmod]) t.free();
    });

  test("reference backward agrees with finite differences", () => {
    const rng = freshRng();
    const [B, T, C] = [2, 3, 5];
    const inputs = [toF64(normal(rng, B * T * C)), toF64(uniform(rng, B * C)), toF64(uniform(rng, B * C))];
    const G = uniform(rng, B * T * C);
    const f = (xs: Float64Array[]) => layernormModulateRef(xs[0], xs[1], xs[2], B, T, C, C, eps);
    const ref = layernormModulateBackwardRef(G, inputs[0], inputs[2], B, T, C, C, eps);
    expectClose("din", finiteDiff(f, inputs, G, 0), ref.din, 1e-6, rng.seed);
    expectClose("dshift", finiteDiff(f, inputs, G, 1), ref.dshift, 1e-6, rng.seed);
    expectClose("dscale", finiteDiff(f, inputs, G, 2), ref.dscale, 1e-6, rng.seed);
  });
});

describe("layernorm2d (channels of NCHW)", () => {
  for (const [B, C, HW] of [[1, 1, 1], [2, 3, 5], [2, 32, 64], [1, 64, 300]])
    test(`B=${B} C=${C} HW=${HW}`, () => {
      const rng = freshRng();
      const X = normal(rng, B * C * HW, 2), W = uniform(rng, C), Bv = uniform(rng, C), G = uniform(rng, B * C * HW);
      const DW0 = uniform(rng, C), DB0 = uniform(rng, C);
      const x = ctx.upload(X, [B, C, HW]), w = ctx.upload(W, [C]), b = ctx.upload(Bv, [C]);
      const out = poisoned(ctx, [B, C, HW]), mean = poisoned(ctx, [B, HW]), rstd = poisoned(ctx, [B, HW]);
      ctx.call("dusa_layernorm2d_forward", out, mean, rstd, x, w, b, B, C, HW, eps);
      expectClose("out", out.read(), layernorm2dRef(X, W, Bv, B, C, HW, eps), C === 1 ? 1e-6 : 1e-5, rng.seed);
      const g = ctx.upload(G, [B, C, HW]), din = poisoned(ctx, [B, C, HW]);
      const dw = ctx.upload(DW0, [C]), db = ctx.upload(DB0, [C]);
      ctx.call("dusa_layernorm2d_backward", din, dw, db, g, x, w, mean, rstd, B, C, HW);
      const ref = layernorm2dBackwardRef(G, X, W, B, C, HW, eps);
      expectClose("din", din.read(), ref.din, C === 1 ? 1e-4 : 1e-5, rng.seed); // see the layernorm test for the bound
      expectClose("dw += ", dw.read(), ref.dw.map((v, i) => v + DW0[i]), 1e-5, rng.seed);
      expectClose("db += ", db.read(), ref.db.map((v, i) => v + DB0[i]), 1e-5, rng.seed);
      for (const t of [x, w, b, out, mean, rstd, g, din, dw, db]) t.free();
    });

  test("reference backward agrees with finite differences", () => {
    const rng = freshRng();
    const [B, C, HW] = [2, 4, 3];
    const inputs = [toF64(normal(rng, B * C * HW)), toF64(uniform(rng, C)), toF64(uniform(rng, C))];
    const G = uniform(rng, B * C * HW);
    const f = (xs: Float64Array[]) => layernorm2dRef(xs[0], xs[1], xs[2], B, C, HW, eps);
    const ref = layernorm2dBackwardRef(G, inputs[0], inputs[1], B, C, HW, eps);
    expectClose("din", finiteDiff(f, inputs, G, 0), ref.din, 1e-6, rng.seed);
    expectClose("dw", finiteDiff(f, inputs, G, 1), ref.dw, 1e-6, rng.seed);
    expectClose("db", finiteDiff(f, inputs, G, 2), ref.db, 1e-6, rng.seed);
  });
});

test("bad input names the op", () => {
  const x = ctx.alloc([4, 4]);
  expect(() => ctx.call("dusa_layernorm_forward", x, null, x, x, null, null, 4, 4, eps)).toThrow(/dusa_layernorm_forward.*mean is null/);
  expect(() => ctx.call("dusa_layernorm_modulate_forward", x, x, x, x, x, x, 1, 4, 4, 2, eps)).toThrow(/mod_stride \(2\) must be >= C/);
  expect(() => ctx.call("dusa_layernorm2d_forward", x, x, x, x, null, null, 1, 4, -1, eps)).toThrow(/HW must be > 0/);
  x.free();
});
