// CUDA vs CPU: LayerNorm, LayerNorm + adaLN modulate (shift/scale and their grads in strided chunks), LayerNorm2d
// and GroupNorm (+ fused SiLU): forward outputs and saved statistics; backward from the CPU's saved statistics
// (so each backward kernel is compared on identical inputs), parameter grads +=, NULL weight/bias and NULL grads.
// A normalised group of one element is exactly 0 and its din is float rounding amplified by rstd = 1/sqrt(eps):
// there din is measured against its terms' scale |dout·w|·rstd.
import { test } from "bun:test";
import { norm2 } from "../util/check.ts";
import { freshRng, normal, uniform } from "../util/random.ts";
import { acc, at, check, cpuRun, cudaSuite, inp, out, type Case } from "./harness.ts";

const eps = 1e-6;

/** ‖|dout · w[c]| · rstd[row]‖: the scale of din's terms (rows of C along the last dim, or per group). */
function dinScale(G: Float32Array, W: Float32Array | null, rstd: ArrayLike<number>, channelOf: (i: number) => number, rowOf: (i: number) => number): number {
  return norm2(Float64Array.from(G, (g, i) => Math.abs(g * (W ? W[channelOf(i)] : 1)) * rstd[rowOf(i)]));
}

cudaSuite("cuda: normalisation", (pair) => {
  test("layernorm (N, C), affine and not", () => {
    const rng = freshRng();
    // edge sizes; ConvNeXt blocks (B 8: 16x16 tokens of 32 channels ... 2x2 of 256)
    for (const [N, C] of [[1, 1], [1, 7], [5, 3], [33, 64], [64, 257], [2048, 32], [32, 256]]) {
      const X = normal(rng, N * C, 2), W = uniform(rng, C), Bv = uniform(rng, C), G = uniform(rng, N * C);
      for (const affine of [true, false]) {
        const where = `N=${N} C=${C} affine=${affine} seed ${rng.seed}`, w = affine ? inp(W) : null, b = affine ? inp(Bv) : null;
        check(pair, { label: `fwd ${where}`, op: "dusa_layernorm_forward", args: [out("out", N * C), out("mean", N), out("rstd", N), inp(X), w, b, N, C, eps], tol: C === 1 ? 1e-6 : 1e-5 });
        const saved = cpuRun(pair, { op: "dusa_layernorm_forward", args: [out("out", N * C), out("mean", N), out("rstd", N), inp(X), w, b, N, C, eps] });
        const [mean, rstd] = [saved.get("mean") as Float32Array, saved.get("rstd") as Float32Array];
        const floor = C === 1 ? dinScale(G, affine ? W : null, rstd, (i) => i % C, (i) => Math.floor(i / C)) : 0;
        const bwd = (din: boolean, grads: boolean): Case => ({
          label: `bwd din=${din} grads=${grads} ${where}`, op: "dusa_layernorm_backward",
          args: [din ? out("din", N * C, { floor }) : null, grads && affine ? acc("dw", uniform(rng, C)) : null, grads && affine ? acc("db", uniform(rng, C)) : null, inp(G), inp(X), w, inp(mean), inp(rstd), N, C],
        });
        check(pair, bwd(true, true));
        check(pair, bwd(true, false));
        if (affine) check(pair, bwd(false, true));
      }
    }
  });

  test("layernorm + adaLN modulate: shift and scale chunks of a (B, chunks·C) buffer", () => {
    const rng = freshRng();
    // [B, T, C, chunks]: edge; odd; the tiny SiT's blocks (B·K = 96 samples, 16 tokens, 256, 6 chunks) and final layer (2)
    for (const [B, T, C, chunks] of [[1, 1, 4, 2], [2, 5, 7, 6], [3, 16, 64, 6], [2, 9, 130, 2], [96, 16, 256, 6], [96, 16, 256, 2]]) {
      const stride = chunks * C, n = B * T * C, where = `B=${B} T=${T} C=${C} chunks=${chunks} seed ${rng.seed}`;
      const X = normal(rng, n, 1.5), MOD = inp(uniform(rng, B * stride)), G = uniform(rng, n);
      const fwd = [out("out", n), out("mean", B * T), out("rstd", B * T), inp(X), at(MOD, 0), at(MOD, C), B, T, C, stride, eps];
      check(pair, { label: `fwd ${where}`, op: "dusa_layernorm_modulate_forward", args: fwd });
      const saved = cpuRun(pair, { op: "dusa_layernorm_modulate_forward", args: fwd });
      const dmod = out("dmod", B * stride, { written: (i) => i % stride < 2 * C });
      check(pair, {
        label: `bwd ${where}`, op: "dusa_layernorm_modulate_backward",
        args: [out("din", n), at(dmod, 0), at(dmod, C), inp(G), inp(X), at(MOD, C), inp(saved.get("mean")!), inp(saved.get("rstd")!), B, T, C, stride],
      });
    }
  });

  test("layernorm2d over the channels of NCHW, affine and not", () => {
    const rng = freshRng();
    // [B, C, HW]: edge; odd; ConvNeXt stem and downsample norms of the tiny classifier (B 8)
    for (const [B, C, HW] of [[1, 1, 1], [2, 3, 5], [1, 64, 17], [8, 32, 256], [8, 128, 16], [3, 256, 4]]) {
      const n = B * C * HW, X = normal(rng, n, 2), W = uniform(rng, C), Bv = uniform(rng, C), G = uniform(rng, n);
      for (const affine of [true, false]) {
        const where = `B=${B} C=${C} HW=${HW} affine=${affine} seed ${rng.seed}`, w = affine ? inp(W) : null, b = affine ? inp(Bv) : null;
        const fwd = [out("out", n), out("mean", B * HW), out("rstd", B * HW), inp(X), w, b, B, C, HW, eps];
        check(pair, { label: `fwd ${where}`, op: "dusa_layernorm2d_forward", args: fwd, tol: C === 1 ? 1e-6 : 1e-5 });
        const saved = cpuRun(pair, { op: "dusa_layernorm2d_forward", args: fwd });
        const rstd = saved.get("rstd")!;
        const floor = C === 1 ? dinScale(G, affine ? W : null, rstd, (i) => Math.floor(i / HW) % C, (i) => Math.floor(i / (C * HW)) * HW + (i % HW)) : 0;
        for (const grads of [true, false])
          check(pair, {
            label: `bwd grads=${grads} ${where}`, op: "dusa_layernorm2d_backward",
            args: [out("din", n, { floor }), grads && affine ? acc("dw", uniform(rng, C)) : null, grads && affine ? acc("db", uniform(rng, C)) : null, inp(G), inp(X), w, inp(saved.get("mean")!), inp(rstd), B, C, HW],
          });
        if (affine)
          check(pair, {
            label: `bwd grads only ${where}`, op: "dusa_layernorm2d_backward",
            args: [null, acc("dw", uniform(rng, C)), acc("db", uniform(rng, C)), inp(G), inp(X), w, inp(saved.get("mean")!), inp(rstd), B, C, HW],
          });
      }
    }
  });

  test("groupnorm (+ SiLU), affine and not", () => {
    const rng = freshRng();
    // [B, C, HW, G]: one element per group; odd; one group; InstanceNorm; threaded; the tiny VAE (B 8, 32x32 of 32
    // channels, 8x8 of 64, 8 groups)
    for (const [B, C, HW, G] of [[1, 1, 1, 1], [2, 4, 5, 2], [1, 6, 7, 3], [3, 12, 9, 1], [1, 32, 64, 32], [1, 64, 300, 32], [8, 32, 1024, 8], [8, 64, 64, 8]]) {
      const n = B * C * HW, cpg = C / G;
      // offset inputs (mean 3) so one-pass statistics would lose digits
      const X = normal(rng, n, 2).map((v) => v + 3), W = uniform(rng, C, 0.5, 1.5), Bv = uniform(rng, C), Gd = uniform(rng, n);
      for (const silu of [0, 1])
        for (const affine of [true, false]) {
          const where = `B=${B} C=${C} HW=${HW} G=${G} silu=${silu} affine=${affine} seed ${rng.seed}`;
          const w = affine ? inp(W) : null, b = affine ? inp(Bv) : null;
          const fwd = [out("out", n), out("mean", B * G), out("rstd", B * G), inp(X), w, b, B, C, HW, G, eps, silu];
          check(pair, { label: `fwd ${where}`, op: "dusa_groupnorm_forward", args: fwd });
          const saved = cpuRun(pair, { op: "dusa_groupnorm_forward", args: fwd });
          const rstd = saved.get("rstd")!;
          const floor = cpg * HW === 1 ? dinScale(Gd, affine ? W : null, rstd, (i) => Math.floor(i / HW) % C, (i) => Math.floor(i / (C * HW)) * G + Math.floor((Math.floor(i / HW) % C) / cpg)) : 0;
          const bwd = (din: boolean, grads: boolean): Case => ({
            label: `bwd din=${din} grads=${grads} ${where}`, op: "dusa_groupnorm_backward",
            args: [din ? out("din", n, { floor }) : null, grads && affine ? acc("dw", uniform(rng, C)) : null, grads && affine ? acc("db", uniform(rng, C)) : null,
              inp(Gd), inp(X), w, b, inp(saved.get("mean")!), inp(rstd), B, C, HW, G, silu],
          });
          check(pair, bwd(true, true));
          if (affine) check(pair, bwd(false, true));
        }
    }
  });
});
