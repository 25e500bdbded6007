// bun bench step: the adaptation step of each method on the tiny models (random weights, real shapes):
// images/s (median of >= 10 timed micro-batches after warm-up, fresh inputs each step), time per phase, FLOPs per
// image from the analytic count (src/tta/flops.ts) and the GFLOP/s they imply — source, tent, and dusa with
// (adapt.task, adapt.aux) = (all, true), (norm, true), (all, false). Each variant runs in its own process
// (step-one.ts), so its peak RSS and peak bytes per tag are its own; `bun bench memory` reports those.
import type { Context, Tag } from "../src/native/index.ts";
import { ConvNeXt } from "../src/models/convnext.ts";
import { loadPreset } from "../src/models/presets.ts";
import { SiT } from "../src/models/sit.ts";
import { AutoencoderKL } from "../src/models/vae.ts";
import { stepFlopsPerImage, type StepKind, type StepModels } from "../src/tta/flops.ts";
import { DusaMethod, SourceMethod, TentMethod, type AdaptMode, type Method, type MicroBatch } from "../src/tta/methods.ts";
import type { Row } from "./table.ts";

const adam = { name: "adam" as const, lr: 1e-4, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };
type Variant = { label: string; pytorch: string; kind: StepKind; make: (ctx: Context, m: Models) => Method };
type Models = { task: ConvNeXt; vae: AutoencoderKL; gen: SiT };
const tinyPresets = ["convnext-tiny-fm", "vae-tiny-fm", "sit-tiny-fm"] as const;
const K = 6, SIZE = 32;

const dusa = (adaptTask: AdaptMode, adaptAux: boolean, pytorch: string): Variant => ({
  label: `dusa (${adaptTask}, aux ${adaptAux})`, pytorch, kind: { method: "dusa", adaptTask, adaptAux },
  make: (ctx, m) => new DusaMethod(ctx, m.task, m.vae, m.gen, {
    settings: { family: "sit", topk: 4, randBudget: K - 4, temperature: 1, t: 0.25, loss: { mse: 1, normL2: 0, cosine: 0 }, accumulate: 1, adaptTask: true, adaptAux, seed: 0 },
    adaptTask, taskOptimizer: adam, auxOptimizer: adam,
  }),
});

export const variants: Variant[] = [
  { label: "source", pytorch: "source", kind: { method: "source" }, make: (ctx, m) => new SourceMethod(ctx, m.task) },
  { label: "tent", pytorch: "tent", kind: { method: "tent" }, make: (ctx, m) => new TentMethod(ctx, m.task, adam, 1) },
  dusa("all", true, "dusa-all-aux"),
  dusa("norm", true, "dusa-norm-aux"),
  dusa("all", false, "dusa-all-frozen"),
];

function tinyPresetConfigs() {
  const [c, v, s] = tinyPresets.map(loadPreset);
  if (c.family !== "convnext" || v.family !== "vae" || s.family !== "sit") throw new Error("tiny presets");
  return { task: c.config, vae: v.config, gen: s.config };
}

/** The tiny models' shapes as the FLOP count wants them: 32×32 task and aux inputs, K hypotheses. */
export function tinyStepModels(): StepModels {
  const { task, vae, gen } = tinyPresetConfigs();
  return { task, taskSize: SIZE, vae, auxSize: SIZE, gen, K };
}

function tinyModels(ctx: Context): Models {
  const c = tinyPresetConfigs();
  const task = new ConvNeXt(ctx, c.task), vae = new AutoencoderKL(ctx, c.vae, { encoder: true, decoder: false }), gen = new SiT(ctx, c.gen);
  ctx.call("dusa_rng_normal", task.params.values, task.params.values.size, 1, 0, 0, 0.05);
  ctx.call("dusa_rng_normal", vae.params.values, vae.params.values.size, 2, 0, 0, 0.05);
  const pos = gen.params.p("pos_embed").read();
  ctx.call("dusa_rng_normal", gen.params.values, gen.params.values.size, 3, 0, 0, 0.02);
  gen.params.p("pos_embed").write(pos);
  return { task, vae, gen };
}

/** peaks: bytes per tag over the timed steps (the models, plans and workspaces of the warm-up are all still held). */
export type StepFigures = { imagesPerSec: number; msPerStep: number; phases: Record<string, number>; peaks: Record<Tag, number> };

