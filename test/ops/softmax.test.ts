// softmax (with temperature), L2 normalisation, cross-entropy, entropy and argmax vs float64 references,
// the reference backwards vs finite differences, stability on huge logits, bad input.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, integers, normal, uniform } from "../util/random.ts";
import {
  argmaxRef, crossEntropyBackwardRef, crossEntropyRef, entropyBackwardRef, entropyRef, l2normBackwardRef, l2normRef,
  softmaxBackwardRef, softmaxRef,
} from "../ref/softmax.ts";

const ctx = cpuContext();
const shapes: [number, number][] = [[1, 1], [1, 7], [5, 3], [33, 64], [64, 1000], [3, 4099]];

// logits spread wide, plus one row shifted by a huge constant (max subtraction must hold it)
function logits(rng: ReturnType<typeof freshRng>, N: number, C: number): Float32Array {
  const x = normal(rng, N * C, 3);
  if (N > 1) for (let c = 0; c < C; c++) x[C + c] += 5e4;
  return x;
}

describe("softmax", () => {
  for (const reference of [false, true])
    for (const [N, C] of shapes)
      test(`N=${N} C=${C}${reference ? " (reference mode)" : ""}`, () => {
        ctx.setReference(reference);
        const rng = freshRng();
        for (const temperature of [1, 0.5, 2.7]) {
          // the huge-shift row only where it stays meaningful after / temperature in float
          const X = normal(rng, N * C, 3), G = uniform(rng, N * C);
          if (N > 1) for (let c = 0; c < C; c++) X[C + c] += 1000;
          const x = ctx.upload(X, [N, C]), out = poisoned(ctx, [N, C]);
          ctx.call("dusa_softmax_forward", out, x, N, C, temperature);
          const Y = out.readFloat();
          expectClose(`softmax T=${temperature}`, Y, softmaxRef(X, N, C, temperature), 1e-5, rng.seed);
          const g = ctx.upload(G, [N, C]), din = poisoned(ctx, [N, C]);
          ctx.call("dusa_softmax_backward", din, g, out, N, C, temperature);
          expectClose(`softmax backward T=${temperature}`, din.read(), softmaxBackwardRef(G, Y, N, C, temperature), 1e-5, rng.seed);
          for (const t of [x, out, g, din]) t.free();
        }
        ctx.setReference(false);
      });

  test("reference backward agrees with finite differences", () => {
    const rng = freshRng();
    const [N, C, temperature] = [3, 5, 1.7];
    const inputs = [toF64(normal(rng, N * C, 2))];
    const G = uniform(rng, N * C);
    const f = (xs: Float64Array[]) => softmaxRef(xs[0], N, C, temperature);
    const ref = softmaxBackwardRef(G, softmaxRef(inputs[0], N, C, temperature), N, C, temperature);
    expectClose("din", finiteDiff(f, inputs, G, 0), ref, 1e-7, rng.seed);
  });
});

describe("l2norm", () => {
  for (const [N, C] of shapes)
    test(`N=${N} C=${C}`, () => {
      const rng = freshRng();
      const X = normal(rng, N * C, 2), G = uniform(rng, N * C);
      const eps = 1e-12;
      const x = ctx.upload(X, [N, C]), out = poisoned(ctx, [N, C]), norm = poisoned(ctx, [N]);
      ctx.call("dusa_l2norm_forward", out, norm, x, N, C, eps);
      const ref = l2normRef(X, N, C, eps);
      expectClose("l2norm out", out.read(), ref.out, 1e-5, rng.seed);
      expectClose("l2norm norm", norm.read(), ref.norm, 1e-6, rng.seed);
      const g = ctx.upload(G, [N, C]), din = poisoned(ctx, [N, C]);
      ctx.call("dusa_l2norm_backward", din, g, x, norm, N, C, eps);
      // C = 1: the exact gradient is 0; the kernel leaves rounding noise of order eps32 * |dout| / |x|
      if (C === 1) din.read().forEach((v, n) => expect(Math.abs(v)).toBeLessThanOrEqual((1e-6 * Math.abs(G[n])) / Math.abs(X[n])));
      else expectClose("l2norm din", din.read(), l2normBackwardRef(G, X, N, C, eps), 1e-5, rng.seed);
      for (const t of [x, out, norm, g, din]) t.free();
    });

  test("rows below eps are divided by eps (clamped), zero rows stay zero", () => {
    const rng = freshRng();
    const [N, C, eps] = [6, 5, 0.5];
    const X = uniform(rng, N * C);
    for (let c = 0; c < C; c++) { X[c] *= 0.01; X[C + c] = 0; X[2 * C + c] *= 5; }
    const G = uniform(rng, N * C);
    const x = ctx.upload(X, [N, C]), out = poisoned(ctx, [N, C]), norm = poisoned(ctx, [N]);
    ctx.call("dusa_l2norm_forward", out, norm, x, N, C, eps);
    expectClose("clamped out", out.read(), l2normRef(X, N, C, eps).out, 1e-6, rng.seed);
    const g = ctx.upload(G, [N, C]), din = poisoned(ctx, [N, C]);
    ctx.call("dusa_l2norm_backward", din, g, x, norm, N, C, eps);
    expectClose("clamped din", din.read(), l2normBackwardRef(G, X, N, C, eps), 1e-6, rng.seed);
    for (const t of [x, out, norm, g, din]) t.free();
  });

  test("reference backward agrees with finite differences (free and clamped rows)", () => {
    const rng = freshRng();
    const [N, C] = [4, 6];
    for (const eps of [1e-12, 1.2]) {
      const inputs = [toF64(normal(rng, N * C))];
      const G = uniform(rng, N * C);
      const f = (xs: Float64Array[]) => l2normRef(xs[0], N, C, eps).out;
      expectClose(`din eps=${eps}`, finiteDiff(f, inputs, G, 0), l2normBackwardRef(G, inputs[0], N, C, eps), 1e-7, rng.seed);
    }
  });
});

