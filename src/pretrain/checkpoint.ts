// The training state of a pretraining run in one safetensors file, written atomically (temporary file, then
// rename): the flat parameter block, the optimizer's m, v and step, the EMA shadow, where the run stands
// (epoch, batch, step: every random stream of a run is keyed by these and the seed, so they are also its RNG
// position), the loss history and the config. Resuming from it continues bit for bit as if never interrupted.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readSafetensors, writeSafetensorsSync, type TensorToWrite } from "../io/safetensors.ts";
import { formatShape } from "../native/index.ts";
import type { Parameters } from "../nn/params.ts";
import type { Optimizer } from "../tta/optimizer.ts";
import type { PretrainConfig } from "./config.ts";
import type { Ema } from "./ema.ts";

export const STATE_FORMAT = "dusa-pretrain-state/1";

/** The next batch to run: batch `batch` of epoch `epoch`, global step `step`. epoch == epochs: training is done. */
export type TrainingPosition = { epoch: number; batch: number; step: number };
export type EpochRecord = { epoch: number; loss: number; imagesPerSec: number; seconds: number };
/** The part of the current epoch already run (its mean loss and speed survive an interruption). */
export type RunningEpoch = { lossSum: number; batches: number; images: number; seconds: number };
export type TrainingState = { position: TrainingPosition; history: EpochRecord[]; running: RunningEpoch; config: PretrainConfig };
export type TrainedParts = { params: Parameters; optimizer: Optimizer; ema: Ema | null };

export const emptyRunning = (): RunningEpoch => ({ lossSum: 0, batches: 0, images: 0, seconds: 0 });

/** Names and shapes of a parameter table, hashed: a checkpoint only loads into the layout it was saved from. */
export function layoutFingerprint(params: Parameters): string {
  const text = params.table.entries.map((e) => `${e.name}${formatShape(e.shape)}`).join(";");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

export function saveTrainingState(file: string, parts: TrainedParts, state: TrainingState): void {
  const { params, optimizer, ema } = parts;
  const n = params.table.total;
  const tensors = new Map<string, TensorToWrite>([["params", { shape: [n], data: params.values.readFloat() }]]);
  const opt = optimizer.state();
  if (opt.m) tensors.set("optimizer.m", { shape: [opt.m.length], data: opt.m }); // the trainable ranges, packed
  if (opt.v) tensors.set("optimizer.v", { shape: [opt.v.length], data: opt.v });
  const averaged = ema?.state();
  if (averaged) tensors.set("ema.shadow", { shape: [n], data: averaged.shadow });
  writeSafetensorsSync(file, tensors, {
    format: STATE_FORMAT,
    model: state.config.model,
    layout: layoutFingerprint(params),
    optimizer_step: optimizer.step,
    ema_updates: averaged?.updates ?? 0,
    position: JSON.stringify(state.position),
    history: JSON.stringify(state.history),
    running: JSON.stringify(state.running),
    config: JSON.stringify(state.config),
  });
}

function json<T>(file: string, metadata: Record<string, string>, key: string): T {
  const text = metadata[key];
  if (text === undefined) throw new Error(`${file}: __metadata__ has no '${key}'`);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file}: __metadata__ '${key}' is not valid JSON (${(e as Error).message})`);
  }
}

/** The state stored in a checkpoint, without touching any model (to compare configs before building one). */
export function peekTrainingState(file: string): TrainingState {
  if (!existsSync(file)) throw new Error(`${file}: no checkpoint there`);
  const { metadata } = readSafetensors(file);
  if (metadata.format !== STATE_FORMAT) throw new Error(`${file}: not a pretraining checkpoint (format '${metadata.format ?? "none"}', expected '${STATE_FORMAT}')`);
  return {
    position: json(file, metadata, "position"),
    history: json(file, metadata, "history"),
    running: json(file, metadata, "running"),
    config: json(file, metadata, "config"),
  };
}

/** Restores parameters, optimizer and EMA from a checkpoint; returns where the run stands. */
export function loadTrainingState(file: string, parts: TrainedParts): TrainingState {
  const state = peekTrainingState(file);
  const { tensors, metadata } = readSafetensors(file);
  const { params, optimizer, ema } = parts;
  if (metadata.layout !== layoutFingerprint(params))
    throw new Error(`${file}: its parameters (layout ${metadata.layout}) do not match the ${state.config.preset} model being trained (layout ${layoutFingerprint(params)})`);
  const n = params.table.total;
  // the optimizer's state is packed over the trainable parameters (older files hold the whole table: load takes both)
  const tensor = (key: string, sizes = [n]) => {
    const t = tensors.get(key);
    if (!t) throw new Error(`${file}: no tensor '${key}'`);
    if (t.dtype !== "F32" || t.shape.length !== 1 || !sizes.includes(t.shape[0]))
      throw new Error(`${file}: '${key}' must be F32 ${sizes.map((s) => `[${s}]`).join(" or ")}, got ${t.dtype} ${formatShape(t.shape)}`);
    return t.data;
  };
  const optimizerState = (key: string) => (tensors.has(key) ? tensor(key, [optimizer.trainableCount, n]) : null);
  params.values.write(tensor("params"));
  params.zeroGrads();
  optimizer.load({ step: Number(metadata.optimizer_step), m: optimizerState("optimizer.m"), v: optimizerState("optimizer.v") });
  if (ema) {
    if (!tensors.has("ema.shadow")) throw new Error(`${file}: no 'ema.shadow' (the run being resumed keeps an EMA)`);
    ema.load({ shadow: tensor("ema.shadow"), updates: Number(metadata.ema_updates) });
  }
  return state;
}
