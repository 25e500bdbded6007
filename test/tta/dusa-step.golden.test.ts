// One DUSA step against the float64 PyTorch reference (test/golden/make_dusa_step.py), SiT flow and DiT DDPM:
// logits, weights, loss terms, every task and generative gradient, and both models after one Adam update.
// The classes and the noise are PyTorch's (injected); their own sampling is tested against the Philox references.
// The same step in bf16 storage is held to bf16 bounds against the same float64 reference.
import { describe, expect, test } from "bun:test";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { SiT } from "../../src/models/sit.ts";
import { AutoencoderKL } from "../../src/models/vae.ts";
import { trainAll } from "../../src/nn/params.ts";
import { DusaStep } from "../../src/tta/dusa.ts";
import { Optimizer } from "../../src/tta/optimizer.ts";
import { toBf16 } from "../../src/native/index.ts";
import { expectClose, relErr } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { loadGolden, type Golden } from "../util/golden.ts";

const ctx = cpuContext();

function paramsOf(g: Golden, prefix: string): [string, { shape: number[]; data: Float32Array }][] {
  return Object.keys(g.__shapes).filter((k) => k.startsWith(prefix)).map((k) => [k.slice(prefix.length), { shape: g.__shapes[k], data: g[k] as Float32Array }]);
}

/** The golden's three models with its weights, both trained, and a DusaStep over them. */
function setup(g: Golden, family: "sit" | "dit") {
  const cfg = JSON.parse(g.__metadata.config);
  const task = new ConvNeXt(ctx, { inChans: cfg.task.in_chans, numClasses: cfg.task.num_classes, depths: cfg.task.depths, dims: cfg.task.dims, stemPatch: cfg.task.stem_patch });
  const vae = new AutoencoderKL(ctx, {
    inChannels: cfg.vae.in_channels, outChannels: cfg.vae.out_channels, latentChannels: cfg.vae.latent_channels, blockOut: cfg.vae.block_out_channels,
    layersPerBlock: cfg.vae.layers_per_block, groups: cfg.vae.norm_num_groups, scalingFactor: cfg.vae.scaling_factor,
  }, { encoder: true, decoder: false });
  const gen = new SiT(ctx, {
    inputSize: cfg.gen.input_size, patchSize: cfg.gen.patch_size, inChannels: cfg.gen.in_channels, hidden: cfg.gen.hidden_size, depth: cfg.gen.depth,
    heads: cfg.gen.num_heads, mlpRatio: 4, numClasses: cfg.gen.num_classes, learnSigma: cfg.gen.learn_sigma,
  });
  task.params.set(paramsOf(g, "task.param."));
  vae.params.set(paramsOf(g, "vae.param."));
  gen.params.set(paramsOf(g, "gen.param."));
  task.params.train(trainAll);
  gen.params.train(trainAll);
  const step = new DusaStep(ctx, task, vae, gen, {
    family, topk: cfg.topk, randBudget: cfg.rand_budget, temperature: 1, t: cfg.t,
    loss: { mse: cfg.loss.mse, normL2: cfg.loss.norm_l2, cosine: cfg.loss.cosine }, accumulate: cfg.accumulate,
    adaptTask: true, adaptAux: true, seed: 0,
  });
  const free = () => {
    step.free();
    for (const m of [task, vae, gen]) m.free();
  };
  return { cfg, task, vae, gen, step, free };
}

