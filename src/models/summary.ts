// Model summary: parameters per component, trainable parameters per adaptation mode, activation bytes per
// image — computed from the parameter table and the activation layout, without allocating the model.
import type { Arena } from "../nn/arena.ts";
import { trainAll, trainNorm, type ParamTable } from "../nn/params.ts";
import { convnextLayout, convnextParamTable } from "./convnext.ts";
import type { ModelPreset } from "./presets.ts";
import { sitLayout, sitParamTable } from "./sit.ts";

export type ModelSummary = {
  preset: string;
  components: { name: string; params: number }[];
  total: number;
  trainable: Record<"all" | "norm" | "none", number>;
  activationBytesPerImage: { training: number; inference?: number };
  perSample: boolean;
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

export function summarize(preset: ModelPreset): ModelSummary {
  let table: ParamTable;
  let activationBytesPerImage: ModelSummary["activationBytesPerImage"];
  if (preset.family === "convnext") {
    table = convnextParamTable(preset.config);
    const s = preset.imageSize;
    activationBytesPerImage = { training: perImage((b) => convnextLayout(preset.config, b, s, s).arena) };
  } else if (preset.family === "sit" || preset.family === "dit") {
    table = sitParamTable(preset.config);
    activationBytesPerImage = { training: perImage((n) => sitLayout(preset.config, n, true)), inference: perImage((n) => sitLayout(preset.config, n, false)) };
  } else {
    throw new Error(`summary: the ${preset.family} family has no summary yet`);
  }
  return {
    preset: preset.name,
    components: components(table),
    total: table.total,
    trainable: { all: table.count(trainAll), norm: table.count(trainNorm), none: 0 },
    activationBytesPerImage,
    perSample: preset.family === "sit" || preset.family === "dit",
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
    `activations per ${s.perSample ? "sample (DUSA runs K per image)" : "image"}: training ${mib(s.activationBytesPerImage.training)}` +
      (s.activationBytesPerImage.inference !== undefined ? `, forward-only ${mib(s.activationBytesPerImage.inference)}` : ""),
  ].join("\n");
}
