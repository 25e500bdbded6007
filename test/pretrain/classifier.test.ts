// The classifier trainer: memorising a few images, bit-identical resume, and a whole run with its outputs.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors } from "../../src/io/safetensors.ts";
import { loadWeights } from "../../src/models/load.ts";
import { ClassifierTrainer, buildClassifier, classifierPipeline } from "../../src/pretrain/classifier.ts";
import { classifierAccuracy } from "../../src/pretrain/eval.ts";
import { runTraining } from "../../src/pretrain/loop.ts";
import { runPretrain } from "../../src/pretrain/run.ts";
import { cpuContext } from "../util/context.ts";
import { images, sameBits, scratch } from "./helpers.ts";

const ctx = cpuContext();
const { folder, config: tinyConfig } = scratch("pretrain-classifier");
const quiet = { out: { write: () => true }, tty: false };

test("memorises 64 training images: the loss falls and training accuracy climbs", async () => {
  const dir = folder();
  const config = tinyConfig("classifier", { epochs: 20, batch: 32, lr: 5e-3 }, { weightDecay: 0, classifier: { maxShift: 0, flip: false } });
  const source = images(64), trainer = new ClassifierTrainer(ctx, config, source);
  const result = await runTraining(trainer, { checkpointFile: join(dir, "state.safetensors"), resume: false, checkpointSeconds: 1e9, progress: quiet });
  const losses = result.state.history.map((r) => r.loss);
  expect(result.completed).toBe(true);
  expect(losses[losses.length - 1]).toBeLessThan(0.2 * losses[0]);
  expect((await classifierAccuracy(ctx, trainer.model, source)).accuracy).toBeGreaterThanOrEqual(90);
  trainer.free();
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one

test("checkpoint → resume continues bit for bit (mid-epoch and at an epoch boundary)", async () => {
  const dir = folder();
  const config = tinyConfig("classifier", { epochs: 3, batch: 16, seed: 5 });
  const source = images(64); // 4 steps per epoch, augmented
  const run = async (file: string, stops: number[]) => {
    for (const [i, stop] of stops.entries()) {
      const trainer = new ClassifierTrainer(ctx, config, source);
      await runTraining(trainer, { checkpointFile: file, resume: i > 0, stopAfterSteps: stop, checkpointSeconds: 1e9, progress: quiet });
      trainer.free();
    }
    return readSafetensors(file).tensors;
  };
  const straight = await run(join(dir, "a.safetensors"), [Infinity]);
  const interrupted = await run(join(dir, "b.safetensors"), [3, 5, Infinity]); // stops inside epoch 1 and at the end of epoch 2
  for (const key of ["params", "optimizer.m", "optimizer.v"]) expect(sameBits(interrupted.get(key)!.data, straight.get(key)!.data)).toBe(true);
  const meta = readSafetensors(join(dir, "b.safetensors")).metadata;
  expect(JSON.parse(meta.position)).toEqual({ epoch: 3, batch: 0, step: 12 });
  expect(meta.optimizer_step).toBe("12");
  expect(JSON.parse(meta.history).map((r: { epoch: number }) => r.epoch)).toEqual([0, 1, 2]);
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one

test("a whole run: F16 weights with config and metrics, the report, eval-only, and the resume guards", async () => {
  const out = folder();
  const config = tinyConfig("classifier", { epochs: 1, batch: 16 });
  const options = { out, trainSource: images(48), testSource: images(40), progress: quiet, log: () => {} };
  const done = await runPretrain(config, classifierPipeline(ctx, config, options), options);
  if (done.status !== "done") throw new Error("interrupted");
  const weights = join(out, "classifier.safetensors"), { tensors, metadata } = readSafetensors(weights);
  expect([...tensors.values()].every((t) => t.dtype === "F16")).toBe(true);
  expect(JSON.parse(metadata.config).epochs).toBe(1);
  expect(JSON.parse(metadata.training).epochs).toHaveLength(1);
  const metrics = JSON.parse(metadata.metrics);
  expect(metrics.test_images).toBe(40);
  const report = JSON.parse(readFileSync(join(out, "classifier.json"), "utf8"));
  expect(report.metrics).toEqual(metrics);
  expect(existsSync(join(out, ".checkpoints", "classifier", "state.safetensors"))).toBe(true);
  // the weights load into the model by the standard path, and evaluate to the recorded accuracy
  const model = buildClassifier(ctx, config.preset);
  loadWeights(model.params, weights, "convnext");
  expect((await classifierAccuracy(ctx, model, images(40))).accuracy).toBe(metrics.test_accuracy);
  model.free();
  const again = await runPretrain(config, classifierPipeline(ctx, config, options), { ...options, evalOnly: true });
  expect(again.status === "done" && again.report.metrics).toEqual(metrics);
  await expect(runPretrain(config, classifierPipeline(ctx, config, options), options)).rejects.toThrow(/exists: continue that run with --resume, or start over with --fresh/);
  const resumed = await runPretrain(config, classifierPipeline(ctx, config, options), { ...options, resume: true }); // already complete: straight to the evaluation
  expect(resumed.status).toBe("done");
  const other = { ...config, lr: 1e-4 };
  await expect(runPretrain(other, classifierPipeline(ctx, other, options), { ...options, resume: true })).rejects.toThrow(/was made with lr 0.002; this run asks for lr 0.0001/);
  await expect(runPretrain(config, classifierPipeline(ctx, config, options), { ...options, out: join(out, "empty"), resume: true })).rejects.toThrow(/no checkpoint to resume/);
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one