describe("DUSA step in bf16 storage vs PyTorch (float64)", () => {
  for (const family of ["sit", "dit"] as const)
    test(family, () => {
      const g = loadGolden(`dusa_step_${family}`);
      ctx.storage = "bf16";
      try {
        const { task, gen, step, free } = setup(g, family);
        const [B, , H, W] = g.__shapes.x_task;
        const xTask = ctx.upload(toBf16(g.x_task as Float32Array), g.__shapes.x_task), xAux = ctx.upload(toBf16(g.x_aux as Float32Array), g.__shapes.x_aux);
        const out = step.run(xTask, xAux, B, H, W, g.__shapes.x_aux[2], 0, { selected: g.selected, eps: g.eps });
        // each op rounds its output once (relative 2^-9); measured: logits 5e-3 .. 7e-3, weights 2e-3, terms 4e-4,
        // generative gradients 5e-3, task gradients 1.4e-2 .. 2.1e-2 (through normalise, softmax and the whole ConvNeXt)
        expect(relErr(out.logits.readValues(), g.logits as Float32Array)).toBeLessThan(2e-2);
        expect(relErr(out.weights, g.weights as Float32Array)).toBeLessThan(2e-2);
        expect(relErr(out.terms, g.terms as Float32Array)).toBeLessThan(3e-2);
        for (const [model, prefix] of [[task, "task"], [gen, "gen"]] as const) {
          const grads = model.params.grads!.readFloat(), got: number[] = [], want: number[] = [];
          for (const e of model.table.entries) {
            const w = g[`${prefix}.grad.${e.name}`] as Float32Array | undefined;
            if (!w) continue;
            got.push(...grads.subarray(e.offset, e.offset + e.size));
            want.push(...w);
          }
          expect([prefix, relErr(got, want) < 5e-2]).toEqual([prefix, true]);
        }
        xTask.free();
        xAux.free();
        free();
      } finally {
        ctx.storage = "f32";
      }
    });
});

describe("DUSA step vs PyTorch", () => {
  for (const family of ["sit", "dit"] as const)
    test(family, () => {
      const g = loadGolden(`dusa_step_${family}`);
      const { cfg, task, gen, step, free } = setup(g, family);
      const [B, , H, W] = g.__shapes.x_task;
      const xTask = ctx.upload(g.x_task, g.__shapes.x_task), xAux = ctx.upload(g.x_aux, g.__shapes.x_aux);
      const out = step.run(xTask, xAux, B, H, W, g.__shapes.x_aux[2], 0, { selected: g.selected, eps: g.eps });
      expectClose("logits", out.logits.readFloat(), g.logits, 1e-4);
      expect(Array.from(out.selected)).toEqual(Array.from(g.selected));
      expectClose("weights", out.weights, g.weights, 1e-5);
      expectClose("terms [total, mse, norm_l2, cosine]", out.terms, g.terms, 1e-4);
      for (const [model, prefix] of [[task, "task"], [gen, "gen"]] as const) {
        const grads = model.params.grads!.readFloat();
        let checked = 0;
        for (const e of model.table.entries) {
          const want = g[`${prefix}.grad.${e.name}`] as Float32Array | undefined;
          const got = grads.subarray(e.offset, e.offset + e.size);
          if (!want) {
            expect(got.every((v) => v === 0)).toBe(true);
            continue;
          }
          expectClose(`${prefix} grad ${e.name}`, got, want, 1e-3, undefined, e.name.endsWith("qkv.bias") ? 0 : 1e-9);
          checked++;
        }
        expect(checked).toBe(model.table.entries.filter(trainAll).length);
        const opt = new Optimizer(model.params, { name: "adam", lr: cfg.lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
        opt.update();
        const values = model.params.values.readFloat();
        for (const e of model.table.entries) {
          const want = g[`${prefix}.updated.${e.name}`] as Float32Array | undefined;
          if (!want) continue;
          const got = values.subarray(e.offset, e.offset + e.size);
          if (!e.name.endsWith("qkv.bias")) {
            expectClose(`${prefix} after Adam ${e.name}`, got, want, 1e-5);
            continue;
          }
          // The key third of qkv.bias has an exactly-zero gradient; float32 round-off (~1e-7) there becomes an
          // O(lr) first Adam step (m / sqrt(v) is a sign), float64 round-off (~1e-17) does not: bound it by lr.
          const C = e.size / 3;
          const notKey = (a: Float32Array) => Float32Array.from([...a.subarray(0, C), ...a.subarray(2 * C)]);
          expectClose(`${prefix} after Adam ${e.name} (q, v)`, notKey(got), notKey(want), 1e-5);
          for (let i = C; i < 2 * C; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(cfg.lr * 1.001);
        }
        opt.free();
      }
      free();
      xTask.free();
      xAux.free();
    });
});
