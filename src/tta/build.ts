// From a validated config to the models and the method: presets, weights (with load reports), the VAE's scaling
// factor from its checkpoint's metadata, LoRA adapters, optimizers.
import type { Config } from "../config/index.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { ConvNeXt } from "../models/convnext.ts";
import { describeLoad, loadWeights, type Family } from "../models/load.ts";
import { loadPreset } from "../models/presets.ts";
import { SiT } from "../models/sit.ts";
import { AutoencoderKL } from "../models/vae.ts";
import type { Context } from "../native/index.ts";
import { initLora } from "../nn/lora.ts";
import type { Parameters } from "../nn/params.ts";
import { DusaMethod, SourceMethod, TentMethod, type Method } from "./methods.ts";
import type { OptimizerConfig } from "./optimizer.ts";

export type Built = { task: ConvNeXt; source: ConvNeXt | null; vae: AutoencoderKL | null; gen: SiT | null; method: Method; notes: string[]; free: () => void };

function load(params: Parameters, path: string | null, family: Family, notes: string[], key: string): void {
  if (!path) throw new Error(`model.weights.${key}: a weights file is required`);
  const { report, checkpoint } = loadWeights(params, path, family);
  notes.push(describeLoad(report, checkpoint));
}

function convnext(ctx: Context, config: Config, withLora: boolean, notes: string[]): ConvNeXt {
  const preset = loadPreset(config.model.task);
  if (preset.family !== "convnext") throw new Error(`model.task: ${config.model.task} is a ${preset.family} preset, not a classifier`);
  const lora = withLora ? { rank: config.method.lora.rank, alpha: config.method.lora.alpha, patterns: config.method.lora.patterns } : undefined;
  const m = new ConvNeXt(ctx, preset.config, { lora });
  load(m.params, config.model.weights.task, "convnext", notes, "task");
  if (lora) initLora(m.params, m.loraLayers, config.seed);
  return m;
}

export function optimizerConfig(config: Config, lr: number): OptimizerConfig {
  const o = config.method.optimizer;
  if (o.name === "sgd") return { name: "sgd", lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weight_decay, nesterov: o.nesterov };
  return { name: o.name, lr, betas: [o.betas[0], o.betas[1]], eps: o.eps, weightDecay: o.weight_decay };
}

export function buildRun(ctx: Context, config: Config): Built {
  const notes: string[] = [];
  const m = config.method;
  const task = convnext(ctx, config, m.name !== "source" && m.adapt.task === "lora", notes);
  // the unadapted model, for the source accuracy on the same images
  const source = m.name === "source" ? null : convnext(ctx, config, false, []);
  let vae: AutoencoderKL | null = null, gen: SiT | null = null, method: Method;
  if (m.name === "source") method = new SourceMethod(ctx, task);
  else if (m.name === "tent") method = new TentMethod(ctx, task, optimizerConfig(config, m.lr), m.accumulate, m.grad_clip, config.graph);
  else {
    const vp = loadPreset(config.model.vae), gp = loadPreset(config.model.generative);
    if (vp.family !== "vae") throw new Error(`model.vae: ${config.model.vae} is not a VAE preset`);
    if (gp.family !== "sit" && gp.family !== "dit") throw new Error(`model.generative: ${config.model.generative} is not a SiT/DiT preset`);
    const vaePath = config.model.weights.vae;
    const scaling = vaePath ? Number(loadCheckpoint(vaePath).metadata.scaling_factor ?? vp.config.scalingFactor) : vp.config.scalingFactor;
    vae = new AutoencoderKL(ctx, { ...vp.config, scalingFactor: scaling }, { encoder: true, decoder: false });
    load(vae.params, vaePath, "vae", notes, "vae");
    notes.push(`vae scaling factor ${scaling}`);
    gen = new SiT(ctx, gp.config);
    load(gen.params, config.model.weights.generative, gp.family, notes, "generative");
    method = new DusaMethod(ctx, task, vae, gen, {
      settings: {
        family: m.family as "sit" | "dit", topk: m.topk, randBudget: m.rand_budget, temperature: m.temperature, t: m.t as number,
        loss: { mse: m.loss.mse, normL2: m.loss.norm_l2, cosine: m.loss.cosine }, accumulate: m.accumulate,
        adaptTask: m.adapt.task !== "none", adaptAux: m.adapt.aux, seed: config.seed,
      },
      adaptTask: m.adapt.task,
      taskOptimizer: optimizerConfig(config, m.lr),
      auxOptimizer: optimizerConfig(config, m.aux_lr ?? m.lr),
      gradClip: m.grad_clip,
      graph: config.graph,
    });
  }
  const free = () => {
    method.free();
    for (const model of [task, source, vae, gen]) model?.free();
  };
  return { task, source, vae, gen, method, notes, free };
}
