// add, axpy, scale, channel scale (fwd/bwd), all_finite.
import { expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, uniform } from "../util/random.ts";

const ctx = cpuContext();

test("add, axpy, scale over tiny and large sizes", () => {
  const rng = freshRng();
  for (const n of [1, 5, 70_001]) {
    const A = uniform(rng, n), B = uniform(rng, n), alpha = rng.next() * 2 - 1;
    const a = ctx.upload(A, [n]), b = ctx.upload(B, [n]), out = poisoned(ctx, [n]);
    ctx.call("dusa_add", out, a, b, n);
    expectClose("add", out.read(), toF64(A).map((v, i) => v + B[i]), 1e-7, rng.seed);
    ctx.call("dusa_axpy", out, a, alpha, n);
    expectClose("axpy", out.read(), toF64(A).map((v, i) => v + B[i] + alpha * v), 1e-6, rng.seed);
    ctx.call("dusa_scale_copy", out, a, -alpha, n);
    expectClose("scale_copy", out.read(), toF64(A).map((v) => -v * alpha), 1e-7, rng.seed);
    ctx.call("dusa_scale", a, alpha, n);
    expectClose("scale", a.read(), toF64(A).map((v) => v * alpha), 1e-7, rng.seed);
    ctx.call("dusa_scale_copy", a, a, 2, n); // in place
    expectClose("scale_copy in place", a.read(), toF64(A).map((v) => 2 * v * alpha), 1e-6, rng.seed);
    for (const t of [a, b, out]) t.free();
  }
});

const channelScaleRef = (x: ArrayLike<number>, s: ArrayLike<number>, rows: number, C: number) =>
  Float64Array.from({ length: rows * C }, (_, i) => x[i] * s[i % C]);

test("channel scale forward/backward, dscale accumulates", () => {
  const rng = freshRng();
  for (const [rows, C] of [[1, 1], [7, 3], [40, 70]]) {
    const X = uniform(rng, rows * C), S = uniform(rng, C), G = uniform(rng, rows * C), DS0 = uniform(rng, C);
    const x = ctx.upload(X, [rows, C]), s = ctx.upload(S, [C]), out = poisoned(ctx, [rows, C]);
    ctx.call("dusa_channel_scale_forward", out, x, s, rows, C);
    expectClose("out", out.read(), channelScaleRef(X, S, rows, C), 1e-7, rng.seed);
    const g = ctx.upload(G, [rows, C]), din = poisoned(ctx, [rows, C]), ds = ctx.upload(DS0, [C]);
    ctx.call("dusa_channel_scale_backward", din, ds, g, x, s, rows, C);
    const inputs = [toF64(X), toF64(S)];
    const f = (xs: Float64Array[]) => channelScaleRef(xs[0], xs[1], rows, C);
    expectClose("din", din.read(), finiteDiff(f, inputs, G, 0), 1e-6, rng.seed);
    expectClose("dscale", ds.read(), finiteDiff(f, inputs, G, 1).map((v, i) => v + DS0[i]), 1e-6, rng.seed);
    for (const t of [x, s, out, g, din, ds]) t.free();
  }
});

test("all_finite sees NaN and Inf anywhere", () => {
  const n = 100_000;
  const x = ctx.zeros([n]);
  const flag = new Int32Array(1);
  ctx.call("dusa_all_finite", flag, x, n);
  expect(flag[0]).toBe(1);
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const host = new Float32Array(n);
    host[n - 3] = bad;
    x.write(host);
    ctx.call("dusa_all_finite", flag, x, n);
    expect(flag[0]).toBe(0);
  }
  x.free();
});
