// matmul (all transposes, alpha/beta, strided batches) and linear forward/backward on every GEMM path,
// against the float64 reference, plus finite differences of the reference itself.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, norm2, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, uniform } from "../util/random.ts";
import { linearBackwardRef, linearForwardRef, matmulRef } from "../ref/linear.ts";
import type { GemmPath } from "../../src/native/index.ts";

const ctx = cpuContext();
const paths: GemmPath[] = ["naive", "blocked", ...(ctx.hasBlas ? (["blas"] as GemmPath[]) : [])];
// Tolerances are relative to the summed |terms|: rounding scales with them, not with a result that may cancel.
const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 33, 9], [64, 48, 96], [130, 70, 257], [6, 200, 16]];

for (const path of paths) {
  describe(`gemm path ${path}`, () => {
    test("matmul: every transpose, alpha, beta", () => {
      ctx.setGemmPath(path);
      const rng = freshRng();
      for (const [M, N, K] of shapes)
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const A = uniform(rng, M * K), B = uniform(rng, K * N), C0 = uniform(rng, M * N);
            const [alpha, beta] = [0.5 + rng.next(), ta ? 0 : 0.75];
            const a = ctx.upload(A, [M * K]), b = ctx.upload(B, [K * N]);
            const c = beta === 0 ? poisoned(ctx, [M, N]) : ctx.upload(C0, [M, N]);
            ctx.call("dusa_matmul", c, a, b, M, N, K, +ta, +tb, alpha, beta);
            const floor = norm2(matmulRef(abs(A), abs(B), M, N, K, ta, tb, alpha, beta, abs(C0)));
            expectClose(`matmul ${M}x${N}x${K} ta=${ta} tb=${tb}`, c.read(), matmulRef(A, B, M, N, K, ta, tb, alpha, beta, C0), 1e-5, rng.seed, floor);
            a.free(); b.free(); c.free();
          }
      ctx.setGemmPath("auto");
    });

    test("matmul_batched: strided batches", () => {
      ctx.setGemmPath(path);
      const rng = freshRng();
      const [batch, M, N, K] = [5, 7, 9, 11];
      const [sa, sb, sc] = [M * K + 3, 0, M * N + 1]; // padding between batches, B shared
      const A = uniform(rng, batch * sa), B = uniform(rng, K * N);
      const a = ctx.upload(A, [A.length]), b = ctx.upload(B, [B.length]), c = poisoned(ctx, [batch * sc]);
      ctx.call("dusa_matmul_batched", c, a, b, batch, M, N, K, 0, 0, 1, 0, sa, sb, sc);
      const got = c.read();
      for (let i = 0; i < batch; i++) {
        const ref = matmulRef(A.subarray(i * sa), B, M, N, K, false, false);
        expectClose(`batch ${i}`, got.subarray(i * sc, i * sc + M * N), ref, 1e-5, rng.seed);
      }
      a.free(); b.free(); c.free();
      ctx.setGemmPath("auto");
    });

    test("linear forward and backward (+= on parameter grads, null skips)", () => {
      ctx.setGemmPath(path);
      const rng = freshRng();
      for (const [N, IC, OC] of [[1, 1, 1], [5, 3, 4], [37, 64, 96], [128, 256, 72], [300, 40, 130]]) {
        const X = uniform(rng, N * IC), W = uniform(rng, OC * IC), Bv = uniform(rng, OC), G = uniform(rng, N * OC);
        const DW0 = uniform(rng, OC * IC), DB0 = uniform(rng, OC);
        const x = ctx.upload(X, [N, IC]), w = ctx.upload(W, [OC, IC], "param"), bias = ctx.upload(Bv, [OC], "param");
        const out = poisoned(ctx, [N, OC]);
        ctx.call("dusa_linear_forward", out, x, w, bias, N, IC, OC);
        const fwdFloor = norm2(linearForwardRef(abs(X), abs(W), abs(Bv), N, IC, OC));
        expectClose(`linear fwd ${N},${IC},${OC}`, out.read(), linearForwardRef(X, W, Bv, N, IC, OC), 1e-5, rng.seed, fwdFloor);
        ctx.call("dusa_linear_forward", out, x, w, null, N, IC, OC);
        expectClose("linear fwd no bias", out.read(), linearForwardRef(X, W, null, N, IC, OC), 1e-5, rng.seed, fwdFloor);

        const g = ctx.upload(G, [N, OC]), din = poisoned(ctx, [N, IC]);
        const dw = ctx.upload(DW0, [OC, IC], "grad"), db = ctx.upload(DB0, [OC], "grad");
        ctx.call("dusa_linear_backward", din, dw, db, g, x, w, N, IC, OC);
        const ref = linearBackwardRef(G, X, W, N, IC, OC), terms = linearBackwardRef(abs(G), abs(X), abs(W), N, IC, OC);
        expectClose("linear din", din.read(), ref.din, 1e-5, rng.seed, norm2(terms.din));
        expectClose("linear dW (accumulated)", dw.read(), ref.dw.map((v, i) => v + DW0[i]), 1e-5, rng.seed, norm2(terms.dw.map((v, i) => v + Math.abs(DW0[i]))));
        expectClose("linear db (accumulated)", db.read(), ref.db.map((v, i) => v + DB0[i]), 1e-5, rng.seed, norm2(terms.db.map((v, i) => v + Math.abs(DB0[i]))));
        // null weight grads: only din computed, dw untouched
        const before = dw.read();
        ctx.call("dusa_linear_backward", din, null, null, g, x, w, N, IC, OC);
        expect(dw.read()).toEqual(before);
        for (const t of [x, w, bias, out, g, din, dw, db]) t.free();
      }
      ctx.setGemmPath("auto");
    });
  });
}

test("linear reference backward agrees with finite differences", () => {
  const rng = freshRng();
  const [N, IC, OC] = [3, 4, 5];
  const inputs = [toF64(uniform(rng, N * IC)), toF64(uniform(rng, OC * IC)), toF64(uniform(rng, OC))];
  const G = uniform(rng, N * OC);
  const f = (xs: Float64Array[]) => linearForwardRef(xs[0], xs[1], xs[2], N, IC, OC);
  const ref = linearBackwardRef(G, inputs[0], inputs[1], N, IC, OC);
  expectClose("din", finiteDiff(f, inputs, G, 0), ref.din, 1e-7, rng.seed);
  expectClose("dW", finiteDiff(f, inputs, G, 1), ref.dw, 1e-7, rng.seed);
  expectClose("db", finiteDiff(f, inputs, G, 2), ref.db, 1e-7, rng.seed);
});

test("blocked GEMM at a large shape matches BLAS", () => {
  if (!ctx.hasBlas) return;
  const rng = freshRng();
  const [M, N, K] = [300, 520, 700];
  const A = uniform(rng, M * K), B = uniform(rng, K * N);
  const a = ctx.upload(A, [M, K]), b = ctx.upload(B, [K, N]), c1 = poisoned(ctx, [M, N]), c2 = poisoned(ctx, [M, N]);
  ctx.setGemmPath("blas");
  ctx.call("dusa_matmul", c1, a, b, M, N, K, 0, 0, 1, 0);
  ctx.setGemmPath("blocked");
  ctx.call("dusa_matmul", c2, a, b, M, N, K, 0, 0, 1, 0);
  ctx.setGemmPath("auto");
  expectClose("blocked vs blas", c2.read(), c1.read(), 1e-6, rng.seed);
  for (const t of [a, b, c1, c2]) t.free();
});
