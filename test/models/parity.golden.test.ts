// Model parity with the PyTorch references (test/golden/make_models.py): forward outputs (relative error
// ≤ 1e-4), the input gradient and every parameter gradient (≤ 1e-3) per adaptation mode, and the full-size
// models' parameter tables name for name against PyTorch's state-dict key lists.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConvNeXt, convnextParamTable } from "../../src/models/convnext.ts";
import { loadPreset } from "../../src/models/presets.ts";
import { SiT, sitParamTable } from "../../src/models/sit.ts";
import { trainAll, trainNorm, type Trainable } from "../../src/nn/params.ts";
import type { ParamTable } from "../../src/nn/params.ts";
import { expectClose, norm2 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { goldenParams, loadGolden, type Golden } from "../util/golden.ts";

const ctx = cpuContext();
const FORWARD_TOL = 1e-4, GRAD_TOL = 1e-3;

function expectGrads(g: Golden, table: ParamTable, grads: Float32Array, trainable: Trainable): number {
  let checked = 0;
  for (const e of table.entries) {
    const got = grads.subarray(e.offset, e.offset + e.size);
    const want = g[`grad.${e.name}`] as Float32Array | undefined;
    if (!trainable(e) || !want) {
      expect(got.every((v) => v === 0)).toBe(true);
      continue;
    }
    // attention key biases have an exactly-zero gradient: measure against the layer's weight-gradient scale
    const floor = e.name.endsWith("qkv.bias") ? 0 : norm2(want) === 0 ? 1e-6 : 0;
    expectClose(`grad ${e.name}`, got, want, GRAD_TOL, undefined, floor);
    checked++;
  }
  return checked;
}

describe("ConvNeXt vs timm-structured PyTorch", () => {
  for (const name of ["convnext_narrow", "convnext_deep"])
    for (const [mode, trainable] of [["all", trainAll], ["norm", trainNorm]] as [string, Trainable][])
      test(`${name}, ${mode} parameters`, () => {
        const g = loadGolden(`model_${name}`);
        const cfg = JSON.parse(g.__metadata.config);
        const m = new ConvNeXt(ctx, { inChans: cfg.in_chans, numClasses: cfg.num_classes, depths: cfg.depths, dims: cfg.dims, stemPatch: cfg.stem_patch });
        m.params.set(goldenParams(g));
        const [B, C, H, W] = g.__shapes.x;
        const x = ctx.upload(g.x, [B, C, H, W]);
        expectClose("logits", m.forward(x, B, H, W).readFloat(), g.out, FORWARD_TOL);
        m.params.train(trainable);
        m.params.zeroGrads();
        const dout = ctx.upload(g.dout, g.__shapes.dout), dx = ctx.alloc([B, C, H, W]);
        m.backward(dout, dx);
        expectClose("dx", dx.readFloat(), g.dx, GRAD_TOL);
        const checked = expectGrads(g, m.table, m.params.grads!.readFloat(), trainable);
        expect(checked).toBe(m.table.entries.filter(trainable).length);
        for (const t of [x, dout, dx]) t.free();
        m.free();
      });
});

describe("SiT / DiT vs REPA / DiT-structured PyTorch", () => {
  for (const name of ["sit_narrow", "sit_deep", "dit_narrow"])
    test(name, () => {
      const g = loadGolden(`model_${name}`);
      const cfg = JSON.parse(g.__metadata.config);
      const m = new SiT(ctx, {
        inputSize: cfg.input_size, patchSize: cfg.patch_size, inChannels: cfg.in_channels, hidden: cfg.hidden_size, depth: cfg.depth,
        heads: cfg.num_heads, mlpRatio: cfg.mlp_ratio, numClasses: cfg.num_classes, learnSigma: cfg.learn_sigma,
        projector: cfg.z_dims ? { zDims: cfg.z_dims, encoderDepth: cfg.encoder_depth, dim: cfg.projector_dim } : undefined,
      });
      const ours = m.params.p("pos_embed").readFloat();
      m.params.set(goldenParams(g));
      expectClose("our sin-cos pos_embed", ours, g["param.pos_embed"], 1e-6);
      const [N] = g.__shapes.x;
      const x = ctx.upload(g.x, g.__shapes.x), t = ctx.upload(Float32Array.from(g.t), [N]), y = ctx.upload(g.y, [N], "data", "i32");
      m.params.train(trainAll);
      m.params.zeroGrads();
      expectClose("prediction", m.forward(x, t, y, N).readFloat(), g.out, FORWARD_TOL);
      const dout = ctx.upload(g.dout, g.__shapes.dout), dx = ctx.alloc(g.__shapes.x);
      m.backward(dout, dx);
      expectClose("dx", dx.readFloat(), g.dx, GRAD_TOL);
      const checked = expectGrads(g, m.table, m.params.grads!.readFloat(), trainAll);
      expect(checked).toBeGreaterThan(20);
      for (const tt of [x, t, y, dout, dx]) tt.free();
      m.free();
    });
});

describe("full-size parameter tables match PyTorch's state-dict keys and shapes, name for name", () => {
  const keys = (name: string): [string, number[]][] => {
    const raw = JSON.parse(readFileSync(join(import.meta.dir, "..", "golden", "data", `model_keys_${name}.json`), "utf8"));
    return (Array.isArray(raw) ? raw : raw.keys ?? Object.entries(raw)).map((e: unknown) => (Array.isArray(e) ? e : [(e as { name: string }).name, (e as { shape: number[] }).shape])) as [string, number[]][];
  };
  const ours = (t: ParamTable) => t.entries.map((e) => [e.name, e.shape] as [string, number[]]).sort((a, b) => a[0].localeCompare(b[0]));
  const sorted = (k: [string, number[]][]) => [...k].sort((a, b) => a[0].localeCompare(b[0]));
  test("convnext-large", () => {
    const p = loadPreset("convnext-large");
    if (p.family !== "convnext") throw new Error("family");
    expect(ours(convnextParamTable(p.config))).toEqual(sorted(keys("convnext_large")));
  });
  test("sit-xl-2 (REPA, with projector)", () => {
    const p = loadPreset("sit-xl-2");
    if (p.family !== "sit") throw new Error("family");
    expect(ours(sitParamTable(p.config))).toEqual(sorted(keys("sit_xl_2_repa")));
  });
  test("dit-xl-2", () => {
    const p = loadPreset("dit-xl-2");
    if (p.family !== "dit") throw new Error("family");
    expect(ours(sitParamTable(p.config))).toEqual(sorted(keys("dit_xl_2")));
  });
});
