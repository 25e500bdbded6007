// SiT / DiT on the kernel library: published parameter counts, the sin-cos positional embedding, backward vs
// directional finite differences (label table and pos_embed never trained), forward-only plan = training plan.
import { describe, expect, test } from "bun:test";
import { SiT, sitParamTable, type SiTConfig } from "../../src/models/sit.ts";
import { sincosPosEmbed2d } from "../../src/models/pos-embed.ts";
import { trainAll } from "../../src/nn/params.ts";
import { directionalDerivative, expectDirectional } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, integers, normal, uniform } from "../util/random.ts";

const ctx = cpuContext();
const xl: SiTConfig = { inputSize: 32, patchSize: 2, inChannels: 4, hidden: 1152, depth: 28, heads: 16, mlpRatio: 4, numClasses: 1000, learnSigma: false };

test("REPA SiT-XL/2 (with projector) and DiT-XL/2 have their published parameter counts", () => {
  expect(sitParamTable({ ...xl, projector: { zDims: [768], encoderDepth: 8, dim: 2048 } }).total).toBe(683_242_512);
  expect(sitParamTable({ ...xl, learnSigma: true }).total).toBe(675_129_632);
});

test("2-D sin-cos positional embedding: column in the first half, row in the second (meshgrid(w, h))", () => {
  const e = sincosPosEmbed2d(8, 3); // quarter 2: omega = [1, 1/100]
  const token = (row: number, col: number) => Array.from(e.subarray((row * 3 + col) * 8, (row * 3 + col + 1) * 8));
  const expected = (row: number, col: number) => [Math.sin(col), Math.sin(col / 100), Math.cos(col), Math.cos(col / 100), Math.sin(row), Math.sin(row / 100), Math.cos(row), Math.cos(row / 100)];
  for (const [r, c] of [[0, 0], [1, 2], [2, 1]]) token(r, c).forEach((v, i) => expect(v).toBeCloseTo(expected(r, c)[i], 6));
});

describe("backward agrees with directional finite differences", () => {
  for (const learnSigma of [false, true])
    test(learnSigma ? "DiT (8 output channels, integer t)" : "SiT (continuous t)", () => {
      const rng = freshRng();
      const cfg: SiTConfig = { inputSize: 8, patchSize: 2, inChannels: 4, hidden: 32, depth: 2, heads: 4, mlpRatio: 4, numClasses: 10, learnSigma };
      const m = new SiT(ctx, cfg);
      const pos = m.params.p("pos_embed").read();
      m.params.values.write(normal(rng, m.table.total, 0.1));
      m.params.p("pos_embed").write(pos);
      const N = 3, out = learnSigma ? 8 : 4;
      const x = ctx.upload(normal(rng, N * 4 * 64), [N, 4, 8, 8]);
      const t = ctx.upload(learnSigma ? Float32Array.from([3, 100, 999]) : uniform(rng, N, 0, 1), [N]);
      const y = ctx.upload(Int32Array.from([...integers(rng, N - 1, 10), 10]), [N], "data"); // the last is the null class
      const G = normal(rng, N * out * 64);
      const g = ctx.upload(G, [N, out, 8, 8]);
      m.params.train(trainAll);
      const loss = () => m.forward(x, t, y, N).readFloat().reduce((s, v, i) => s + v * G[i], 0);
      loss();
      const dx = ctx.alloc([N, 4, 8, 8]);
      m.backward(g, dx);
      const grad = m.params.grads!.readFloat(), theta = m.params.values.readFloat();
      for (const name of ["y_embedder.embedding_table.weight", "pos_embed"]) {
        const e = m.table.get(name);
        expect(grad.subarray(e.offset, e.offset + e.size).every((v) => v === 0)).toBe(true);
      }
      const v = new Float32Array(theta.length);
      for (const e of m.table.entries) if (trainAll(e)) v.set(uniform(rng, e.size), e.offset);
      const along = (dir: Float32Array, base: Float32Array, set: (a: Float32Array) => void) => directionalDerivative(loss, base, dir, set);
      expectDirectional("params", along(v, theta, (a) => m.params.values.write(a)), grad, v, 1e-2, rng.seed);
      const xs = x.readFloat(), u = uniform(rng, xs.length), dxs = dx.readFloat();
      expectDirectional("input", along(u, xs, (a) => x.write(a)), dxs, u, 1e-2, rng.seed);
      // a forward-only plan (blocks share buffers) computes the same prediction
      const trained = m.forward(x, t, y, N, { training: true }).read();
      expect(Array.from(m.forward(x, t, y, N, { training: false }).read())).toEqual(Array.from(trained));
      for (const tt of [x, t, y, g, dx]) tt.free();
      m.free();
    });
});
