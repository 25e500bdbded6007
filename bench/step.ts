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

export const variants: Variant[] = [
  { label: "source", make: (ctx, m) => new SourceMethod(ctx, m.task) },
  { label: "tent", make: (ctx, m) => new TentMethod(ctx, m.task, adam, 1) },
  dusa("all", true),
  dusa("norm", true),
  dusa("all", false),
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

export function runStepBench(ctx: Context, options: { batches?: number[]; steps?: number } = {}): Row[] {
  const rows: Row[] = [];
  const steps = options.steps ?? 10;
  for (const B of options.batches ?? [16, 64]) {
    for (const v of variants) {
      const models = tinyModels(ctx);
      const method = v.make(ctx, models);
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
        const t0 = performance.now();
        method.step(batch, i + 2);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      const phases = method.takePhases();
      const mem = ctx.memory();
      const row: Row = { method: v.label, batch: B, "img/s": (1000 * B) / median, "ms/step": median };
      for (const p of ["task_fwd", "task_bwd", "vae", "gen_fwd", "gen_bwd", "optimizer"]) row[p] = phases[p] ? phases[p] / steps : "-";
      row["peak act MiB"] = mem.act.peak / 2 ** 20;
      row["peak total MiB"] = Object.values(mem).reduce((s, m) => s + m.peak, 0) / 2 ** 20;
      rows.push(row);
      method.free();
      for (const t of [x, aux]) t.free();
      for (const m of [models.task, models.vae, models.gen]) m.free();
    }
  }
  return rows;
}
