// One whole DUSA step on the tiny models (convnext-tiny-fm, vae-tiny-fm, sit-tiny-fm; adapt task all + aux) on
// CUDA and on the CPU, from the same random weights and images: logits, class weights, loss terms and every
// parameter gradient within 1e-4, the selected classes identical (the same Philox draws), and both models after
// one Adam update within 1e-4 per tensor. An element whose gradient is float rounding on both backends (the key
// third of qkv.bias has an exactly-zero gradient) takes a ±lr first Adam step of either sign: it is held to |Δ| ≤ lr.
import { expect, test } from "bun:test";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { loadPreset } from "../../src/models/presets.ts";
import { SiT } from "../../src/models/sit.ts";
import { AutoencoderKL } from "../../src/models/vae.ts";
import type { Context } from "../../src/native/index.ts";
import { trainAll, type ParamTable } from "../../src/nn/params.ts";
import { DusaStep, type DusaOutput } from "../../src/tta/dusa.ts";
import { Optimizer } from "../../src/tta/optimizer.ts";
import { expectClose, norm2 } from "../util/check.ts";
import { freshRng, normal, uniform } from "../util/random.ts";
import { cudaSuite } from "./harness.ts";

const lr = 1e-3;
const [B, H] = [8, 32];

type Weights = { task: Float32Array; vae: Float32Array; gen: Float32Array };
type Result = { out: DusaOutput & { logitsHost: Float32Array }; grads: Record<string, Float32Array>; before: Record<string, Float32Array>; after: Record<string, Float32Array>; tables: Record<string, ParamTable> };

function presets() {
  const [c, v, s] = ["convnext-tiny-fm", "vae-tiny-fm", "sit-tiny-fm"].map(loadPreset);
  if (c.family !== "convnext" || v.family !== "vae" || s.family !== "sit") throw new Error("tiny presets");
  return { c, v, s };
}

function step(ctx: Context, weights: Weights, xTask: Float32Array, xAux: Float32Array, seed: number): Result {
  const { c, v, s } = presets();
  const task = new ConvNeXt(ctx, c.config), vae = new AutoencoderKL(ctx, v.config, { encoder: true, decoder: false }), gen = new SiT(ctx, s.config);
  try {
    task.params.values.write(weights.task);
    vae.params.values.write(weights.vae);
    gen.params.values.write(weights.gen);
    task.params.train(trainAll);
    gen.params.train(trainAll);
    const dusa = new DusaStep(ctx, task, vae, gen, {
      family: "sit", topk: 4, randBudget: 2, temperature: 1, t: 0.25, loss: { mse: 1, normL2: 0.5, cosine: 0.25 }, accumulate: 1, adaptTask: true, adaptAux: true, seed,
    });
    const x = ctx.upload(xTask, [B, c.config.inChans, H, H], "data"), aux = ctx.upload(xAux, [B, v.config.inChannels, H, H], "data");
    const out = dusa.run(x, aux, B, H, H, H, 3);
    const result: Result = { out: { ...out, logitsHost: out.logits.readFloat() }, grads: {}, before: {}, after: {}, tables: { task: task.table, gen: gen.table } };
    for (const [name, model] of [["task", task], ["gen", gen]] as const) {
      result.grads[name] = model.params.grads!.readFloat();
      result.before[name] = model.params.values.readFloat();
      const opt = new Optimizer(model.params, { name: "adam", lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
      opt.update();
      result.after[name] = model.params.values.readFloat();
      opt.free();
    }
    dusa.free();
    x.free();
    aux.free();
    return result;
  } finally {
    for (const m of [task, vae, gen]) m.free();
  }
}

cudaSuite("cuda: a whole DUSA step", (pair) => {
  test("tiny models, adapt task all + aux: CUDA matches the CPU", () => {
    const rng = freshRng();
    const { c, v, s } = presets();
    // random weights on the host (the fixed sin-cos pos_embed kept), the same on both backends
    const probe = new SiT(pair.cpu, s.config), pos = probe.params.p("pos_embed").readFloat(), posEntry = probe.table.get("pos_embed");
    const sizes = { task: new ConvNeXt(pair.cpu, c.config), vae: new AutoencoderKL(pair.cpu, v.config, { encoder: true, decoder: false }) };
    const weights: Weights = { task: normal(rng, sizes.task.table.total, 0.05), vae: normal(rng, sizes.vae.table.total, 0.05), gen: normal(rng, probe.table.total, 0.02) };
    weights.gen.set(pos, posEntry.offset);
    for (const m of [probe, sizes.task, sizes.vae]) m.free();
    const xTask = normal(rng, B * c.config.inChans * H * H), xAux = uniform(rng, B * v.config.inChannels * H * H);
    const seed = Math.floor(rng.next() * 1000), where = `(seed ${rng.seed})`;

    const want = step(pair.cpu, weights, xTask, xAux, seed);
    const got = step(pair.gpu, weights, xTask, xAux, seed);

    expect(Array.from(got.out.selected)).toEqual(Array.from(want.out.selected));
    expectClose(`logits ${where}`, got.out.logitsHost, want.out.logitsHost, 1e-4);
    expectClose(`class weights ${where}`, got.out.weights, want.out.weights, 1e-4);
    ["total", "mse", "norm_l2", "cosine"].forEach((name, i) => expectClose(`loss term ${name} ${where}`, [got.out.terms[i]], [want.out.terms[i]], 1e-4));
    for (const model of ["task", "gen"]) {
      expectClose(`${model} gradients ${where}`, got.grads[model], want.grads[model], 1e-4);
      const gradScale = norm2(want.grads[model]);
      for (const e of want.tables[model].entries) {
        const slice = (a: Float32Array) => a.subarray(e.offset, e.offset + e.size);
        const [g, a, b0] = [slice(want.grads[model]), slice(got.after[model]), slice(want.before[model])];
        const w = slice(want.after[model]);
        // elements whose gradient is rounding noise (below 1e-7 of the model's gradient norm) may step ±lr either way
        const noise = (i: number) => Math.abs(g[i]) <= 1e-7 * gradScale;
        const keep: number[] = [];
        for (let i = 0; i < e.size; i++) {
          if (!noise(i)) keep.push(i);
          else if (!(Math.abs(a[i] - b0[i]) <= lr * 1.001)) throw new Error(`${model} ${e.name}[${i}]: a rounding-noise gradient moved it by ${a[i] - b0[i]} (> lr) ${where}`);
        }
        expectClose(`${model} ${e.name} after Adam ${where}`, keep.map((i) => a[i]), keep.map((i) => w[i]), 1e-4);
      }
    }
  });
});