/** One variant at one batch size, in this process: warm-up, then the median of `steps` timed micro-batches. */
export function measureStep(ctx: Context, variant: Variant, B: number, steps = 10): StepFigures {
  const models = tinyModels(ctx);
  const method = variant.make(ctx, models);
  const x = ctx.alloc([B, 1, SIZE, SIZE], "data"), aux = ctx.alloc([B, 1, SIZE, SIZE], "data");
  const batch: MicroBatch = { task: x, aux, B, H: SIZE, W: SIZE, auxSize: SIZE };
  const fresh = (i: number) => {
    ctx.call("dusa_rng_normal", x, x.size, 100 + i, 0, 0, 1);
    ctx.call("dusa_rng_uniform", aux, aux.size, 200 + i, 0, -1, 1);
  };
  fresh(0);
  method.step(batch, 0); // warm-up: plans and workspaces
  method.step(batch, 1);
  method.takePhases();
  ctx.resetPeak();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    fresh(i + 2);
    ctx.sync(); // device backends: time the step's own work, all of it (the update runs after the predictions are read)
    const t0 = performance.now();
    method.step(batch, i + 2);
    ctx.sync();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const phases = Object.fromEntries(Object.entries(method.takePhases()).map(([p, ms]) => [p, ms / steps]));
  const peaks = Object.fromEntries(Object.entries(ctx.memory()).map(([tag, m]) => [tag, m.peak])) as Record<Tag, number>;
  method.free();
  for (const t of [x, aux]) t.free();
  for (const m of [models.task, models.vae, models.gen]) m.free();
  return { imagesPerSec: (1000 * B) / median, msPerStep: median, phases, peaks };
}

/** Peak resident set size of this process (VmHWM), in bytes. */
export function peakRss(): number {
  const status = require("node:fs").readFileSync("/proc/self/status", "utf8") as string;
  const kb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0);
  return kb * 1024;
}

function pythonWithTorch(): string | null {
  for (const py of ["/usr/bin/python3", "python3"]) {
    try {
      if (Bun.spawnSync([py, "-c", "import torch"], { stderr: "ignore", stdout: "ignore" }).exitCode === 0) return py;
    } catch {}
  }
  return null;
}

/** One (variant, batch): ours from step-one.ts, PyTorch's from bench/pytorch/step.py (null without torch). */
export type VariantRun = {
  label: string; batch: number; flopsPerImage: number;
  ours: StepFigures & { peakRss: number };
  pytorch: { img_s: number; ms: number; peak_rss_mib: number } | null;
};
export type VariantRuns = { runs: VariantRun[]; pytorch: string };

const lastJsonLine = (out: Buffer) => JSON.parse(out.toString().trim().split("\n").pop()!);

/** Every variant at B 16 and 64, each in its own process, with PyTorch beside it: what `step` and `memory` report. */
export function measureVariants(options: { batches?: number[]; steps?: number; pytorch?: boolean; device?: "cpu" | "cuda" } = {}): VariantRuns {
  const runs: VariantRun[] = [];
  const steps = String(options.steps ?? 10);
  const py = options.pytorch === false ? null : pythonWithTorch();
  const here = import.meta.dir, shapes = tinyStepModels();
  for (const batch of options.batches ?? [16, 64]) {
    for (const v of variants) {
      const ours = Bun.spawnSync(["bun", `${here}/step-one.ts`, v.label, String(batch), steps, options.device ?? "cpu"], { stderr: "inherit" });
      if (ours.exitCode !== 0) throw new Error(`bench step: ${v.label} at batch ${batch} failed`);
      let pytorch: VariantRun["pytorch"] = null;
      if (py) {
        const torch = Bun.spawnSync([py, `${here}/pytorch/step.py`, "--method", v.pytorch, "--batch", String(batch), "--steps", steps, "--threads", "2"], { stderr: "inherit" });
        if (torch.exitCode !== 0) throw new Error(`bench step: the PyTorch ${v.pytorch} step failed`);
        pytorch = lastJsonLine(torch.stdout);
      }
      runs.push({ label: v.label, batch, flopsPerImage: stepFlopsPerImage(shapes, v.kind).total, ours: lastJsonLine(ours.stdout), pytorch });
    }
  }
  const version = py && Bun.spawnSync([py, "-c", "import torch; print(torch.__version__)"]).stdout.toString().trim();
  return { runs, pytorch: py ? `PyTorch ${version} eager, float32, 2 threads` : "skipped: python3 with torch is not importable" };
}

/** The step table (ours: img/s, phases, FLOPs) and the side-by-side with PyTorch (same analytic FLOPs for both). */
export function stepTables({ runs }: VariantRuns): { rows: Row[]; comparison: Row[] } {
  const rows: Row[] = [], comparison: Row[] = [];
  for (const { label, batch, flopsPerImage: flops, ours: r, pytorch: t } of runs) {
    const row: Row = { method: label, batch, "img/s": r.imagesPerSec, "ms/step": r.msPerStep };
    for (const p of ["task_fwd", "task_bwd", "vae", "gen_fwd", "gen_bwd", "optimizer"]) row[p] = r.phases[p] ?? "-";
    row["GFLOP/img"] = flops / 1e9;
    row["GFLOP/s"] = (flops * r.imagesPerSec) / 1e9;
    rows.push(row);
    if (!t) continue;
    comparison.push({
      method: label, batch, "ours img/s": r.imagesPerSec, "PyTorch img/s": t.img_s, "speed ours/PyTorch": r.imagesPerSec / t.img_s,
      "ours GFLOP/s": (flops * r.imagesPerSec) / 1e9, "PyTorch GFLOP/s": (flops * t.img_s) / 1e9,
      "ours RSS MiB": r.peakRss / 2 ** 20, "PyTorch RSS MiB": t.peak_rss_mib, "memory ours/PyTorch": r.peakRss / 2 ** 20 / t.peak_rss_mib,
    });
  }
  return { rows, comparison };
}
