// Layout ops (NCHW <-> NHWC, patchify / unpatchify, avgpool, upsample2x, bilinear resize, pad2d), forward and
// backward vs the float64 references in normal and reference mode, the references' backward vs finite
// differences, bad input. Pure copies must be exact (tolerance 0); sums get 1e-6; the resize 1e-5 (see there).
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, uniform, type Rng } from "../util/random.ts";
import * as L from "../ref/layout.ts";

const ctx = cpuContext();

/** Uploads x, runs op(out, x, ...args) into a NaN-poisoned output of outShape, returns the result. */
function run(name: Parameters<typeof ctx.call>[0], x: Float32Array, inShape: number[], outShape: number[], args: number[]): Float32Array {
  const a = ctx.upload(x, inShape), out = poisoned(ctx, outShape);
  (ctx.call as (n: string, ...rest: unknown[]) => void)(name, out, a, ...args);
  const got = out.read() as Float32Array;
  a.free();
  out.free();
  return got;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

for (const reference of [false, true])
  describe(reference ? "reference mode" : "normal mode", () => {
    const withMode = (fn: (rng: Rng) => void) => () => {
      const rng = freshRng();
      ctx.setReference(reference);
      try {
        fn(rng);
      } finally {
        ctx.setReference(false);
      }
    };

    test("nchw_to_nhwc and back", withMode((rng) => {
      for (const [B, C, H, W] of [[1, 1, 1, 1], [2, 3, 5, 7], [1, 33, 9, 40], [2, 64, 17, 17]]) {
        const X = uniform(rng, B * C * H * W);
        const nhwc = run("dusa_nchw_to_nhwc", X, [B, C, H, W], [B, H, W, C], [B, C, H, W]);
        expectClose(`nchw_to_nhwc ${[B, C, H, W]}`, nhwc, L.nchwToNhwcRef(X, B, C, H, W), 0, rng.seed);
        const back = run("dusa_nhwc_to_nchw", X, [B, H, W, C], [B, C, H, W], [B, C, H, W]);
        expectClose(`nhwc_to_nchw ${[B, C, H, W]}`, back, L.nhwcToNchwRef(X, B, C, H, W), 0, rng.seed);
      }
    }));

    test("patchify forward and backward", withMode((rng) => {
      for (const [B, C, H, W, P] of [[1, 1, 1, 1, 1], [2, 3, 4, 6, 2], [1, 4, 8, 8, 4], [2, 5, 6, 9, 3], [3, 16, 32, 32, 2]]) {
        const n = B * C * H * W, T = (H / P) * (W / P);
        const X = uniform(rng, n), G = uniform(rng, n);
        expectClose("patchify", run("dusa_patchify_forward", X, [B, C, H, W], [B, T, C * P * P], [B, C, H, W, P]), L.patchifyRef(X, B, C, H, W, P), 0, rng.seed);
        expectClose("patchify backward", run("dusa_patchify_backward", G, [B, T, C * P * P], [B, C, H, W], [B, C, H, W, P]),
          L.patchifyBackwardRef(G, B, C, H, W, P), 0, rng.seed);
      }
    }));

    test("unpatchify forward and backward", withMode((rng) => {
      for (const [B, C, H, W, P] of [[1, 1, 1, 1, 1], [2, 3, 4, 6, 2], [1, 4, 8, 8, 4], [2, 5, 6, 9, 3], [3, 16, 32, 32, 2]]) {
        const n = B * C * H * W, T = (H / P) * (W / P);
        const X = uniform(rng, n), G = uniform(rng, n);
        expectClose("unpatchify", run("dusa_unpatchify_forward", X, [B, T, P * P * C], [B, C, H, W], [B, C, H, W, P]), L.unpatchifyRef(X, B, C, H, W, P), 0, rng.seed);
        expectClose("unpatchify backward", run("dusa_unpatchify_backward", G, [B, C, H, W], [B, T, P * P * C], [B, C, H, W, P]),
          L.unpatchifyBackwardRef(G, B, C, H, W, P), 0, rng.seed);
      }
    }));

    test("patchify then unpatchify with P*P*C features is a permutation of the features only", withMode((rng) => {
      // C = 1: (c, ph, pw) and (ph, pw, c) orders coincide, so unpatchify inverts patchify exactly
      const [B, C, H, W, P] = [2, 1, 6, 4, 2];
      const X = uniform(rng, B * C * H * W);
      const tokens = run("dusa_patchify_forward", X, [B, C, H, W], [B, 6, 4], [B, C, H, W, P]);
      expect(Array.from(run("dusa_unpatchify_forward", tokens, [B, 6, 4], [B, C, H, W], [B, C, H, W, P]))).toEqual(Array.from(X));
    }));

    test("avgpool forward and backward", withMode((rng) => {
      for (const [B, C, HW] of [[1, 1, 1], [2, 3, 7], [4, 96, 49], [2, 64, 300]]) {
        const X = uniform(rng, B * C * HW), G = uniform(rng, B * C);
        expectClose("avgpool", run("dusa_avgpool_forward", X, [B, C, HW], [B, C], [B, C, HW]), L.avgpoolRef(X, B, C, HW), 1e-6, rng.seed);
        expectClose("avgpool backward", run("dusa_avgpool_backward", G, [B, C], [B, C, HW], [B, C, HW]), L.avgpoolBackwardRef(G, B, C, HW), 1e-6, rng.seed);
      }
    }));

    test("upsample2x forward and backward", withMode((rng) => {
      for (const [B, C, H, W] of [[1, 1, 1, 1], [2, 3, 5, 7], [2, 16, 32, 33]]) {
        const X = uniform(rng, B * C * H * W), G = uniform(rng, 4 * B * C * H * W);
        expectClose("upsample2x", run("dusa_upsample2x_forward", X, [B, C, H, W], [B, C, 2 * H, 2 * W], [B, C, H, W]),
          L.upsample2xRef(X, B, C, H, W), 0, rng.seed);
        expectClose("upsample2x backward", run("dusa_upsample2x_backward", G, [B, C, 2 * H, 2 * W], [B, C, H, W], [B, C, H, W]),
          L.upsample2xBackwardRef(G, B, C, H, W), 1e-6, rng.seed);
      }
    }));

    test("resize_bilinear (align_corners=True)", withMode((rng) => {
      const cases = [
        [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 3, 4], [2, 3, 5, 7, 9, 13], [1, 2, 8, 8, 4, 4], [1, 2, 8, 8, 5, 3],
        [1, 2, 6, 5, 1, 7], [1, 2, 6, 5, 6, 1], [1, 1, 3, 3, 1, 1], [2, 3, 32, 32, 100, 100],
      ];
      for (const [B, C, H, W, OH, OW] of cases) {
        const X = uniform(rng, B * C * H * W);
        // the kernel computes source coordinates in float like torch (to match it bit for bit); the exact
        // coordinate o*(H-1)/(OH-1) is then off by up to (H-1) * 2^-24 (2e-6 at H = 32) in the lambdas
        expectClose(`resize ${[B, C, H, W]} -> ${[OH, OW]}`, run("dusa_resize_bilinear", X, [B, C, H, W], [B, C, OH, OW], [B, C, H, W, OH, OW]),
          L.resizeBilinearRef(X, B, C, H, W, OH, OW), 1e-5, rng.seed);
      }
    }));

    test("pad2d forward and backward", withMode((rng) => {
      for (const [B, C, H, W, t, b, l, r] of [[1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 2, 3, 4], [2, 3, 5, 7, 0, 1, 0, 1], [1, 2, 3, 4, 2, 1, 3, 0], [2, 16, 20, 20, 1, 1, 1, 1]]) {
        const OH = H + t + b, OW = W + l + r;
        const X = uniform(rng, B * C * H * W), G = uniform(rng, B * C * OH * OW);
        expectClose("pad2d", run("dusa_pad2d_forward", X, [B, C, H, W], [B, C, OH, OW], [B, C, H, W, t, b, l, r]), L.pad2dRef(X, B, C, H, W, t, b, l, r), 0, rng.seed);
        expectClose("pad2d backward", run("dusa_pad2d_backward", G, [B, C, OH, OW], [B, C, H, W], [B, C, H, W, t, b, l, r]),
          L.pad2dBackwardRef(G, B, C, H, W, t, b, l, r), 0, rng.seed);
      }
    }));
  });

test("layout reference backwards agree with finite differences", () => {
  const rng = freshRng();
  const check = (label: string, n: number, m: number, f: (x: Float64Array) => ArrayLike<number>, back: (g: Float32Array) => ArrayLike<number>) => {
    const inputs = [toF64(uniform(rng, n))], G = uniform(rng, m);
    expectClose(label, finiteDiff((xs) => f(xs[0]), inputs, G, 0), back(G), 1e-7, rng.seed);
  };
  const [B, C, H, W] = [2, 3, 4, 6];
  const n = B * C * H * W;
  check("nchw_to_nhwc (backward = nhwc_to_nchw)", n, n, (x) => L.nchwToNhwcRef(x, B, C, H, W), (g) => L.nhwcToNchwRef(g, B, C, H, W));
  check("nhwc_to_nchw (backward = nchw_to_nhwc)", n, n, (x) => L.nhwcToNchwRef(x, B, C, H, W), (g) => L.nchwToNhwcRef(g, B, C, H, W));
  check("patchify", n, n, (x) => L.patchifyRef(x, B, C, H, W, 2), (g) => L.patchifyBackwardRef(g, B, C, H, W, 2));
  check("unpatchify", n, n, (x) => L.unpatchifyRef(x, B, C, H, W, 2), (g) => L.unpatchifyBackwardRef(g, B, C, H, W, 2));
  check("avgpool", n, B * C, (x) => L.avgpoolRef(x, B, C, H * W), (g) => L.avgpoolBackwardRef(g, B, C, H * W));
  check("upsample2x", n, 4 * n, (x) => L.upsample2xRef(x, B, C, H, W), (g) => L.upsample2xBackwardRef(g, B, C, H, W));
  const OHW = prod([H + 3, W + 1]);
  check("pad2d", n, B * C * OHW, (x) => L.pad2dRef(x, B, C, H, W, 1, 2, 0, 1), (g) => L.pad2dBackwardRef(g, B, C, H, W, 1, 2, 0, 1));
});

test("layout bad input names the op", () => {
  const t = ctx.alloc([256]);
  expect(() => ctx.call("dusa_patchify_forward", t, t, 1, 1, 6, 5, 2)).toThrow(/dusa_patchify_forward.*divisible by the patch size P \(2\)/);
  expect(() => ctx.call("dusa_patchify_backward", t, t, 1, 1, 6, 6, 0)).toThrow(/dusa_patchify_backward.*P must be > 0/);
  expect(() => ctx.call("dusa_unpatchify_forward", t, t, 1, 1, 4, 6, 4)).toThrow(/dusa_unpatchify_forward.*divisible by the patch size/);
  expect(() => ctx.call("dusa_unpatchify_backward", t, null, 1, 1, 4, 4, 2)).toThrow(/dusa_unpatchify_backward.*dout is null/);
  expect(() => ctx.call("dusa_nchw_to_nhwc", t, t, 1, 0, 4, 4)).toThrow(/dusa_nchw_to_nhwc.*C must be > 0/);
  expect(() => ctx.call("dusa_nhwc_to_nchw", null, t, 1, 1, 4, 4)).toThrow(/dusa_nhwc_to_nchw.*out is null/);
  expect(() => ctx.call("dusa_avgpool_forward", t, t, 1, 1, 0)).toThrow(/dusa_avgpool_forward.*HW must be > 0/);
  expect(() => ctx.call("dusa_avgpool_backward", t, t, -1, 1, 4)).toThrow(/dusa_avgpool_backward.*B must be > 0/);
  expect(() => ctx.call("dusa_upsample2x_forward", t, t, 1, 1, 0, 4)).toThrow(/dusa_upsample2x_forward.*H must be > 0/);
  expect(() => ctx.call("dusa_upsample2x_backward", t, t, 1, 1, 4, 0)).toThrow(/dusa_upsample2x_backward.*W must be > 0/);
  expect(() => ctx.call("dusa_resize_bilinear", t, t, 1, 1, 4, 4, 0, 4)).toThrow(/dusa_resize_bilinear.*OH must be > 0/);
  expect(() => ctx.call("dusa_pad2d_forward", t, t, 1, 1, 4, 4, 0, -1, 0, 0)).toThrow(/dusa_pad2d_forward.*bottom must be >= 0/);
  expect(() => ctx.call("dusa_pad2d_backward", t, t, 1, 1, 4, 4, 0, 0, -2, 0)).toThrow(/dusa_pad2d_backward.*left must be >= 0/);
  t.free();
});