describe("cross-entropy and entropy", () => {
  for (const [N, C] of shapes)
    test(`N=${N} C=${C}`, () => {
      const rng = freshRng();
      const X = logits(rng, N, C), labels = integers(rng, N, C), dloss = 0.5 + rng.next();
      const x = ctx.upload(X, [N, C]), y = ctx.upload(labels, [N]), loss = poisoned(ctx, [1]), d = poisoned(ctx, [N, C]);
      ctx.call("dusa_cross_entropy_forward", loss, x, y, N, C);
      expectClose("cross-entropy", loss.read(), [crossEntropyRef(X, labels, N, C)], 1e-6, rng.seed);
      ctx.call("dusa_cross_entropy_backward", d, x, y, N, C, dloss);
      expectClose("cross-entropy backward", d.read(), crossEntropyBackwardRef(X, labels, N, C, dloss), 1e-5, rng.seed);
      ctx.call("dusa_entropy_forward", loss, x, N, C);
      // C = 1: the entropy is exactly 0 (absolute comparison)
      expectClose("entropy", loss.read(), [entropyRef(X, N, C)], 1e-6, rng.seed);
      d.fill(Number.NaN);
      ctx.call("dusa_entropy_backward", d, x, N, C, dloss);
      expectClose("entropy backward", d.read(), entropyBackwardRef(X, N, C, dloss), 1e-5, rng.seed);
      for (const t of [x, y, loss, d]) t.free();
    });

  test("losses do not depend on the thread count", () => {
    const rng = freshRng();
    const [N, C] = [512, 100];
    const x = ctx.upload(logits(rng, N, C), [N, C]), y = ctx.upload(integers(rng, N, C), [N]), loss = ctx.alloc([1]);
    const saved = ctx.threads, got: number[] = [];
    for (const threads of [1, 2, 3]) {
      ctx.threads = threads;
      ctx.call("dusa_cross_entropy_forward", loss, x, y, N, C);
      got.push(loss.read()[0]);
      ctx.call("dusa_entropy_forward", loss, x, N, C);
      got.push(loss.read()[0]);
    }
    ctx.threads = saved;
    expect(got.slice(2, 4)).toEqual(got.slice(0, 2));
    expect(got.slice(4, 6)).toEqual(got.slice(0, 2));
    for (const t of [x, y, loss]) t.free();
  });

  test("reference backwards agree with finite differences", () => {
    const rng = freshRng();
    const [N, C] = [3, 7];
    const inputs = [toF64(normal(rng, N * C, 2))];
    const labels = integers(rng, N, C);
    const ce = (xs: Float64Array[]) => [crossEntropyRef(xs[0], labels, N, C)];
    expectClose("cross-entropy", finiteDiff(ce, inputs, [1.3], 0), crossEntropyBackwardRef(inputs[0], labels, N, C, 1.3), 1e-7, rng.seed);
    const ent = (xs: Float64Array[]) => [entropyRef(xs[0], N, C)];
    expectClose("entropy", finiteDiff(ent, inputs, [0.7], 0), entropyBackwardRef(inputs[0], N, C, 0.7), 1e-7, rng.seed);
  });
});

describe("argmax", () => {
  test("first index of the maximum, ties to the lower index", () => {
    const rng = freshRng();
    for (const [N, C] of shapes) {
      const X = uniform(rng, N * C).map((v) => Math.round(v * 4) / 4); // many ties
      const x = ctx.upload(X, [N, C]), out = ctx.alloc([N], "act", "i32").fill(-7);
      ctx.call("dusa_argmax", out, x, N, C);
      expect(Array.from(out.read())).toEqual(Array.from(argmaxRef(X, N, C)));
      x.free();
      out.free();
    }
  });

  test("NaN counts as the maximum (torch.argmax)", () => {
    const x = ctx.upload(Float32Array.of(1, Number.NaN, 3, 5, 2, 4), [2, 3]), out = ctx.alloc([2], "act", "i32");
    ctx.call("dusa_argmax", out, x, 2, 3);
    expect(Array.from(out.read())).toEqual([1, 0]);
    x.free();
    out.free();
  });
});

test("softmax/losses: bad arguments are errors naming the op", () => {
  const x = ctx.zeros([3, 10]), y = ctx.upload(Int32Array.of(0, 4, 10), [3]), loss = ctx.alloc([1]);
  expect(() => ctx.call("dusa_cross_entropy_forward", loss, x, y, 3, 10)).toThrow(/dusa_cross_entropy_forward.*label 10 of row 2 is outside \[0, 10\)/);
  expect(() => ctx.call("dusa_cross_entropy_backward", x, x, y, 3, 10, 1)).toThrow(/dusa_cross_entropy_backward.*label 10 of row 2/);
  expect(() => ctx.call("dusa_softmax_forward", x, x, 3, 10, 0)).toThrow(/dusa_softmax_forward.*temperature must be finite and > 0/);
  expect(() => ctx.call("dusa_l2norm_forward", x, loss, x, 3, 10, -1)).toThrow(/dusa_l2norm_forward.*eps must be >= 0/);
  expect(() => ctx.call("dusa_entropy_forward", loss, x, 0, 10)).toThrow(/dusa_entropy_forward.*N must be > 0/);
  for (const t of [x, y, loss]) t.free();
});
