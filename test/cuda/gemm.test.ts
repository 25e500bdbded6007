// CUDA vs CPU on every GEMM path of the CUDA backend (naive, blocked, cuBLASLt when it opens, auto): matmul with
// every transpose, alpha and beta; strided batched matmul (shared B, padding between batches); linear forward and
// backward with parameter-gradient accumulation and NULL skips, at edge and tiny-model shapes.
// Errors are relative to the summed |terms| (absFloor), as test/ops/linear.test.ts measures them.
import { describe, test } from "bun:test";
import type { GemmPath } from "../../src/native/index.ts";
import { freshRng, uniform } from "../util/random.ts";
import { acc, check, cudaSuite, inp, out, type Pair } from "./harness.ts";

// [M, N, K]: one element, odd, tile tails, a K much larger than M, N, and the tiny SiT's qkv (B·K·T = 1536 rows)
const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 33, 9], [64, 48, 96], [130, 70, 257], [6, 200, 16], [1, 64, 1000], [1536, 768, 256]];
// [N, IC, OC]: edge sizes; ConvNeXt stage-1 MLP (B 8, 16x16 tokens, 32 -> 128); SiT MLP (1536 tokens, 256 -> 1024);
// the classifier head (8, 256 -> 10)
const linearShapes: [number, number, number][] = [[1, 1, 1], [5, 3, 4], [37, 64, 96], [2048, 32, 128], [1536, 256, 1024], [8, 256, 10]];

function withPath(pair: Pair, path: GemmPath, fn: () => void): void {
  pair.gpu.setGemmPath(path);
  try {
    fn();
  } finally {
    pair.gpu.setGemmPath("auto");
  }
}

cudaSuite("cuda: gemm", (pair) => {
  // which paths exist is known only with the context: "blas" is tried and skipped inside when cuBLASLt is absent
  for (const path of ["naive", "blocked", "blas", "auto"] as GemmPath[])
    describe(`gemm path ${path}`, () => {
      const available = () => path !== "blas" || pair.gpu.hasBlas;

      test("matmul: every transpose, alpha, beta", () => {
        if (!available()) return console.log(`cuda: gemm path blas skipped: ${pair.gpu.lib.path} has no cuBLASLt`);
        const rng = freshRng();
        withPath(pair, path, () => {
          for (const [M, N, K] of shapes)
            for (const ta of [0, 1])
              for (const tb of [0, 1]) {
                const [alpha, beta] = [0.5 + rng.next(), ta ? 0 : 0.75];
                const C = beta === 0 ? out("C", M * N) : acc("C", uniform(rng, M * N));
                check(pair, { label: `${path} matmul ${M}x${N}x${K} ta=${ta} tb=${tb} seed ${rng.seed}`, op: "dusa_matmul", args: [C, inp(uniform(rng, M * K)), inp(uniform(rng, K * N)), M, N, K, ta, tb, alpha, beta], absFloor: true });
              }
        });
      });

      test("matmul_batched: strided batches, a shared B, transposes", () => {
        if (!available()) return;
        const rng = freshRng();
        withPath(pair, path, () => {
          for (const [batch, M, N, K] of [[1, 1, 1, 1], [5, 7, 9, 11], [24, 16, 16, 64]])
            for (const [ta, tb] of [[0, 0], [0, 1], [1, 0]]) {
              const [sa, sb, sc] = [M * K + 3, 0, M * N + 1]; // padding between batches, B shared
              const written = (i: number) => i % sc < M * N && i < batch * sc;
              check(pair, {
                label: `${path} batched ${batch}x${M}x${N}x${K} ta=${ta} tb=${tb} seed ${rng.seed}`, op: "dusa_matmul_batched",
                args: [out("C", batch * sc, { written }), inp(uniform(rng, batch * sa)), inp(uniform(rng, K * N)), batch, M, N, K, ta, tb, 1, 0, sa, sb, sc],
                absFloor: true,
              });
            }
        });
      });

      test("linear forward and backward: += on parameter grads, NULL skips", () => {
        if (!available()) return;
        const rng = freshRng();
        withPath(pair, path, () => {
          for (const [N, IC, OC] of linearShapes) {
            const X = inp(uniform(rng, N * IC)), W = inp(uniform(rng, OC * IC)), Bv = inp(uniform(rng, OC)), G = inp(uniform(rng, N * OC));
            const DW0 = uniform(rng, OC * IC), DB0 = uniform(rng, OC), where = `${path} ${N},${IC},${OC} seed ${rng.seed}`;
            check(pair, { label: `linear fwd ${where}`, op: "dusa_linear_forward", args: [out("out", N * OC), X, W, Bv, N, IC, OC], absFloor: true });
            check(pair, { label: `linear fwd no bias ${where}`, op: "dusa_linear_forward", args: [out("out", N * OC), X, W, null, N, IC, OC], absFloor: true });
            check(pair, { label: `linear bwd ${where}`, op: "dusa_linear_backward", args: [out("din", N * IC), acc("dW", DW0), acc("db", DB0), G, X, W, N, IC, OC], absFloor: true });
            check(pair, { label: `linear bwd din only ${where}`, op: "dusa_linear_backward", args: [out("din", N * IC), null, null, G, X, W, N, IC, OC], absFloor: true });
            check(pair, { label: `linear bwd dW only ${where}`, op: "dusa_linear_backward", args: [null, acc("dW", DW0), null, G, X, W, N, IC, OC], absFloor: true });
            check(pair, { label: `linear bwd db only ${where}`, op: "dusa_linear_backward", args: [null, null, acc("db", DB0), G, X, W, N, IC, OC], absFloor: true });
          }
        });
      });
    });
});
