// ConvNeXt on the kernel library: published parameter count, backward vs directional finite differences in every
// mode, frozen parameters untouched, and (test/models/*.golden.test.ts) parity with the PyTorch reference.
import { describe, expect, test } from "bun:test";
import { ConvNeXt, convnextParamTable } from "../../src/models/convnext.ts";
import { trainAll, trainNone, trainNorm, type Trainable } from "../../src/nn/params.ts";
import { directionalDerivative, expectDirectional } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform } from "../util/random.ts";

const ctx = cpuContext();

test("ConvNeXt-L has timm's 197,767,336 parameters in 344 tensors", () => {
  const t = convnextParamTable({ inChans: 3, numClasses: 1000, depths: [3, 3, 27, 3], dims: [192, 384, 768, 1536], stemPatch: 4 });
  expect(t.total).toBe(197_767_336);
  expect(t.entries.length).toBe(344);
  expect(t.get("stages.2.blocks.26.mlp.fc2.weight").shape).toEqual([768, 3072]);
});

describe("backward agrees with directional finite differences", () => {
  const config = { inChans: 1, numClasses: 10, depths: [1, 1, 2, 1], dims: [8, 16, 16, 32], stemPatch: 2 };
  const [B, H] = [2, 16];
  for (const [mode, trainable] of [["all", trainAll], ["norm", trainNorm], ["frozen", trainNone]] as [string, Trainable][])
    test(mode, () => {
      const rng = freshRng();
      const m = new ConvNeXt(ctx, config);
      m.params.values.write(normal(rng, m.table.total, 0.2));
      const x = ctx.upload(uniform(rng, B * H * H), [B, 1, H, H]);
      const G = normal(rng, B * 10);
      const g = ctx.upload(G, [B, 10]);
      const loss = () => m.forward(x, B, H, H).readFloat().reduce((s, v, i) => s + v * G[i], 0);
      m.params.train(trainable);
      loss();
      const dx = ctx.alloc([B, 1, H, H]);
      m.backward(g, dx);
      // along a random direction v over the trainable parameters: (L(θ + hv) − L(θ − hv)) / 2h = <∇L, v>
      const theta = m.params.values.readFloat();
      const grad = m.params.grads?.readFloat() ?? new Float32Array(theta.length);
      const v = new Float32Array(theta.length);
      for (const e of m.table.entries) if (trainable(e)) v.fill(0, e.offset, e.offset + e.size).set(uniform(rng, e.size), e.offset);
      for (const e of m.table.entries) if (!trainable(e)) for (let i = e.offset; i < e.offset + e.size; i++) expect(grad[i]).toBe(0);
      const along = (dir: Float32Array, base: Float32Array, set: (a: Float32Array) => void) => directionalDerivative(loss, base, dir, set);
      // fp32 central differences with a Richardson step: about 4 digits
      if (mode !== "frozen") {
        expectDirectional("params", along(v, theta, (a) => m.params.values.write(a)), grad, v, 1e-2, rng.seed);
      }
      const xs = x.readFloat(), u = uniform(rng, xs.length), dxs = dx.readFloat();
      expectDirectional("input", along(u, xs, (a) => x.write(a)), dxs, u, 1e-2, rng.seed);
      for (const t of [x, g, dx]) t.free();
      m.free();
    });
});

test("norm-only backward runs no weight-gradient conv or GEMM", () => {
  const m = new ConvNeXt(ctx, { inChans: 1, numClasses: 10, depths: [1, 1, 1, 1], dims: [8, 8, 8, 8], stemPatch: 2 });
  const x = ctx.zeros([1, 1, 16, 16]), g = ctx.zeros([1, 10]).fill(1);
  m.params.train(trainNorm);
  m.forward(x, 1, 16, 16);
  ctx.resetProfile();
  ctx.profile(true);
  m.backward(g);
  ctx.profile(false);
  // the stem conv's backward is skipped entirely: no input grad is wanted and its weights are frozen
  const calls = Object.fromEntries(ctx.profileEntries().map((e) => [e.name, e.calls]));
  expect(calls.dusa_conv2d_backward).toBe(3); // the three downsample convs, input grads only
  expect(calls.dusa_matmul ?? 0).toBe(0);
  m.free();
  x.free();
  g.free();
});
