// Our side of the full-size step bench: the DUSA step per variant — images/s, phases synced on the device, peak bytes
// per tag, model FLOPs (src/tta/flops.ts) and MFU. alone.ts measures the pieces: each model, attention, the GEMM ceiling.
import type { Context, MemoryStats } from "../../src/native/index.ts";
import { stepFlopsPerImage, type StepModels } from "../../src/tta/flops.ts";
import { DusaMethod, type MicroBatch } from "../../src/tta/methods.ts";
import { buildModels, configs, freeModels, type Gen, type Models, type Preset } from "./models.ts";

export const TOPK = 4, RAND = 2, K = TOPK + RAND;
export type VariantSpec = { id: string; label: string; gen: Gen; adaptTask: "all" | "norm"; adaptAux: boolean };
/** The variants: official (all, aux) with SiT and with DiT, norm-only, frozen aux. Labels shared with step_full.py. */
export const VARIANTS: VariantSpec[] = [
  { id: "sit-all-aux", label: "SiT (all, aux)", gen: "sit", adaptTask: "all", adaptAux: true },
  { id: "sit-norm-aux", label: "SiT (norm, aux)", gen: "sit", adaptTask: "norm", adaptAux: true },
  { id: "sit-all-frozen", label: "SiT (all, frozen aux)", gen: "sit", adaptTask: "all", adaptAux: false },
  { id: "dit-all-aux", label: "DiT (all, aux)", gen: "dit", adaptTask: "all", adaptAux: true },
];

const adam = { name: "adam" as const, lr: 1e-5, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };

/** The step's models for src/tta/flops.ts (the project's analytic FLOP counter). */
export function stepModels(preset: Preset, gen: Gen): StepModels {
  const c = configs(preset);
  return { task: c.task, taskSize: c.taskSize, vae: c.vae, auxSize: c.vaeSize, gen: gen === "sit" ? c.sit : c.dit, K };
}

/** Model FLOPs of one micro-batch of B images of a variant (no recomputation counted). */
export function stepFlops(preset: Preset, v: VariantSpec, B: number): number {
  return B * stepFlopsPerImage(stepModels(preset, v.gen), { method: "dusa", adaptTask: v.adaptTask, adaptAux: v.adaptAux }).total;
}

export function makeMethod(ctx: Context, m: Models, v: VariantSpec, graph: "off" | "on" = "off"): DusaMethod {
  return new DusaMethod(ctx, m.task, m.vae, m.gen, {
    settings: { family: v.gen, topk: TOPK, randBudget: RAND, temperature: 1, t: v.gen === "sit" ? 0.25 : 100, loss: { mse: 1, normL2: 0, cosine: 0 }, accumulate: 1, adaptTask: true, adaptAux: v.adaptAux, seed: 0 },
    adaptTask: v.adaptTask, taskOptimizer: adam, auxOptimizer: adam, graph,
  });
}

/** Fresh random inputs every step: task images N(0, 1), VAE images U(-1, 1), drawn on the device. */
export function makeBatch(ctx: Context, preset: Preset, B: number): { batch: MicroBatch; fresh: (i: number) => void; free: () => void } {
  const c = configs(preset);
  const x = ctx.alloc([B, c.task.inChans, c.taskSize, c.taskSize], "data"), aux = ctx.alloc([B, c.vae.inChannels, c.vaeSize, c.vaeSize], "data");
  // bf16 storage: the fp32 draws cast on the device into the tensors the step reads
  const bf16 = ctx.storage === "bf16";
  const xs = bf16 ? ctx.alloc(x.shape, "data", "bf16") : x, auxs = bf16 ? ctx.alloc(aux.shape, "data", "bf16") : aux;
  const fresh = (i: number) => {
    ctx.call("dusa_rng_normal", x, x.size, 100 + i, 0, 0, 1);
    ctx.call("dusa_rng_uniform", aux, aux.size, 200 + i, 0, -1, 1);
    if (bf16) {
      ctx.call("dusa_f32_to_bf16", xs, x, x.size);
      ctx.call("dusa_f32_to_bf16", auxs, aux, aux.size);
    }
  };
  fresh(0);
  const tensors = bf16 ? [x, aux, xs, auxs] : [x, aux];
  return { batch: { task: xs, aux: auxs, B, H: c.taskSize, W: c.taskSize, auxSize: c.vaeSize }, fresh, free: () => tensors.forEach((t) => t.free()) };
}

