// Analytic FLOPs of one adaptation step per image, by phase (the phase names the methods time):
//   source: task fwd; tent: task fwd + norm-only task bwd;
//   dusa: task fwd + VAE encode + K × generative fwd (+ K × its bwd when aux adapts) + task bwd when the task adapts.
// Per-image counts do not depend on the micro-batch: every counted op scales with the images (src/models/flops.ts).
import type { ConvNeXtConfig } from "../models/convnext.ts";
import { backwardFlops, convnextOps, forwardFlops, sitOps, vaeEncoderOps } from "../models/flops.ts";
import type { SiTConfig } from "../models/sit.ts";
import type { VAEConfig } from "../models/vae.ts";
import type { AdaptMode } from "./methods.ts";

export type StepModels = { task: ConvNeXtConfig; taskSize: number; vae: VAEConfig; auxSize: number; gen: SiTConfig; K: number };
export type StepKind = { method: "source" } | { method: "tent" } | { method: "dusa"; adaptTask: AdaptMode; adaptAux: boolean };
export type StepFlops = { task_fwd: number; task_bwd: number; vae: number; gen_fwd: number; gen_bwd: number; total: number };

export function stepFlopsPerImage(m: StepModels, kind: StepKind): StepFlops {
  const task = convnextOps(m.task, m.taskSize, m.taskSize);
  const f: StepFlops = { task_fwd: forwardFlops(task), task_bwd: 0, vae: 0, gen_fwd: 0, gen_bwd: 0, total: 0 };
  if (kind.method === "tent") f.task_bwd = backwardFlops(task, false);
  if (kind.method === "dusa") {
    if (kind.adaptTask === "lora") throw new Error("flops: low-rank adapters are not counted");
    if (kind.adaptTask !== "none") f.task_bwd = backwardFlops(task, kind.adaptTask === "all");
    f.vae = forwardFlops(vaeEncoderOps(m.vae, m.auxSize, m.auxSize));
    const gen = sitOps(m.gen);
    f.gen_fwd = m.K * forwardFlops(gen);
    if (kind.adaptAux) f.gen_bwd = m.K * backwardFlops(gen, true);
  }
  f.total = f.task_fwd + f.task_bwd + f.vae + f.gen_fwd + f.gen_bwd;
  return f;
}
