// Loading a checkpoint into a model: read (safetensors or a restricted torch pickle), unwrap ema/model/state_dict,
// rename to the model's public names (FB/mmpretrain ConvNeXt, old diffusers attention), match against the
// parameter table, and fail with the load report unless every difference is allowed by name.
import { loadCheckpoint, matchStateDict, renameConvNeXtKeys, renameVaeKeys, type KeyPattern, type LoadedCheckpoint, type LoadReport } from "../io/checkpoint.ts";
import type { Parameters } from "../nn/params.ts";

export type Family = "convnext" | "sit" | "dit" | "vae";
export type LoadWeightsOptions = { allowMissing?: KeyPattern[]; allowUnexpected?: KeyPattern[]; unwrap?: string[] | false };

const ADAPTERS = /\.lora_[AB]$/; // never in a checkpoint of the base model

export function loadWeights(params: Parameters, path: string, family: Family, options: LoadWeightsOptions = {}): { report: LoadReport; checkpoint: LoadedCheckpoint } {
  const checkpoint = loadCheckpoint(path, options.unwrap === undefined ? {} : { unwrap: options.unwrap });
  let tensors = checkpoint.tensors;
  if (family === "convnext") tensors = renameConvNeXtKeys(tensors);
  if (family === "vae") tensors = renameVaeKeys(tensors);
  const table = params.table;
  const expected = new Map(table.entries.map((e) => [e.name, e.shape] as [string, number[]]));
  const allowUnexpected = [...(options.allowUnexpected ?? [])];
  if (family === "vae") {
    // a model built with only the encoder (TTA) or only the decoder accepts the other half in the file
    if (!table.byName.has("post_quant_conv.weight")) allowUnexpected.push("decoder", "post_quant_conv");
    if (!table.byName.has("quant_conv.weight")) allowUnexpected.push("encoder", "quant_conv");
  }
  const report = matchStateDict(expected, tensors, { allowMissing: [ADAPTERS, ...(options.allowMissing ?? [])], allowUnexpected, file: path });
  params.set(report.loaded.map((name) => [name, tensors.get(name)!] as [string, { shape: number[]; data: ArrayLike<number> }]));
  return { report, checkpoint };
}

export function describeLoad(report: LoadReport, checkpoint: LoadedCheckpoint): string {
  const parts = [`${checkpoint.file}: loaded ${report.loaded.length} tensors`];
  if (checkpoint.unwrapped.length) parts.push(`from '${checkpoint.unwrapped.join(".")}'`);
  if (report.allowedMissing.length) parts.push(`${report.allowedMissing.length} allowed missing`);
  if (report.allowedUnexpected.length) parts.push(`${report.allowedUnexpected.length} allowed unexpected (${[...new Set(report.allowedUnexpected.map((n) => n.split(".")[0]))].join(", ")})`);
  return parts.join("; ");
}
