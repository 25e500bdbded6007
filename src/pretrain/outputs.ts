// What a pretraining run leaves in its output folder (default weights/):
//   <model>.safetensors   the trained weights (F16 by default) with __metadata__: the preset, the training config,
//                         the training history and the metrics as JSON strings (+ scaling_factor for the VAE)
//   <model>.json          the same config, history and metrics, readable
//   .checkpoints/<model>/ the training state (state.safetensors) and caches (the SiT's latents)
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, writeSafetensorsSync, type TensorToWrite } from "../io/safetensors.ts";
import type { ParamTable } from "../nn/params.ts";
import { writeFileAtomic } from "../report/atomic-write.ts";
import type { EpochRecord } from "./checkpoint.ts";
import type { ModelName, PretrainConfig } from "./config.ts";

export const WEIGHTS_FORMAT = "dusa-pretrained/1";

export const weightsFile = (out: string, model: ModelName): string => join(out, `${model}.safetensors`);
export const reportFile = (out: string, model: ModelName): string => join(out, `${model}.json`);
export const checkpointDir = (out: string, model: ModelName): string => join(out, ".checkpoints", model);
export const stateFile = (out: string, model: ModelName): string => join(checkpointDir(out, model), "state.safetensors");

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export type TrainingSummary = { epochs: EpochRecord[]; seconds: number; imagesPerSec: number };

export function summarise(history: EpochRecord[]): TrainingSummary {
  const seconds = history.reduce((s, r) => s + r.seconds, 0), images = history.reduce((s, r) => s + r.imagesPerSec * r.seconds, 0);
  return { epochs: history, seconds, imagesPerSec: seconds > 0 ? images / seconds : 0 };
}

export type PretrainReport = {
  model: ModelName;
  preset: string;
  weights: string;
  created: string;
  config: Partial<PretrainConfig>;
  training: TrainingSummary | null;
  metrics: Record<string, unknown>;
};

/** Writes every parameter of a table from `values` (by name) as `dtype`, with the run's metadata. */
export function writeWeights(file: string, table: ParamTable, values: Map<string, Float32Array>, dtype: "F16" | "F32", metadata: Record<string, string>): void {
  const tensors = new Map<string, TensorToWrite>();
  for (const e of table.entries) {
    const data = values.get(e.name);
    if (!data) throw new Error(`${file}: no values for ${e.name}`);
    tensors.set(e.name, { shape: e.shape, data, dtype });
  }
  writeSafetensorsSync(file, tensors, { format: WEIGHTS_FORMAT, ...metadata });
}

/** Rewrites a weights file with more metadata (tensors unchanged: F16 → F32 → F16 is exact). */
export function addMetadata(file: string, extra: Record<string, string>): void {
  const { tensors, metadata } = readSafetensors(file);
  const copy = new Map<string, TensorToWrite>([...tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data.slice(), dtype: t.dtype }]));
  writeSafetensorsSync(file, copy, { ...metadata, ...extra });
}

export function readWeightsMetadata(file: string): Record<string, string> {
  const { metadata } = readSafetensors(file);
  if (metadata.format !== WEIGHTS_FORMAT) throw new Error(`${file}: not written by bun run pretrain (format '${metadata.format ?? "none"}', expected '${WEIGHTS_FORMAT}')`);
  return metadata;
}

export function writeReport(file: string, report: PretrainReport): void {
  writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
}
