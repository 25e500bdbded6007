// CUDA vs CPU: Philox uniform and normal fills (bit-identical for any seed, offset, length and tail), Adam/AdamW
// and SGD steps (each step from the same state on both; parameters within 1e-6 of their value, a fraction of an
// update), the global L2 norm (into a host or device float) and clip-by-norm.
import { test } from "bun:test";
import { freshRng, normal, uniform, type Rng } from "../util/random.ts";
import { acc, check, cudaSuite, host, inp, out } from "./harness.ts";

function random64(rng: Rng): bigint {
  return (BigInt(Math.floor(rng.next() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng.next() * 2 ** 32));
}

// lengths: one value, a partial and a whole Philox block, a tail, > a grid of blocks
const lengths = [1, 3, 4, 5, 4097, 1_000_003];

cudaSuite("cuda: rng and optimizers", (pair) => {
  test("Philox uniform and normal fills are bit-identical to the CPU's", () => {
    const rng = freshRng();
    for (const n of lengths)
      for (const [seed, offset] of [[0n, 0n], [random64(rng), random64(rng) >> 2n], [2n ** 64n - 1n, 2n ** 62n]] as [bigint, bigint][]) {
        const where = `n=${n} seed=${seed} offset=${offset}`;
        check(pair, { label: `uniform [0, 1) ${where}`, op: "dusa_rng_uniform", args: [out("x", n, { exact: true }), n, seed, offset, 0, 1] });
        check(pair, { label: `uniform [-2.5, 4) ${where}`, op: "dusa_rng_uniform", args: [out("x", n, { exact: true }), n, seed, offset, -2.5, 4] });
        check(pair, { label: `normal N(0, 1) ${where}`, op: "dusa_rng_normal", args: [out("x", n, { exact: true }), n, seed, offset, 0, 1] });
        check(pair, { label: `normal N(0.5, 2²) ${where}`, op: "dusa_rng_normal", args: [out("x", n, { exact: true }), n, seed, offset, 0.5, 2] });
      }
    // n = 0 is a no-op
    check(pair, { label: "uniform n=0 writes nothing", op: "dusa_rng_uniform", args: [out("x", 4, { written: () => false }), 0, 1n, 0n, 0, 1] });
  });

  test("adam and adamw: 5 steps, with and without weight decay", () => {
    const rng = freshRng();
    for (const n of [1, 4097, 40_001])
      for (const decoupled of [0, 1])
        for (const wd of [0, 0.05]) {
          let [P, M, V]: Float32Array[] = [uniform(rng, n), new Float32Array(n), new Float32Array(n)];
          for (let step = 1; step <= 5; step++) {
            const r = check(pair, {
              label: `${decoupled ? "adamw" : "adam"} wd=${wd} n=${n} step ${step} seed ${rng.seed}`, op: "dusa_adam_step",
              args: [acc("param", P, { tol: 1e-6 }), inp(normal(rng, n, 0.1)), acc("m", M), acc("v", V), n, 1e-3, 0.9, 0.999, 1e-8, wd, decoupled, step],
            });
            [P, M, V] = [r.get("param"), r.get("m"), r.get("v")] as Float32Array[];
          }
        }
  });

  test("sgd: plain (no momentum buffer), momentum + weight decay, dampening, nesterov", () => {
    const rng = freshRng();
    const cases = [[0, 0, 0, 0], [0.9, 0, 1e-4, 0], [0.9, 0.1, 0, 0], [0.9, 0, 0, 1]];
    for (const n of [1, 1001, 40_001])
      for (const [momentum, dampening, wd, nesterov] of cases) {
        let [P, Bf]: Float32Array[] = [uniform(rng, n), new Float32Array(n)];
        for (let step = 1; step <= 4; step++) {
          const r = check(pair, {
            label: `sgd momentum=${momentum} dampening=${dampening} wd=${wd} nesterov=${nesterov} n=${n} step ${step} seed ${rng.seed}`, op: "dusa_sgd_step",
            args: [acc("param", P, { tol: 1e-6 }), inp(normal(rng, n)), momentum ? acc("buf", Bf) : null, n, 0.01, momentum, dampening, wd, nesterov, step],
          });
          P = r.get("param") as Float32Array;
          if (momentum) Bf = r.get("buf") as Float32Array;
        }
      }
  });

  test("l2_norm into host and device memory; clip_by_norm above and below the limit", () => {
    const rng = freshRng();
    for (const n of lengths) {
      const X = normal(rng, n), where = `n=${n} seed ${rng.seed}`;
      check(pair, { label: `l2_norm host ${where}`, op: "dusa_l2_norm", args: [host("norm", 1), inp(X), n] });
      check(pair, { label: `l2_norm device ${where}`, op: "dusa_l2_norm", args: [out("norm", 1), inp(X), n] });
      let norm = 0;
      for (const x of X) norm += x * x;
      norm = Math.sqrt(norm);
      for (const maxNorm of [norm / 3, norm * 2]) check(pair, { label: `clip max=${maxNorm} ${where}`, op: "dusa_clip_by_norm", args: [acc("x", X), n, maxNorm, norm] });
    }
  });
});
