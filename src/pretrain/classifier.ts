// The tiny ConvNeXt classifier on Fashion-MNIST: cross-entropy on the task transform's input (28→32 zero pad,
// mean 0.2860, std 0.3530), light augmentation (±2 px shifts, flips but never of footwear), AdamW with a cosine
// schedule. Evaluation: clean test accuracy.
import type { Batch } from "../data/loader.ts";
import { Rng } from "../data/rng.ts";
import type { ArraySource } from "../data/source.ts";
import { FASHION_MNIST_TASK } from "../data/transforms.ts";
import { ConvNeXt } from "../models/convnext.ts";
import { loadWeights } from "../models/load.ts";
import { loadPreset } from "../models/presets.ts";
import type { Context, Tensor } from "../native/index.ts";
import { trainAll } from "../nn/params.ts";
import { Optimizer } from "../tta/optimizer.ts";
import { augmentBatch, FASHION_MNIST_FOOTWEAR, type AugmentOptions } from "./augment.ts";
import type { TrainedParts } from "./checkpoint.ts";
import type { PretrainConfig } from "./config.ts";
import { classifierAccuracy } from "./eval.ts";
import { initConvNeXt } from "./init.ts";
import { writeWeights } from "./outputs.ts";
import type { Pipeline, RunOptions, TrainerHandle } from "./run.ts";
import { batchesPerEpoch, epochBatches, fashionMnistTest, fashionMnistTrain } from "./training-data.ts";

/** The black background after the task normalisation: (0 − mean) / std. */
export const TASK_BACKGROUND = -FASHION_MNIST_TASK.mean[0] / FASHION_MNIST_TASK.std[0];

export function buildClassifier(ctx: Context, preset: string): ConvNeXt {
  const p = loadPreset(preset);
  if (p.family !== "convnext") throw new Error(`pretrain classifier: preset ${preset} is a ${p.family} model, not a ConvNeXt`);
  return new ConvNeXt(ctx, p.config);
}

export class ClassifierTrainer implements TrainerHandle<Batch> {
  readonly model: ConvNeXt;
  readonly parts: TrainedParts;
  readonly batchesPerEpoch: number;
  readonly augment: AugmentOptions | null;
  #x: Tensor;
  #labels: Tensor;
  #loss: Tensor;
  #dlogits: Tensor;

  constructor(readonly ctx: Context, readonly config: PretrainConfig, readonly source: ArraySource) {
    const c = config, B = c.batch;
    this.model = buildClassifier(ctx, c.preset);
    initConvNeXt(this.model.params, c.seed);
    this.model.params.train(trainAll);
    const optimizer = new Optimizer(this.model.params, { name: "adamw", lr: c.lr, betas: c.betas, eps: 1e-8, weightDecay: c.weightDecay });
    this.parts = { params: this.model.params, optimizer, ema: null };
    this.batchesPerEpoch = batchesPerEpoch(source.length, B);
    const footwear = new Set(FASHION_MNIST_FOOTWEAR);
    this.augment = c.classifier.maxShift > 0 || c.classifier.flip
      ? { maxShift: c.classifier.maxShift, flipClass: (label) => c.classifier.flip && !footwear.has(label), fill: TASK_BACKGROUND }
      : null;
    const C = this.model.config.numClasses;
    this.#x = ctx.alloc([B, this.model.config.inChans, 32, 32], "data");
    this.#labels = ctx.alloc([B], "data", "i32");
    this.#loss = ctx.alloc([1], "workspace");
    this.#dlogits = ctx.alloc([B, C], "workspace");
  }

  batches(epoch: number, from: number): AsyncIterable<Batch> {
    return epochBatches(this.source, this.config.batch, this.config.seed, epoch, from, false);
  }

  step(batch: Batch, step: number): number {
    const { ctx, model } = this, [B, , H, W] = batch.taskShape, C = model.config.numClasses;
    const x = this.augment ? augmentBatch(batch.task, batch.labels, batch.taskShape, new Rng(this.config.seed, "augment", step), this.augment) : batch.task;
    this.#x.write(x);
    this.#labels.write(batch.labels);
    const logits = model.forward(this.#x, B, H, W);
    ctx.call("dusa_cross_entropy_forward", this.#loss, logits, this.#labels, B, C);
    ctx.call("dusa_cross_entropy_backward", this.#dlogits, logits, this.#labels, B, C, 1);
    model.backward(this.#dlogits);
    return this.#loss.readFloat()[0];
  }

  free(): void {
    for (const t of [this.#x, this.#labels, this.#loss, this.#dlogits]) t.free();
    this.parts.optimizer.free();
    this.model.free();
  }
}

export function classifierPipeline(ctx: Context, config: PretrainConfig, o: RunOptions): Pipeline<Batch> {
  return {
    async trainer() {
      return new ClassifierTrainer(ctx, config, o.trainSource ?? fashionMnistTrain(config.limit));
    },
    async exportWeights(trainer, file, metadata) {
      const t = trainer as ClassifierTrainer;
      writeWeights(file, t.model.table, t.model.params.get(), config.storeDtype, metadata);
    },
    async evaluate(file, c) {
      const model = buildClassifier(ctx, c.preset);
      try {
        loadWeights(model.params, file, "convnext");
        const test = o.testSource ?? fashionMnistTest(c.evalLimit);
        const { accuracy, images } = await classifierAccuracy(ctx, model, test);
        return { test_accuracy: accuracy, test_images: images };
      } finally {
        model.free();
      }
    },
  };
}
