// Model summary: parameters per component, trainable parameters per adaptation mode, activation bytes per
// image — computed from the parameter table and the activation layout, without allocating the model.
import type { Arena } from "../nn/arena.ts";
import { trainAll, trainNorm, type ParamTable } from "../nn/params.ts";
import { convnextLayout, convnextParamTable } from "./convnext.ts";
import type { ModelPreset } from "./presets.ts";
import { sitLayout, sitParamTable } from "./sit.ts";
import { AutoencoderKL, vaeParamTable } from "./vae.ts";
import type { Context } from "../native/index.ts";

export type ModelSummary = {
  preset: string;
  components: { name: string; params: number }[];
  total: number;
  trainable: Record<"all" | "norm" | "none", number>;
  activationBytesPerImage: { training: number; inference?: number };
  perSample: boolean;
  encoderOnly: boolean;
};

/** Components are the leading name segments (stages.N and blocks.N grouped as stages / blocks). */
function components(table: ParamTable): { name: string; params: number }[] {
  const groups = new Map<string, number>();
  for (const e of table.entries) {
    const [head, second] = e.name.split(".");
    const key = head === "stages" ? `stages.${second}` : head === "encoder" || head === "decoder" ? `${head}.${second}` : head;
    groups.set(key, (groups.get(key) ?? 0) + e.size);
  }
  return [...groups].map(([name, params]) => ({ name, params }));
}

/** Activation bytes per image: the layout's growth from batch 1 to batch 2 (fixed buffers cancel out). */
function perImage(layout: (batch: number) => Arena): number {
  return layout(2).bytes - layout(1).bytes;
}

/** The VAE plans its activations on an instance: build the encoder (parameters allocated, 137 MB for SD-VAE),
 * plan it forward-only and for training at batch 1 and 2. Needs a context. */
function vaeActivations(ctx: Context, preset: Extract<ModelPreset, { family: "vae" }>): { training: number; inference: number } {
  const m = new AutoencoderKL(ctx, preset.config, { encoder: true, decoder: false });
  const s = preset.imageSize;
  const bytes = (b: number, training: boolean) => {
    m.planEncoder(b, s, s, training);
    return m.activationBytes;
  };
  const result = { training: bytes(2, true) - bytes(1, true), inference: bytes(2, false) - bytes(1, false) };
  m.free();
  return result;
}

export function summarize(preset: ModelPreset, ctx?: Context): ModelSummary {
  let table: ParamTable;
  let activationBytesPerImage: ModelSummary["activationBytesPerImage"];
  if (preset.family === "convnext") {
    table = convnextParamTable(preset.config);
    const s = preset.imageSize;
    activationBytesPerImage = { training: perImage((b) => convnextLayout(preset.config, b, s, s).arena) };
  } else if (preset.family === "sit" || preset.family === "dit") {
    table = sitParamTable(preset.config);
    activationBytesPerImage = { training: perImage((n) => sitLayout(preset.config, n, true)), inference: perImage((n) => sitLayout(preset.config, n, false)) };
  } else if (preset.family === "vae") {
    table = vaeParamTable(preset.config);
    if (!ctx) throw new Error("summary: the VAE summary needs a native context");
    activationBytesPerImage = vaeActivations(ctx, preset);
  } else {
    throw new Error(`summary: unknown family of ${(preset as ModelPreset).name}`);
  }
  return {
    preset: preset.name,
    components: components(table),
    total: table.total,
    trainable: { all: table.count(trainAll), norm: table.count(trainNorm), none: 0 },
    activationBytesPerImage,
    perSample: preset.family === "sit" || preset.family === "dit",
    encoderOnly: preset.family === "vae",
  };
}

export function formatSummary(s: ModelSummary): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  const width = Math.max(...s.components.map((c) => c.name.length), 10);
  return [
    `${s.preset}: ${n(s.total)} parameters (${mib(s.total * 4)} fp32)`,
    ...s.components.map((c) => `  ${c.name.padEnd(width)}  ${n(c.params).padStart(14)}`),
    `trainable: all ${n(s.trainable.all)}, norm-only ${n(s.trainable.norm)}, none 0`,
    `activations per ${s.perSample ? "sample (DUSA runs K per image)" : "image"}${s.encoderOnly ? " (encoder)" : ""}: training ${mib(s.activationBytesPerImage.training)}` +
      (s.activationBytesPerImage.inference !== undefined ? `, forward-only ${mib(s.activationBytesPerImage.inference)}` : ""),
  ].join("\n");
}
