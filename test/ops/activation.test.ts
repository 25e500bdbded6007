// GELU (erf, tanh), SiLU and the gated residual vs float64 references and finite differences. The derivatives are
// held to their relative bound over the summed |terms| (they have roots where any float32 result cancels).
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, norm2, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform } from "../util/random.ts";
import { erf, gatedResidualBackwardRef, gatedResidualRef, geluGradFloorRef, geluGradRef, geluRef, siluGradFloorRef, siluGradRef, siluRef } from "../ref/activation.ts";

const ctx = cpuContext();

test("float64 erf reference is right (known values)", () => {
  expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
  expect(erf(-1.5)).toBeCloseTo(-0.9661051464753108, 15);
  expect(erf(3)).toBeCloseTo(0.9999779095030014, 15);
});

for (const n of [1, 7, 1000, 100_003]) {
  describe(`n=${n}`, () => {
    for (const approximate of [0, 1])
      test(`gelu ${approximate ? "tanh" : "erf"}`, () => {
        const rng = freshRng();
        const X = normal(rng, n, 3), G = uniform(rng, n);
        const x = ctx.upload(X, [n]), g = ctx.upload(G, [n]), out = poisoned(ctx, [n]), din = poisoned(ctx, [n]);
        ctx.call("dusa_gelu_forward", out, x, n, approximate);
        expectClose("out", out.read(), geluRef(X, !!approximate), 1e-5, rng.seed);
        ctx.call("dusa_gelu_backward", din, g, x, n, approximate);
        expectClose("din", din.read(), geluGradRef(G, X, !!approximate), 1e-5, rng.seed, norm2(geluGradFloorRef(G, X, !!approximate)));
        for (const t of [x, g, out, din]) t.free();
      });
    test("silu", () => {
      const rng = freshRng();
      const X = normal(rng, n, 3), G = uniform(rng, n);
      const x = ctx.upload(X, [n]), g = ctx.upload(G, [n]), out = poisoned(ctx, [n]), din = poisoned(ctx, [n]);
      ctx.call("dusa_silu_forward", out, x, n);
      expectClose("out", out.read(), siluRef(X), 1e-6, rng.seed);
      ctx.call("dusa_silu_backward", din, g, x, n);
      expectClose("din", din.read(), siluGradRef(G, X), 1e-6, rng.seed, norm2(siluGradFloorRef(G, X)));
      for (const t of [x, g, out, din]) t.free();
    });
  });
}

test("activation reference gradients agree with finite differences", () => {
  const rng = freshRng();
  const X = toF64(normal(rng, 50, 3)), G = uniform(rng, 50);
  for (const approximate of [false, true])
    expectClose(`gelu ${approximate}`, finiteDiff((xs) => geluRef(xs[0], approximate), [X], G, 0), geluGradRef(G, X, approximate), 1e-7, rng.seed);
  expectClose("silu", finiteDiff((xs) => siluRef(xs[0]), [X], G, 0), siluGradRef(G, X), 1e-7, rng.seed);
});

describe("gated residual", () => {
  for (const [B, T, C, chunks] of [[1, 1, 1, 1], [2, 5, 3, 6], [4, 16, 64, 6]])
    test(`B=${B} T=${T} C=${C}`, () => {
      const rng = freshRng();
      const stride = chunks * C, off = (chunks - 1) * C; // gate is the last chunk of the modulation row
      const X = uniform(rng, B * T * C), Y = uniform(rng, B * T * C), MOD = uniform(rng, B * stride), G = uniform(rng, B * T * C);
      const GATE = new Float32Array(B * C);
      for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) GATE[b * C + c] = MOD[b * stride + off + c];
      const x = ctx.upload(X, [B, T, C]), y = ctx.upload(Y, [B, T, C]), mod = ctx.upload(MOD, [B, stride]);
      const out = poisoned(ctx, [B, T, C]);
      ctx.call("dusa_gated_residual_forward", out, x, y, mod.ptr + off * 4, B, T, C, stride);
      expectClose("out", out.read(), gatedResidualRef(X, Y, GATE, B, T, C, C), 1e-6, rng.seed);
      const g = ctx.upload(G, [B, T, C]), dx = poisoned(ctx, [B, T, C]), dy = poisoned(ctx, [B, T, C]), dmod = poisoned(ctx, [B, stride]);
      ctx.call("dusa_gated_residual_backward", dx, dy, dmod.ptr + off * 4, g, y, mod.ptr + off * 4, B, T, C, stride);
      const ref = gatedResidualBackwardRef(G, Y, GATE, B, T, C, C);
      expectClose("dx", dx.read(), ref.dx, 0, rng.seed);
      expectClose("dy", dy.read(), ref.dy, 1e-6, rng.seed);
      const D = dmod.read(), dgate = new Float32Array(B * C);
      for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) dgate[b * C + c] = D[b * stride + off + c];
      expectClose("dgate", dgate, ref.dgate, 1e-5, rng.seed);
      // dx aliasing dout is allowed (residual stream grads pass through in place)
      ctx.call("dusa_gated_residual_backward", g, null, null, g, y, mod.ptr + off * 4, B, T, C, stride);
      expectClose("dx in place", g.read(), G, 0, rng.seed);
      for (const t of [x, y, mod, out, g, dx, dy, dmod]) t.free();
    });

  test("reference backward agrees with finite differences", () => {
    const rng = freshRng();
    const [B, T, C] = [2, 3, 4];
    const inputs = [toF64(uniform(rng, B * T * C)), toF64(uniform(rng, B * T * C)), toF64(uniform(rng, B * C))];
    const G = uniform(rng, B * T * C);
    const f = (xs: Float64Array[]) => gatedResidualRef(xs[0], xs[1], xs[2], B, T, C, C);
    const ref = gatedResidualBackwardRef(G, inputs[1], inputs[2], B, T, C, C);
    expectClose("dx", finiteDiff(f, inputs, G, 0), ref.dx, 1e-7, rng.seed);
    expectClose("dy", finiteDiff(f, inputs, G, 1), ref.dy, 1e-7, rng.seed);
    expectClose("dgate", finiteDiff(f, inputs, G, 2), ref.dgate, 1e-7, rng.seed);
  });
});

test("bad input names the op", () => {
  const x = ctx.alloc([4]);
  expect(() => ctx.call("dusa_gelu_forward", null, x, 4, 0)).toThrow(/dusa_gelu_forward.*out is null/);
  expect(() => ctx.call("dusa_gated_residual_forward", x, x, x, x, 1, 1, 4, 3)).toThrow(/gate_stride \(3\) must be >= C \(4\)/);
  x.free();
});
