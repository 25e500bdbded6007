// CUDA vs CPU: conv2d (every GEMM path of the CUDA backend) and depthwise conv2d, forward with and without bias,
// backward with parameter grads += and each NULL-skip combination (din alone needs no input, dweight alone no
// weight, dbias alone neither). Errors relative to the summed |terms| (absFloor).
import { describe, test } from "bun:test";
import type { GemmPath } from "../../src/native/index.ts";
import { freshRng, uniform } from "../util/random.ts";
import { acc, check, cudaSuite, inp, out, type Arg } from "./harness.ts";

// [B, IC, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr] (the cases of test/ops/conv2d.test.ts, and the tiny models')
const convCases: [string, number[]][] = [
  ["1x1 image, 1x1 kernel", [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]],
  ["1x1 image, 3x3 pad 1", [1, 1, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1]],
  ["3x3 same, odd sizes", [2, 3, 5, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1]],
  ["stride 2 pad (0,1,0,1)", [2, 4, 9, 8, 5, 3, 3, 2, 2, 0, 1, 0, 1]],
  ["K bigger than the image", [1, 2, 2, 3, 3, 5, 5, 1, 1, 2, 2, 2, 2]],
  ["3x2 kernel, strides (2,1), pads (1,0,2,1)", [1, 5, 11, 10, 3, 3, 2, 2, 1, 1, 0, 2, 1]],
  ["stride larger than kernel", [1, 2, 9, 9, 3, 2, 2, 3, 3, 1, 1, 0, 0]],
  ["1x1 stride 1", [2, 16, 6, 5, 12, 1, 1, 1, 1, 0, 0, 0, 0]],
  ["tiny ConvNeXt stem 2x2/2 (B 8)", [8, 1, 32, 32, 32, 2, 2, 2, 2, 0, 0, 0, 0]],
  ["tiny ConvNeXt downsample 2x2/2", [8, 64, 8, 8, 128, 2, 2, 2, 2, 0, 0, 0, 0]],
  ["tiny VAE conv_in 3x3 (B 8)", [8, 1, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1]],
  ["tiny VAE resnet 3x3, 32 -> 32 at 32x32", [8, 32, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1]],
  ["tiny VAE downsample 3x3/2 pad (0,1,0,1)", [8, 32, 32, 32, 32, 3, 3, 2, 2, 0, 1, 0, 1]],
  ["tiny VAE quant conv 1x1, 64 -> 8 at 8x8", [8, 64, 8, 8, 8, 1, 1, 1, 1, 0, 0, 0, 0]],
];

// [B, C, H, W, K]
const dwCases: number[][] = [
  [1, 1, 1, 1, 1], [1, 1, 1, 1, 3], [2, 3, 5, 7, 3], [1, 4, 3, 2, 7], [2, 2, 6, 5, 5], [3, 37, 4, 5, 7], [1, 3, 20, 8, 9],
  [8, 32, 16, 16, 7], [8, 64, 8, 8, 7], [8, 128, 4, 4, 7], [8, 256, 2, 2, 7], // the tiny ConvNeXt's four stages
];

cudaSuite("cuda: convolutions", (pair) => {
  for (const path of ["naive", "blocked", "blas", "auto"] as GemmPath[])
    describe(`conv2d, gemm path ${path}`, () => {
      for (const [name, a] of convCases)
        test(`${name} ${JSON.stringify(a)}`, () => {
          if (path === "blas" && !pair.gpu.hasBlas) return;
          const [B, IC, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr] = a;
          const OH = Math.floor((H + pt + pb - KH) / sh) + 1, OW = Math.floor((W + pl + pr - KW) / sw) + 1;
          const nIn = B * IC * H * W, nW = OC * IC * KH * KW, nOut = B * OC * OH * OW, sizes = [B, IC, H, W, OC, KH, KW, sh, sw, pt, pb, pl, pr];
          const rng = freshRng(), where = `${path} ${name} seed ${rng.seed}`;
          const X = inp(uniform(rng, nIn)), Wt = inp(uniform(rng, nW)), Bv = inp(uniform(rng, OC)), G = inp(uniform(rng, nOut));
          const DW0 = uniform(rng, nW), DB0 = uniform(rng, OC);
          const run = (label: string, op: "dusa_conv2d_forward" | "dusa_conv2d_backward", args: Arg[]) => check(pair, { label: `${label} ${where}`, op, args: [...args, ...sizes], absFloor: true });
          pair.gpu.setGemmPath(path);
          try {
            run("forward", "dusa_conv2d_forward", [out("out", nOut), X, Wt, Bv]);
            run("forward, no bias", "dusa_conv2d_forward", [out("out", nOut), X, Wt, null]);
            run("backward", "dusa_conv2d_backward", [out("din", nIn), acc("dw", DW0), acc("db", DB0), G, X, Wt]);
            run("backward din alone (no input)", "dusa_conv2d_backward", [out("din", nIn), null, null, G, null, Wt]);
            run("backward dweight alone (no weight)", "dusa_conv2d_backward", [null, acc("dw", DW0), null, G, X, null]);
            run("backward dbias alone", "dusa_conv2d_backward", [null, null, acc("db", DB0), G, null, null]);
          } finally {
            pair.gpu.setGemmPath("auto");
          }
        });
    });

  describe("dwconv2d", () => {
    for (const [B, C, H, W, K] of dwCases)
      test(`[${B}, ${C}, ${H}, ${W}, K=${K}]`, () => {
        const rng = freshRng(), n = B * C * H * W, sizes = [B, C, H, W, K], where = `${sizes} seed ${rng.seed}`;
        const X = inp(uniform(rng, n)), Wt = inp(uniform(rng, C * K * K)), Bv = inp(uniform(rng, C)), G = inp(uniform(rng, n));
        const DW0 = uniform(rng, C * K * K), DB0 = uniform(rng, C);
        const run = (label: string, op: "dusa_dwconv2d_forward" | "dusa_dwconv2d_backward", args: Arg[]) => check(pair, { label: `${label} ${where}`, op, args: [...args, ...sizes], absFloor: true });
        run("forward", "dusa_dwconv2d_forward", [out("out", n), X, Wt, Bv]);
        run("forward, no bias", "dusa_dwconv2d_forward", [out("out", n), X, Wt, null]);
        run("backward", "dusa_dwconv2d_backward", [out("din", n), acc("dw", DW0), acc("db", DB0), G, X, Wt]);
        run("backward din alone", "dusa_dwconv2d_backward", [out("din", n), null, null, G, null, Wt]);
        run("backward dweight alone", "dusa_dwconv2d_backward", [null, acc("dw", DW0), null, G, X, null]);
        run("backward dbias alone", "dusa_dwconv2d_backward", [null, null, acc("db", DB0), G, null, null]);
      });
  });
});