/** Ends every model call with a device sync, so the step's phase laps (host clocks) hold the device time of each phase. */
function syncPhases(ctx: Context, m: Models): void {
  const wrap = <T extends object>(o: T, name: keyof T) => {
    const f = (o[name] as (...a: unknown[]) => unknown).bind(o);
    (o as Record<string, unknown>)[name as string] = (...a: unknown[]) => {
      const out = f(...a);
      ctx.sync();
      return out;
    };
  };
  wrap(m.task, "forward");
  wrap(m.task, "backward");
  wrap(m.vae, "encodeMean");
  wrap(m.gen, "forward");
  wrap(m.gen, "backward");
}

export type PeakBytes = Record<string, number>;
export function peaks(mem: MemoryStats): PeakBytes {
  const out: PeakBytes = {};
  for (const [tag, s] of Object.entries(mem)) out[tag] = s.peak;
  out.total = Object.values(mem).reduce((a, s) => a + s.peak, 0);
  return out;
}

export type VariantResult = {
  id: string; label: string; graph: boolean; B: number; steps: number; img_s: number; ms_step: number; ms_mean: number; phases: Record<string, number>;
  peak_bytes: PeakBytes; snapshot_bytes: number; flops_step: number; tflops: number; mfu: number | null; loss: number | null;
};

/**
 * One variant: fresh models (the same weights every time), 2 warm-up steps, then `steps` timed micro-batches.
 * graph: the step recorded once (on the second warm-up step) and replayed; its phases are not separable then.
 */
export function measureVariant(ctx: Context, preset: Preset, v: VariantSpec, B: number, steps: number, ceilingTflops: number | null, graph = false): VariantResult {
  const models = buildModels(ctx, preset, v.gen);
  const method = makeMethod(ctx, models, v, graph ? "on" : "off");
  if (!graph) syncPhases(ctx, models);
  const { batch, fresh, free } = makeBatch(ctx, preset, B);
  let loss: number | null = null;
  try {
    method.step(batch, 0);
    method.step(batch, 1);
    method.takePhases();
    ctx.sync();
    ctx.resetPeak();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      fresh(i + 2);
      ctx.sync();
      const t0 = performance.now();
      loss = method.step(batch, i + 2).loss;
      ctx.sync();
      times.push(performance.now() - t0);
    }
    const mean = times.reduce((a, b) => a + b, 0) / steps;
    const median = [...times].sort((a, b) => a - b)[Math.floor(steps / 2)];
    const phases: Record<string, number> = {};
    let synced = 0;
    for (const [p, ms] of Object.entries(method.takePhases())) {
      if (p === "optimizer") continue; // launched, not synced: inside update+other below
      phases[p] = ms / steps;
      synced += ms / steps;
    }
    if (!graph) phases["update+other"] = Math.max(0, mean - synced);
    const flops = stepFlops(preset, v, B);
    const trained = models.task.table.total + (v.adaptAux ? models.gen.table.total : 0);
    const tflops = (flops * (1000 / median)) / 1e12;
    return {
      id: v.id, label: graph ? `${v.label} [graph]` : v.label, graph, B, steps, img_s: (1000 * B) / median, ms_step: median, ms_mean: mean, phases, peak_bytes: peaks(ctx.memory()),
      snapshot_bytes: 3 * 4 * trained, flops_step: flops, tflops, mfu: ceilingTflops ? tflops / ceilingTflops : null, loss,
    };
  } finally {
    method.free();
    free();
    freeModels(models);
  }
}
