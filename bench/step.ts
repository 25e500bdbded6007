// bun bench step: the adaptation step of each method on the tiny models (random weights, real shapes):
// images/s (median of >= 10 timed micro-batches after warm-up, fresh inputs each step), time per phase and
// peak memory per tag — source, tent, and dusa with (adapt.task, adapt.aux) = (all, true), (norm, true), (all, false).
import type { Context } from "../src/native/index.ts";
import { ConvNeXt } from "../src/models/convnext.ts";
import { loadPreset } from "../src/models/presets.ts";
import { SiT } from "../src/models/sit.ts";
import { AutoencoderKL } from "../src/models/vae.ts";
import { DusaMethod, SourceMethod, TentMethod, type AdaptMode, type Method, type MicroBatch } from "../src/tta/methods.ts";
import type { Row } from "./table.ts";

const adam = { name: "adam" as const, lr: 1e-4, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };
type Variant = { label: string; make: (ctx: Context, m: Models) => Method };
type Models = { task: ConvNeXt; vae: AutoencoderKL; gen: SiT };

const dusa = (adaptTask: AdaptMode, adaptAux: boolean): Variant => ({
  label: `dusa (${adaptTask}, aux ${adaptAux})`,
  make: (ctx, m) => new DusaMethod(ctx, m.task, m.vae, m.gen, {
    settings: { family: "sit", topk: 4, randBudget: 2, temperature: 1, t: 0.25, loss: { mse: 1, normL2: 0, cosine: 0 }, accumulate: 1, adaptTask: true, adaptAux, seed: 0 },
    adaptTask, taskOptimizer: adam, auxOptimizer: adam,
  }),
});

export const variants: (Variant & { pytorch: string })[] = [
  { label: "source", pytorch: "source", make: (ctx, m) => new SourceMethod(ctx, m.task) },
  { label: "tent", pytorch: "tent", make: (ctx, m) => new TentMethod(ctx, m.task, adam, 1) },
  { ...dusa("all", true), pytorch: "dusa-all-aux" },
  { ...dusa("norm", true), pytorch: "dusa-norm-aux" },
  { ...dusa("all", false), pytorch: "dusa-all-frozen" },
];

function tinyModels(ctx: Context): Models {
  const [c, v, s] = ["convnext-tiny-fm", "vae-tiny-fm", "sit-tiny-fm"].map(loadPreset);
  if (c.family !== "convnext" || v.family !== "vae" || s.family !== "sit") throw new Error("tiny presets");
  const task = new ConvNeXt(ctx, c.config), vae = new AutoencoderKL(ctx, v.config, { encoder: true, decoder: false }), gen = new SiT(ctx, s.config);
  ctx.call("dusa_rng_normal", task.params.values, task.params.values.size, 1, 0, 0, 0.05);
  ctx.call("dusa_rng_normal", vae.params.values, vae.params.values.size, 2, 0, 0, 0.05);
  const pos = gen.params.p("pos_embed").read();
  ctx.call("dusa_rng_normal", gen.params.values, gen.params.values.size, 3, 0, 0, 0.02);
  gen.params.p("pos_embed").write(pos);
  return { task, vae, gen };
}

export type StepFigures = { imagesPerSec: number; msPerStep: number; phases: Record<string, number>; peakActBytes: number; peakTrackedBytes: number };

/** One variant at one batch size, in this process: warm-up, then the median of `steps` timed micro-batches. */
export function measureStep(ctx: Context, variant: Variant, B: number, steps = 10): StepFigures {
  const models = tinyModels(ctx);
  const method = variant.make(ctx, models);
  const x = ctx.alloc([B, 1, 32, 32], "data"), aux = ctx.alloc([B, 1, 32, 32], "data");
  const batch: MicroBatch = { task: x, aux, B, H: 32, W: 32, auxSize: 32 };
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
  const mem = ctx.memory();
  const figures = { imagesPerSec: (1000 * B) / median, msPerStep: median, phases, peakActBytes: mem.act.peak, peakTrackedBytes: Object.values(mem).reduce((s, m) => s + m.peak, 0) };
  method.free();
  for (const t of [x, aux]) t.free();
  for (const m of [models.task, models.vae, models.gen]) m.free();
  return figures;
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

/** Every variant at B 16 and 64, each in its own process (so peak RSS is that variant's), with PyTorch beside it. */
export function runStepBench(options: { batches?: number[]; steps?: number; pytorch?: boolean; device?: "cpu" | "cuda" } = {}): { rows: Row[]; comparison: Row[]; pytorch: string } {
  const rows: Row[] = [], comparison: Row[] = [];
  const steps = options.steps ?? 10;
  const py = options.pytorch === false ? null : pythonWithTorch();
  const here = import.meta.dir;
  for (const B of options.batches ?? [16, 64]) {
    for (const v of variants) {
      const ours = Bun.spawnSync(["bun", `${here}/step-one.ts`, v.label, String(B), String(steps), options.device ?? "cpu"], { stderr: "inherit" });
      if (ours.exitCode !== 0) throw new Error(`bench step: ${v.label} at batch ${B} failed`);
      const r = JSON.parse(ours.stdout.toString().trim().split("\n").pop()!) as StepFigures & { peakRss: number };
      const row: Row = { method: v.label, batch: B, "img/s": r.imagesPerSec, "ms/step": r.msPerStep };
      for (const p of ["task_fwd", "task_bwd", "vae", "gen_fwd", "gen_bwd", "optimizer"]) row[p] = r.phases[p] ?? "-";
      row["peak act MiB"] = r.peakActBytes / 2 ** 20;
      row["peak RSS MiB"] = r.peakRss / 2 ** 20;
      rows.push(row);
      if (!py) continue;
      const torch = Bun.spawnSync([py, `${here}/pytorch/step.py`, "--method", v.pytorch, "--batch", String(B), "--steps", String(steps), "--threads", "2"], { stderr: "inherit" });
      if (torch.exitCode !== 0) throw new Error(`bench step: the PyTorch ${v.pytorch} step failed`);
      const t = JSON.parse(torch.stdout.toString().trim().split("\n").pop()!);
      comparison.push({
        method: v.label, batch: B, "ours img/s": r.imagesPerSec, "PyTorch img/s": t.img_s, "speed ours/PyTorch": r.imagesPerSec / t.img_s,
        "ours RSS MiB": r.peakRss / 2 ** 20, "PyTorch RSS MiB": t.peak_rss_mib, "memory ours/PyTorch": r.peakRss / 2 ** 20 / t.peak_rss_mib,
      });
    }
  }
  return { rows, comparison, pytorch: py ? `PyTorch ${Bun.spawnSync([py, "-c", "import torch; print(torch.__version__)"]).stdout.toString().trim()} eager, float32, 2 threads` : "skipped: python3 with torch is not importable" };
}
