// TTA methods on small random models: source never changes anything; tent trains only norm parameters and
// predicts before its update; dusa updates every `accumulate` micro-batches; a NaN loss skips the update;
// reset() restores parameters and optimizer state exactly.
import { expect, test } from "bun:test";
import { DusaMethod, SourceMethod, TentMethod, type MicroBatch } from "../../src/tta/methods.ts";
import { cpuContext } from "../util/context.ts";
import { smallDusaModels } from "../util/small-dusa.ts";
import { freshRng, normal, uniform } from "../util/random.ts";

const ctx = cpuContext();
const adam = { name: "adam" as const, lr: 1e-2, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };

function models() {
  const rng = freshRng();
  return { ...smallDusaModels(ctx, rng), rng };
}

function batch(rng: ReturnType<typeof freshRng>, B = 4): MicroBatch {
  return { task: ctx.upload(normal(rng, B * 256), [B, 1, 16, 16]), aux: ctx.upload(uniform(rng, B * 256), [B, 1, 16, 16]), B, H: 16, W: 16, auxSize: 16 };
}

test("tent: predictions before the update; only LayerNorm affine parameters move; reset restores them", () => {
  const { task, vae, gen, rng } = models();
  const b = batch(rng);
  const source = new SourceMethod(ctx, task);
  const before = source.step(b).predictions;
  const start = task.params.values.readFloat();
  const tent = new TentMethod(ctx, task, adam, 1);
  const r = tent.step(b, 0);
  expect(Array.from(r.predictions)).toEqual(Array.from(before));
  expect(r.updated).toBe(true);
  const after = task.params.values.readFloat();
  for (const e of task.table.entries) {
    const moved = after.subarray(e.offset, e.offset + e.size).some((v, i) => v !== start[e.offset + i]);
    expect([e.name, moved]).toEqual([e.name, e.role === "norm"]);
  }
  tent.reset();
  expect(Array.from(task.params.values.readFloat())).toEqual(Array.from(start));
  tent.free();
  source.free();
  for (const m of [task, vae, gen]) m.free();
});

test("dusa: accumulate 2 updates on every second micro-batch; reset restores parameters and Adam state", () => {
  const { task, vae, gen, rng } = models();
  const settings = { family: "sit" as const, topk: 2, randBudget: 2, temperature: 1, t: 0.25, loss: { mse: 1, normL2: 0, cosine: 0 }, accumulate: 2, adaptTask: true, adaptAux: true, seed: 5 };
  const dusa = new DusaMethod(ctx, task, vae, gen, { settings, adaptTask: "all", taskOptimizer: adam, auxOptimizer: adam });
  const start = { task: task.params.values.readFloat(), gen: gen.params.values.readFloat() };
  const b1 = batch(rng), b2 = batch(rng);
  const r1 = dusa.step(b1, 0);
  expect(r1.updated).toBe(false);
  expect(Array.from(task.params.values.readFloat())).toEqual(Array.from(start.task));
  const r2 = dusa.step(b2, 1);
  expect(r2.updated).toBe(true);
  expect(task.params.values.readFloat().some((v, i) => v !== start.task[i])).toBe(true);
  expect(gen.params.values.readFloat().some((v, i) => v !== start.gen[i])).toBe(true);
  const phases = dusa.takePhases();
  for (const p of ["task_fwd", "select", "vae", "gen_fwd", "loss", "task_bwd", "gen_bwd", "optimizer"]) expect(phases[p]).toBeGreaterThan(0);
  // the same two micro-batches after a reset give bit-identical results: parameters and Adam state restored
  const firstRun = { task: task.params.values.readFloat(), loss: r2.loss };
  dusa.reset();
  expect(Array.from(task.params.values.readFloat())).toEqual(Array.from(start.task));
  dusa.step(b1, 0);
  const again = dusa.step(b2, 1);
  expect(again.loss).toBe(firstRun.loss);
  expect(Array.from(task.params.values.readFloat())).toEqual(Array.from(firstRun.task));
  dusa.free();
  for (const m of [task, vae, gen]) m.free();
});

test("a non-finite loss skips the update and discards the accumulated gradients", () => {
  const { task, vae, gen, rng } = models();
  const tent = new TentMethod(ctx, task, adam, 1);
  const start = task.params.values.readFloat();
  const b = batch(rng);
  b.task.write(new Float32Array(b.task.size).fill(Number.NaN));
  const r = tent.step(b, 0);
  expect(r.finite).toBe(false);
  expect(r.updated).toBe(false);
  expect(Array.from(task.params.values.readFloat())).toEqual(Array.from(start));
  expect(task.params.grads!.readFloat().every((v) => v === 0)).toBe(true);
  tent.free();
  for (const m of [task, vae, gen]) m.free();
});
