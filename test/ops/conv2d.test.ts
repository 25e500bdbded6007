// conv2d forward and backward vs the float64 reference on odd, tiny and model-shaped convs (SD-VAE stride-2
// asymmetric pad, ConvNeXt stem and downsample, 1x1), on the blocked and auto GEMM paths and in reference mode;
// parameter grads accumulate, NULL grads skip; the reference vs finite differences; bad input.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, uniform } from "../util/random.ts";
import { conv2dBackwardRef, conv2dRef, convArgs, convOut, type ConvShape } from "../ref/conv.ts";
import type { GemmPath } from "../../src/native/index.ts";

const ctx = cpuContext();

// [B, IC, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr]
const cases: [string, number[]][] = [
  ["1x1 image, 1 channel, 1x1 kernel", [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]],
  ["1x1 image, 3x3 pad 1", [1, 1, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1]],
  ["3x3 same, batch 2, odd sizes", [2, 3, 5, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1]],
  ["SD-VAE downsample: 3x3 stride 2 pad (0,1,0,1)", [2, 4, 9, 8, 5, 3, 3, 2, 2, 0, 1, 0, 1]],
  ["K bigger than the image, padded", [1, 2, 2, 3, 3, 5, 5, 1, 1, 2, 2, 2, 2]],
  ["ConvNeXt stem 4x4/4", [2, 3, 16, 16, 8, 4, 4, 4, 4, 0, 0, 0, 0]],
  ["ConvNeXt downsample 2x2/2", [1, 8, 8, 6, 16, 2, 2, 2, 2, 0, 0, 0, 0]],
  ["1x1 stride 1 (direct GEMM)", [2, 16, 6, 5, 12, 1, 1, 1, 1, 0, 0, 0, 0]],
  ["1x1 stride 2 (im2col)", [1, 3, 7, 6, 2, 1, 1, 2, 2, 0, 0, 0, 0]],
  ["1x1 padded (im2col)", [1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, 1]],
  ["3x2 kernel, strides (2,1), pads (1,0,2,1)", [1, 5, 11, 10, 3, 3, 2, 2, 1, 1, 0, 2, 1]],
  ["stride larger than kernel", [1, 2, 9, 9, 3, 2, 2, 3, 3, 1, 1, 0, 0]],
  ["32 -> 48 channels 3x3, threaded GEMM", [2, 32, 20, 20, 48, 3, 3, 1, 1, 1, 1, 1, 1]],
];

const shapeOf = (a: number[]): ConvShape => {
  const [B, IC, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr] = a;
  return { B, IC, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr };
};

type Mode = { label: string; reference: boolean; path: GemmPath };
const modes: Mode[] = [
  { label: "blocked GEMM", reference: false, path: "blocked" },
  { label: "auto GEMM", reference: false, path: "auto" },
  { label: "reference mode", reference: true, path: "auto" },
];

function runCase(s: ConvShape, mode: Mode) {
  const tol = 1e-5;
  const rng = freshRng();
  const { OH, OW } = convOut(s);
  const nIn = s.B * s.IC * s.H * s.W, nW = s.OC * s.IC * s.KH * s.KW, nOut = s.B * s.OC * OH * OW;
  // A tensor of one or two elements, each a sum of a few float products, can cancel to any relative error;
  // positive inputs keep those tiny cases well-conditioned (the norm-wise error of larger tensors averages).
  const low = Math.min(nIn, nOut) <= 2 ? 0.25 : -1;
  const X = uniform(rng, nIn, low), Wt = uniform(rng, nW, low), Bv = uniform(rng, s.OC, low), G = uniform(rng, nOut, low);
  const DW0 = uniform(rng, nW, low), DB0 = uniform(rng, s.OC, low);
  const args = convArgs(s);
  ctx.setReference(mode.reference);
  ctx.setGemmPath(mode.path);
  try {
    const x = ctx.upload(X, [s.B, s.IC, s.H, s.W]), w = ctx.upload(Wt, [s.OC, s.IC, s.KH, s.KW], "param");
    const bias = ctx.upload(Bv, [s.OC], "param"), out = poisoned(ctx, [s.B, s.OC, OH, OW]);
    ctx.call("dusa_conv2d_forward", out, x, w, bias, ...args);
    expectClose("forward", out.read(), conv2dRef(X, Wt, Bv, s), tol, rng.seed);
    out.fill(Number.NaN);
    ctx.call("dusa_conv2d_forward", out, x, w, null, ...args);
    expectClose("forward, no bias", out.read(), conv2dRef(X, Wt, null, s), tol, rng.seed);

    const ref = conv2dBackwardRef(G, X, Wt, s);
    const g = ctx.upload(G, [s.B, s.OC, OH, OW]), din = poisoned(ctx, [s.B, s.IC, s.H, s.W]);
    const dw = ctx.upload(DW0, [s.OC, s.IC, s.KH, s.KW], "grad"), db = ctx.upload(DB0, [s.OC], "grad");
    ctx.call("dusa_conv2d_backward", din, dw, db, g, x, w, ...args);
    expectClose("din", din.read(), ref.din, tol, rng.seed);
    expectClose("dweight +=", dw.read(), ref.dw.map((v, i) => v + DW0[i]), tol, rng.seed);
    expectClose("dbias +=", db.read(), ref.db.map((v, i) => v + DB0[i]), tol, rng.seed);

    // dweight alone (din and dbias NULL): accumulates once more, the others untouched
    const dinBefore = din.read(), dbBefore = db.read();
    ctx.call("dusa_conv2d_backward", null, dw, null, g, x, null, ...args);
    expectClose("dweight += twice", dw.read(), ref.dw.map((v, i) => 2 * v + DW0[i]), tol, rng.seed);
    expect(din.read()).toEqual(dinBefore);
    expect(db.read()).toEqual(dbBefore);
    // din alone: the input is not needed (no weight-grad GEMM), parameter grads untouched
    const dwBefore = dw.read();
    din.fill(Number.NaN);
    ctx.call("dusa_conv2d_backward", din, null, null, g, null, w, ...args);
    expectClose("din alone", din.read(), ref.din, tol, rng.seed);
    expect(dw.read()).toEqual(dwBefore);
    // dbias alone
    ctx.call("dusa_conv2d_backward", null, null, db, g, null, null, ...args);
    expectClose("dbias += twice", db.read(), ref.db.map((v, i) => 2 * v + DB0[i]), tol, rng.seed);
    for (const t of [x, w, bias, out, g, din, dw, db]) t.free();
  } finally {
    ctx.setReference(false);
    ctx.setGemmPath("auto");
  }
}

