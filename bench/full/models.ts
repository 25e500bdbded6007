// The models of the full-size step bench from the presets (full: ConvNeXt-L, SD-VAE encoder, SiT-XL/2 or DiT-XL/2;
// tiny: the Fashion-MNIST presets, a DiT made from the tiny SiT), with random weights of the real shapes drawn on
// the device from fixed seeds, so every rebuild holds the same weights and bench/pytorch/step_full.py can load them.
import { join } from "node:path";
import { writeSafetensorsSync } from "../../src/io/checkpoint.ts";
import { loadWeights, type Family } from "../../src/models/load.ts";
import { ConvNeXt, convnextParamTable, type ConvNeXtConfig } from "../../src/models/convnext.ts";
import { loadPreset } from "../../src/models/presets.ts";
import { SiT, sitParamTable, type SiTConfig } from "../../src/models/sit.ts";
import { AutoencoderKL, vaeParamTable, type VAEConfig } from "../../src/models/vae.ts";
import type { Context } from "../../src/native/index.ts";
import type { Parameters, ParamTable } from "../../src/nn/params.ts";

export type Preset = "full" | "tiny";
export type Gen = "sit" | "dit";
export type Configs = { task: ConvNeXtConfig; vae: VAEConfig; sit: SiTConfig; dit: SiTConfig; taskSize: number; vaeSize: number };
export type Models = { task: ConvNeXt; vae: AutoencoderKL; gen: SiT };

export function configs(preset: Preset): Configs {
  const names = preset === "full" ? ["convnext-large", "sd-vae", "sit-xl-2", "dit-xl-2"] : ["convnext-tiny-fm", "vae-tiny-fm", "sit-tiny-fm", "sit-tiny-fm"];
  const [c, v, s, d] = names.map(loadPreset);
  if (c.family !== "convnext" || v.family !== "vae" || s.family !== "sit" || (d.family !== "sit" && d.family !== "dit")) throw new Error(`bench full: unexpected preset families for ${preset}`);
  const dit = { ...d.config, learnSigma: true, projector: undefined }; // tiny: the SiT's shapes with DiT's 8 outputs
  return { task: c.config, vae: v.config, sit: s.config, dit, taskSize: c.imageSize, vaeSize: v.imageSize };
}

/** Parameter tables only (nothing allocated): names, shapes and counts of the full models on any machine. */
export function tables(preset: Preset): Record<string, ParamTable> {
  const c = configs(preset);
  return { task: convnextParamTable(c.task), vae: vaeParamTable(c.vae, { encoder: true, decoder: false }), sit: sitParamTable(c.sit), dit: sitParamTable(c.dit) };
}

export type Which = "task" | "vae" | "sit" | "dit";
const SEEDS: Record<Which, number> = { task: 11, vae: 12, sit: 13, dit: 14 };
export const FILES: Record<Which, string> = { task: "convnext", vae: "vae", sit: "sit", dit: "dit" };
const FAMILIES: Record<Which, Family> = { task: "convnext", vae: "vae", sit: "sit", dit: "dit" };
let weightsDir: string | null = null;

/** Load every model's weights from DIR/<convnext|vae|sit|dit>.safetensors (step_full.py --save-weights) instead of drawing them. */
export function useWeightsFrom(dir: string | null): void {
  weightsDir = dir;
}

/** A model's weights: loaded (useWeightsFrom) or drawn by initWeights from the model's fixed seed. */
export function fillWeights(ctx: Context, params: Parameters, which: Which): void {
  if (weightsDir) loadWeights(params, join(weightsDir, `${FILES[which]}.safetensors`), FAMILIES[which]);
  else initWeights(ctx, params, SEEDS[which]);
}

/**
 * Weights by role, deterministic per (model, parameter): linear/conv weights N(0, 1/fan_in), biases N(0, 0.02), norm
 * affines 1 and 0, layer scales 0.1, label tables N(0, 0.02); pos_embed keeps its sin-cos values. Finite activations
 * at every depth, so no step is skipped for a non-finite loss.
 */
export function initWeights(ctx: Context, params: Parameters, seed: number): void {
  params.table.entries.forEach((e, i) => {
    const view = params.p(e.name);
    const normal = (std: number) => ctx.call("dusa_rng_normal", view, e.size, seed * 100_003 + i, 0, 0, std);
    if (e.name === "pos_embed") return;
    if (e.role === "norm") ctx.call("dusa_fill", view, e.name.endsWith(".weight") ? 1 : 0, e.size);
    else if (e.role === "scale") ctx.call("dusa_fill", view, 0.1, e.size);
    else if (e.role === "weight" || (e.role === "fixed" && e.shape.length === 2)) normal(1 / Math.sqrt(e.size / e.shape[0]));
    else normal(0.02); // bias, embedding, fixed projector biases
  });
}

export function buildModels(ctx: Context, preset: Preset, gen: Gen): Models {
  const c = configs(preset);
  const task = new ConvNeXt(ctx, c.task);
  const vae = new AutoencoderKL(ctx, c.vae, { encoder: true, decoder: false });
  const g = new SiT(ctx, gen === "sit" ? c.sit : c.dit);
  fillWeights(ctx, task.params, "task");
  fillWeights(ctx, vae.params, "vae");
  fillWeights(ctx, g.params, gen);
  return { task, vae, gen: g };
}

export function freeModels(m: Partial<Models>): void {
  for (const model of [m.task, m.vae, m.gen]) model?.free();
}

/** Writes a model's parameters as safetensors under their public names (what step_full.py --weights reads). */
export function saveParams(params: Parameters, path: string): void {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, data] of params.get()) tensors[name] = { shape: params.table.get(name).shape, data };
  writeSafetensorsSync(path, tensors);
}
