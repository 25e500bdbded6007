// The training state file: what it holds, and the errors that name the file when it does not fit the run.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { writeSafetensorsSync } from "../../src/io/safetensors.ts";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { trainAll } from "../../src/nn/params.ts";
import { Optimizer } from "../../src/tta/optimizer.ts";
import { emptyRunning, loadTrainingState, peekTrainingState, saveTrainingState } from "../../src/pretrain/checkpoint.ts";
import { checkResumable } from "../../src/pretrain/loop.ts";
import { dropLabels } from "../../src/pretrain/sit.ts";
import { cpuContext } from "../util/context.ts";
import { scratch } from "./helpers.ts";

const ctx = cpuContext();
const { folder, config: tinyConfig } = scratch("pretrain-checkpoint");

function model(dims: number[]) {
  const m = new ConvNeXt(ctx, { inChans: 1, numClasses: 10, depths: [1, 1], dims, stemPatch: 2 });
  m.params.train(trainAll);
  return { m, parts: { params: m.params, optimizer: new Optimizer(m.params, { name: "adamw", lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }), ema: null } };
}

test("a state round trip; a checkpoint of another model or another kind of file is refused by name", () => {
  const file = join(folder(), "state.safetensors"), config = tinyConfig("classifier");
  const a = model([8, 16]);
  ctx.call("dusa_rng_normal", a.m.params.values, a.m.params.values.size, 1, 0, 0, 1);
  a.parts.optimizer.step = 7;
  const state = { position: { epoch: 1, batch: 2, step: 9 }, history: [{ epoch: 0, loss: 1.5, imagesPerSec: 100, seconds: 3 }], running: { ...emptyRunning(), batches: 2 }, config };
  saveTrainingState(file, a.parts, state);
  const b = model([8, 16]);
  expect(loadTrainingState(file, b.parts)).toEqual(state);
  expect(Array.from(b.m.params.values.readFloat())).toEqual(Array.from(a.m.params.values.readFloat()));
  expect(b.parts.optimizer.step).toBe(7);
  const c = model([8, 32]);
  expect(() => loadTrainingState(file, c.parts)).toThrow(new RegExp(`${file}: its parameters \\(layout \\w+\\) do not match`));
  const other = join(folder(), "weights.safetensors");
  writeSafetensorsSync(other, { x: { shape: [1], data: new Float32Array(1) } });
  expect(() => peekTrainingState(other)).toThrow(/not a pretraining checkpoint/);
  for (const x of [a, b, c]) {
    x.parts.optimizer.free();
    x.m.free();
  }
});

test("resuming with different training settings names them; evaluation settings may differ", () => {
  const saved = tinyConfig("sit");
  expect(() => checkResumable("f", saved, { ...saved, batch: 32, seed: 4 })).toThrow(/f was made with batch 16, seed 0; this run asks for batch 32, seed 4/);
  expect(() => checkResumable("f", saved, { ...saved, sit: { ...saved.sit, labelDropout: 0.2 } })).toThrow(/made with sit/);
  expect(() => checkResumable("f", saved, { ...saved, evalLimit: 10, sit: { ...saved.sit, cfgScale: 3, classifyImages: 5 } })).not.toThrow();
});

test("label dropout: the null class at the given rate, the same for the same step", () => {
  const labels = Int32Array.from({ length: 20_000 }, (_, i) => i % 10);
  const dropped = dropLabels(labels, 0.1, 10, 0, 3);
  const nulls = dropped.filter((l) => l === 10).length;
  expect(nulls / labels.length).toBeGreaterThan(0.09);
  expect(nulls / labels.length).toBeLessThan(0.11);
  expect(dropped.every((l, i) => l === 10 || l === labels[i])).toBe(true);
  expect(Array.from(dropLabels(labels, 0.1, 10, 0, 3))).toEqual(Array.from(dropped));
  expect(Array.from(dropLabels(labels, 0.1, 10, 0, 4))).not.toEqual(Array.from(dropped));
});
