// Model presets by name: configs/model/<name>.yaml, validated (errors name the file and the key), mapped to the
// model classes' configs.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import * as v from "valibot";
import { parse } from "yaml";
import type { ConvNeXtConfig } from "./convnext.ts";
import type { SiTConfig } from "./sit.ts";
import type { VAEConfig } from "./vae.ts";

export const presetDir = join(import.meta.dir, "..", "..", "configs", "model");

const positive = v.pipe(v.number(), v.integer(), v.minValue(1));
const positiveList = v.pipe(v.array(positive), v.minLength(1));

const ConvNeXtSchema = v.strictObject({
  family: v.literal("convnext"),
  in_chans: positive,
  num_classes: positive,
  depths: positiveList,
  dims: positiveList,
  stem_patch: positive,
  image_size: positive,
});

const SiTSchema = v.strictObject({
  family: v.picklist(["sit", "dit"]),
  input_size: positive,
  patch_size: positive,
  in_channels: positive,
  hidden: positive,
  depth: positive,
  heads: positive,
  mlp_ratio: v.pipe(v.number(), v.minValue(1)),
  num_classes: positive,
  projector: v.optional(v.strictObject({ z_dims: positiveList, encoder_depth: positive, dim: positive })),
});

const VaeSchema = v.strictObject({
  family: v.literal("vae"),
  in_channels: positive,
  out_channels: positive,
  latent_channels: positive,
  block_out: positiveList,
  layers_per_block: positive,
  groups: positive,
  scaling_factor: v.pipe(v.number(), v.gtValue(0)),
  image_size: positive,
});

const PresetSchema = v.variant("family", [ConvNeXtSchema, SiTSchema, VaeSchema]);

export type ModelPreset =
  | { name: string; family: "convnext"; config: ConvNeXtConfig; imageSize: number }
  | { name: string; family: "sit" | "dit"; config: SiTConfig }
  | { name: string; family: "vae"; config: VAEConfig; imageSize: number };

export function presetNames(): string[] {
  return readdirSync(presetDir).filter((f) => f.endsWith(".yaml")).map((f) => basename(f, ".yaml")).sort();
}

function issuePath(issue: v.BaseIssue<unknown>): string {
  return (issue.path ?? []).map((p) => String(p.key)).join(".") || "(root)";
}

/** Validates a parsed preset; `source` names the file in errors. */
export function parsePreset(name: string, raw: unknown, source: string): ModelPreset {
  const result = v.safeParse(PresetSchema, raw);
  if (!result.success) {
    const problems = result.issues.map((i) => `${issuePath(i)}: ${i.message}`).join("; ");
    throw new Error(`${source}: invalid model preset: ${problems}`);
  }
  const p = result.output;
  if (p.family === "convnext") {
    if (p.depths.length !== p.dims.length) throw new Error(`${source}: depths and dims must have the same length`);
    return { name, family: "convnext", imageSize: p.image_size, config: { inChans: p.in_chans, numClasses: p.num_classes, depths: p.depths, dims: p.dims, stemPatch: p.stem_patch } };
  }
  if (p.family === "vae") {
    if (p.block_out.some((c) => c % p.groups)) throw new Error(`${source}: every block_out width must be divisible by groups (${p.groups})`);
    const config: VAEConfig = {
      inChannels: p.in_channels, outChannels: p.out_channels, latentChannels: p.latent_channels, blockOut: p.block_out,
      layersPerBlock: p.layers_per_block, groups: p.groups, scalingFactor: p.scaling_factor,
    };
    return { name, family: "vae", imageSize: p.image_size, config };
  }
  if (p.hidden % p.heads) throw new Error(`${source}: hidden (${p.hidden}) must be divisible by heads (${p.heads})`);
  const config: SiTConfig = {
    inputSize: p.input_size, patchSize: p.patch_size, inChannels: p.in_channels, hidden: p.hidden, depth: p.depth, heads: p.heads,
    mlpRatio: p.mlp_ratio, numClasses: p.num_classes, learnSigma: p.family === "dit",
    projector: p.projector && { zDims: p.projector.z_dims, encoderDepth: p.projector.encoder_depth, dim: p.projector.dim },
  };
  return { name, family: p.family, config };
}

/** A preset by name (configs/model/<name>.yaml) or by the path of a YAML file. */
export function loadPreset(name: string): ModelPreset {
  const isPath = name.endsWith(".yaml") || name.endsWith(".yml") || name.includes("/");
  const file = isPath ? name : join(presetDir, `${name}.yaml`);
  if (isPath) name = basename(name).replace(/\.ya?ml$/, "");
  if (!existsSync(file)) throw new Error(`unknown model preset '${name}' (no ${file}); presets: ${presetNames().join(", ")}`);
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not valid YAML (${(e as Error).message})`);
  }
  return parsePreset(name, raw, file);
}