for (const mode of modes)
  describe(`conv2d, ${mode.label}`, () => {
    for (const [label, a] of cases) test(`${label} ${JSON.stringify(a)}`, () => runCase(shapeOf(a), mode));
  });

test("conv2d: a wide image is done in bands of output rows; the workspace stays bounded", () => {
  // K = 16*3*3 = 144, OW = 30000: a row of columns is 4.3M floats, so the 16M-float band holds 3 of the 4 output
  // rows: two band GEMMs of unequal size, the first and last reading the zero padding.
  const s = shapeOf([1, 16, 4, 30000, 2, 3, 3, 1, 1, 1, 1, 1, 1]);
  runCase(s, modes[1]);
  const floats = ctx.memory().workspace.current / 4;
  expect(floats).toBeLessThanOrEqual(16 * 2 ** 20);
  expect(floats).toBeGreaterThan(0);
});

test("conv2d reference backward agrees with finite differences", () => {
  const rng = freshRng();
  for (const a of [[2, 2, 4, 5, 3, 3, 3, 2, 2, 0, 1, 0, 1], [1, 3, 3, 3, 2, 3, 2, 1, 1, 1, 1, 2, 0]]) {
    const s = shapeOf(a);
    const { OH, OW } = convOut(s);
    const inputs = [toF64(uniform(rng, s.B * s.IC * s.H * s.W)), toF64(uniform(rng, s.OC * s.IC * s.KH * s.KW)), toF64(uniform(rng, s.OC))];
    const G = uniform(rng, s.B * s.OC * OH * OW);
    const f = (xs: Float64Array[]) => conv2dRef(xs[0], xs[1], xs[2], s);
    const ref = conv2dBackwardRef(G, inputs[0], inputs[1], s);
    expectClose("din", finiteDiff(f, inputs, G, 0), ref.din, 1e-7, rng.seed);
    expectClose("dweight", finiteDiff(f, inputs, G, 1), ref.dw, 1e-7, rng.seed);
    expectClose("dbias", finiteDiff(f, inputs, G, 2), ref.db, 1e-7, rng.seed);
  }
});

test("conv2d bad input names the op", () => {
  const t = ctx.alloc([64]);
  // 5x5 kernel on a 2x2 image padded by 1: the padded image (3 + 1) is smaller than the kernel
  expect(() => ctx.call("dusa_conv2d_forward", t, t, t, null, 1, 1, 2, 2, 1, 5, 5, 1, 1, 1, 0, 1, 0))
    .toThrow(/dusa_conv2d_forward.*H \+ pads \(3\) smaller than KH \(5\)/);
  expect(() => ctx.call("dusa_conv2d_forward", t, t, t, null, 1, 1, 4, 4, 1, 3, 3, 0, 1, 1, 1, 1, 1))
    .toThrow(/dusa_conv2d_forward.*strides must be >= 1/);
  expect(() => ctx.call("dusa_conv2d_forward", t, t, t, null, 1, 1, 4, 4, 1, 3, 3, 1, 1, -1, 1, 1, 1))
    .toThrow(/dusa_conv2d_forward.*pads must be >= 0/);
  expect(() => ctx.call("dusa_conv2d_forward", t, null, t, null, 1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1))
    .toThrow(/dusa_conv2d_forward.*in is null/);
  expect(() => ctx.call("dusa_conv2d_backward", t, null, null, t, t, t, 1, 0, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1))
    .toThrow(/dusa_conv2d_backward.*sizes must be > 0/);
  expect(() => ctx.call("dusa_conv2d_backward", t, null, null, t, t, null, 1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1))
    .toThrow(/dusa_conv2d_backward.*weight is null but din is requested/);
  expect(() => ctx.call("dusa_conv2d_backward", null, t, null, t, null, t, 1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1))
    .toThrow(/dusa_conv2d_backward.*in is null but dweight is requested/);
  t.free();
});
