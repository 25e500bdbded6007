// CUDA vs CPU: add, axpy, scale, scale_copy, channel scale (dscale +=, NULL skips), all_finite (host output), fill,
// GELU (erf, tanh), SiLU, gated residual (dgate into a strided chunk; dx skipped when it aliases dout).
import { expect, test } from "bun:test";
import { freshRng, normal, uniform } from "../util/random.ts";
import { acc, at, check, cudaSuite, host, inp, out } from "./harness.ts";

const sizes = [1, 5, 4097, 70_001]; // one element, a tail, one past a 4096 block, large

cudaSuite("cuda: elementwise", (pair) => {
  test("add, axpy, scale (in place and aliased)", () => {
    const rng = freshRng();
    for (const n of sizes) {
      const A = uniform(rng, n), B = uniform(rng, n), alpha = rng.next() * 2 - 1, where = `n=${n} seed ${rng.seed}`;
      check(pair, { label: `add ${where}`, op: "dusa_add", args: [out("out", n), inp(A), inp(B), n] });
      const a = acc("a", A);
      check(pair, { label: `add aliased out=a ${where}`, op: "dusa_add", args: [a, a, inp(B), n] });
      check(pair, { label: `axpy ${where}`, op: "dusa_axpy", args: [acc("y", B), inp(A), alpha, n] });
      check(pair, { label: `scale ${where}`, op: "dusa_scale", args: [acc("x", A), alpha, n] });
      check(pair, { label: `scale_copy ${where}`, op: "dusa_scale_copy", args: [out("out", n), inp(A), alpha, n] });
      const x = acc("x", A);
      check(pair, { label: `scale_copy in place ${where}`, op: "dusa_scale_copy", args: [x, x, alpha, n] });
    }
  });

  test("fill and a zero-length op", () => {
    for (const n of sizes) check(pair, { label: `fill n=${n}`, op: "dusa_fill", args: [out("x", n), -2.5, n] });
    check(pair, { label: "fill n=0 writes nothing", op: "dusa_fill", args: [out("x", 3, { written: () => false, init: 7 }), 1, 0] });
  });

  test("channel scale forward/backward: dscale +=, NULL skips", () => {
    const rng = freshRng();
    // [rows, C]: tiny, odd, ConvNeXt layer scale at the tiny model's stage 1 (B 8, 16x16, 32) and stage 4
    for (const [rows, C] of [[1, 1], [7, 3], [40, 70], [2048, 32], [32, 256]]) {
      const X = uniform(rng, rows * C), S = uniform(rng, C), G = uniform(rng, rows * C), DS0 = uniform(rng, C), where = `rows=${rows} C=${C} seed ${rng.seed}`;
      check(pair, { label: `forward ${where}`, op: "dusa_channel_scale_forward", args: [out("out", rows * C), inp(X), inp(S), rows, C], absFloor: true });
      check(pair, { label: `backward ${where}`, op: "dusa_channel_scale_backward", args: [out("din", rows * C), acc("dscale", DS0), inp(G), inp(X), inp(S), rows, C], absFloor: true });
      check(pair, { label: `backward din only ${where}`, op: "dusa_channel_scale_backward", args: [out("din", rows * C), null, inp(G), inp(X), inp(S), rows, C] });
      check(pair, { label: `backward dscale only ${where}`, op: "dusa_channel_scale_backward", args: [null, acc("dscale", DS0), inp(G), inp(X), inp(S), rows, C], absFloor: true });
    }
  });

  test("all_finite into a host int: NaN, +Inf, -Inf anywhere", () => {
    const rng = freshRng();
    for (const n of sizes) {
      const X = uniform(rng, n);
      const r = check(pair, { label: `all finite n=${n}`, op: "dusa_all_finite", args: [host("flag", 1, { dtype: "i32" }), inp(X), n] });
      expect(r.get("flag")![0]).toBe(1);
      for (const [bad, pos] of [[Number.NaN, 0], [Number.POSITIVE_INFINITY, n - 1], [Number.NEGATIVE_INFINITY, n >> 1]]) {
        const Y = X.slice();
        Y[pos] = bad;
        const s = check(pair, { label: `${bad} at ${pos} of ${n}`, op: "dusa_all_finite", args: [host("flag", 1, { dtype: "i32" }), inp(Y), n] });
        expect(s.get("flag")![0]).toBe(0);
      }
    }
  });

  test("GELU (erf and tanh) and SiLU, forward and backward", () => {
    const rng = freshRng();
    for (const n of [1, 7, 1000, 100_003, 8 * 256 * 16 * 16]) {
      const X = normal(rng, n, 3), G = uniform(rng, n), where = `n=${n} seed ${rng.seed}`;
      for (const approximate of [0, 1]) {
        check(pair, { label: `gelu fwd approx=${approximate} ${where}`, op: "dusa_gelu_forward", args: [out("out", n), inp(X), n, approximate] });
        check(pair, { label: `gelu bwd approx=${approximate} ${where}`, op: "dusa_gelu_backward", args: [out("din", n), inp(G), inp(X), n, approximate] });
      }
      check(pair, { label: `silu fwd ${where}`, op: "dusa_silu_forward", args: [out("out", n), inp(X), n] });
      check(pair, { label: `silu bwd ${where}`, op: "dusa_silu_backward", args: [out("din", n), inp(G), inp(X), n] });
    }
  });

  test("gated residual: gate and dgate in a strided modulation buffer; dx NULL or aliasing dout", () => {
    const rng = freshRng();
    // [B, T, C, chunks]: the gate is the last C of each (chunks C)-wide row; tiny SiT: B·K = 96 rows, T 16, C 256
    for (const [B, T, C, chunks] of [[1, 1, 1, 1], [2, 5, 3, 6], [4, 16, 64, 6], [96, 16, 256, 6]]) {
      const stride = chunks * C, off = (chunks - 1) * C, n = B * T * C, where = `B=${B} T=${T} C=${C} seed ${rng.seed}`;
      const X = uniform(rng, n), Y = uniform(rng, n), MOD = inp(uniform(rng, B * stride)), G = uniform(rng, n);
      check(pair, { label: `forward ${where}`, op: "dusa_gated_residual_forward", args: [out("out", n), inp(X), inp(Y), at(MOD, off), B, T, C, stride], absFloor: true });
      const dmod = out("dmod", B * stride, { written: (i) => i % stride >= off });
      check(pair, { label: `backward ${where}`, op: "dusa_gated_residual_backward", args: [out("dx", n), out("dy", n), at(dmod, off), inp(G), inp(Y), at(MOD, off), B, T, C, stride] });
      const g = acc("dout=dx", G, { tol: 0 });
      check(pair, { label: `backward dx aliasing dout ${where}`, op: "dusa_gated_residual_backward", args: [g, null, null, g, inp(Y), at(MOD, off), B, T, C, stride] });
      check(pair, { label: `backward dy only ${where}`, op: "dusa_gated_residual_backward", args: [null, out("dy", n), null, inp(G), inp(Y), at(MOD, off), B, T, C, stride] });
    }
  });
});
