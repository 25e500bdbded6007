// Key renaming from other implementations' names to the ones our models use (timm ConvNeXt, diffusers VAE).
// Renames never change tensors; two keys landing on one name is an error.
import { CheckpointError } from "./checkpoint-error.ts";

export function renameKeys<T>(tensors: Map<string, T>, rename: (name: string) => string, step = "rename"): Map<string, T> {
  const out = new Map<string, T>(), from = new Map<string, string>();
  for (const [name, tensor] of tensors) {
    const renamed = rename(name);
    if (out.has(renamed)) throw new CheckpointError(step, `keys '${from.get(renamed)}' and '${name}' both become '${renamed}'`);
    out.set(renamed, tensor);
    from.set(renamed, name);
  }
  return out;
}

export type ConvNeXtNaming = "timm" | "fb" | "mmpretrain";

export function detectConvNeXtNaming(names: Iterable<string>): ConvNeXtNaming {
  let fb = false;
  for (const name of names) {
    if (/^backbone\.(downsample_layers|stages)\./.test(name)) return "mmpretrain";
    if (/^downsample_layers\.\d+\.\d+\./.test(name) || /^stages\.\d+\.\d+\./.test(name)) fb = true;
  }
  return fb ? "fb" : "timm";
}

// timm.models.convnext.checkpoint_filter_fn for the original facebookresearch/ConvNeXt names (linear MLP blocks).
export function convNeXtNameFromFb(name: string): string {
  let k = name.replaceAll("downsample_layers.0.", "stem.");
  k = k.replace(/stages\.(\d+)\.(\d+)/g, "stages.$1.blocks.$2");
  k = k.replace(/downsample_layers\.(\d+)\.(\d+)/g, "stages.$1.downsample.$2");
  k = k.replaceAll("dwconv", "conv_dw").replaceAll("pwconv", "mlp.fc").replaceAll("head.", "head.fc.");
  if (k.startsWith("norm.")) k = `head.${k}`;
  return k;
}

// mmpretrain ConvNeXt (backbone.* + LinearClsHead head.fc.*): backbone names are the FB ones with
// depthwise_conv / pointwise_conv{1,2} and the final norm as norm3.
export function convNeXtNameFromMmpretrain(name: string): string {
  if (!name.startsWith("backbone.")) return name; // head.fc.* already matches timm
  let k = name.slice("backbone.".length).replaceAll("depthwise_conv", "dwconv").replaceAll("pointwise_conv", "pwconv");
  if (k.startsWith("norm3.")) k = `norm.${k.slice("norm3.".length)}`;
  return convNeXtNameFromFb(k);
}

// FB-original or mmpretrain ConvNeXt names -> timm names; timm names pass through unchanged.
export function renameConvNeXtKeys<T>(tensors: Map<string, T>): Map<string, T> {
  const naming = detectConvNeXtNaming(tensors.keys());
  if (naming === "timm") return tensors;
  return renameKeys(tensors, naming === "fb" ? convNeXtNameFromFb : convNeXtNameFromMmpretrain, `renameConvNeXtKeys (${naming} names)`);
}

const vaeAttentionNames: Record<string, string> = { query: "to_q", key: "to_k", value: "to_v", proj_attn: "to_out.0" };

// diffusers AutoencoderKL attention: the old query/key/value/proj_attn -> to_q/to_k/to_v/to_out.0 (current names).
export const vaeNameFromOld = (name: string): string =>
  name.replace(/(\.attentions\.\d+\.)(query|key|value|proj_attn)\.(weight|bias)$/, (_, head: string, old: string, kind: string) => `${head}${vaeAttentionNames[old]}.${kind}`);

export function renameVaeKeys<T>(tensors: Map<string, T>): Map<string, T> {
  return renameKeys(tensors, vaeNameFromOld, "renameVaeKeys");
}
