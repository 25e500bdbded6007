// What the generative prior tells the classifier (`bun run tta explain=N`): for the first N images of a task,
// the task model's hypotheses (top-k + random budget) with their DUSA weights, and under each hypothesis the
// generative model's one-step estimate of the clean latent, decoded by the VAE — once before the task's
// adaptation and once after it, with the same noise, so the two rows differ only by what was learned.
import type { Config } from "../config/index.ts";
import { loadWeights } from "../models/load.ts";
import { AutoencoderKL } from "../models/vae.ts";
import { toBf16, type Context, type Tensor } from "../native/index.ts";
import type { Built } from "./build.ts";
import { DusaStep, type DusaSettings } from "./dusa.ts";
import { ddpmCoefficients } from "./schedule.ts";

/** The images an explanation is made of: the task input, the aux input in [-1, 1], the labels. */
export type ExplainInputs = { task: Float32Array; taskShape: number[]; aux: Float32Array; auxShape: number[]; labels: number[] };

/** One pass (before or after adaptation) over n images with K hypotheses each. */
export type Hypotheses = {
  classes: Int32Array; // (n, K)
  weights: Float32Array; // (n, K), the softmax DUSA trains through
  predicted: Int32Array; // (n), the task model's argmax
  x0: Float32Array; // (n, K, C, S, S), the decoded estimates in [-1, 1]
  x0Shape: number[]; // [C, S, S]
};

export class Explainer {
  readonly #step: DusaStep;
  readonly #decoder: AutoencoderKL;
  readonly #settings: DusaSettings;
  #tensors: Tensor[] = [];

  constructor(readonly ctx: Context, built: Built, config: Config) {
    if (!built.vae || !built.gen) throw new Error("explain: needs method.name=dusa (a VAE and a generative model)");
    const m = config.method;
    this.#settings = {
      family: m.family as "sit" | "dit", topk: m.topk, randBudget: m.rand_budget, temperature: m.temperature, t: m.t as number,
      loss: { mse: m.loss.mse, normL2: m.loss.norm_l2, cosine: m.loss.cosine }, accumulate: 1, adaptTask: false, adaptAux: false, seed: config.seed,
    };
    this.#step = new DusaStep(ctx, built.task, built.vae, built.gen, this.#settings);
    const vaePath = config.model.weights.vae;
    if (!vaePath) throw new Error("explain: model.weights.vae is needed to decode the estimates");
    this.#decoder = new AutoencoderKL(ctx, { ...built.vae.config }, { encoder: false, decoder: true });
    loadWeights(this.#decoder.params, vaePath, "vae");
  }

  /** The hypotheses and their decoded estimates for the given images under the models' current parameters. */
  hypotheses(inputs: ExplainInputs): Hypotheses {
    const { ctx } = this, s = this.#settings;
    const [n, , H, W] = inputs.taskShape, auxSize = inputs.auxShape[2];
    const task = this.#upload(inputs.task, inputs.taskShape), aux = this.#upload(inputs.aux, inputs.auxShape);
    const out = this.#step.run(task, aux, n, H, W, auxSize, 0, { capture: true });
    const C = this.#step.classes, K = this.#step.K;
    const logits = out.logits.readValues(), predicted = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[i * C + c] > logits[i * C + best]) best = c;
      predicted[i] = best;
    }
    const { xt, pred } = out.captured!, D = xt.length / n;
    // one-step estimate of the clean latent: sit x0 = x_t − t v; dit x0 = (x_t − sqrt(1 − ᾱ) eps) / sqrt(ᾱ)
    const [a, b] = s.family === "sit" ? [1, s.t] : ddpmCoefficients(s.t);
    const z0 = new Float32Array(n * K * D);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < K; k++)
        for (let d = 0; d < D; d++) z0[(i * K + k) * D + d] = (xt[i * D + d] - b * pred[(i * K + k) * D + d]) / a;
    const g = this.#step.gen.config, S = g.inputSize;
    const z = this.#upload(z0, [n * K, g.inChannels, S, S]);
    const images = this.#decoder.decode(z, n * K, S, S, { training: false });
    const x0 = images.readValues(), side = S * this.#decoder.downFactor;
    this.#freeTemporaries();
    return { classes: out.selected, weights: out.weights, predicted, x0, x0Shape: [this.#decoder.config.outChannels, side, side] };
  }

  /** Images or latents on the device in the storage dtype. */
  #upload(data: Float32Array, shape: number[]): Tensor {
    const t = this.ctx.alloc(shape, "data", this.ctx.storage).write(this.ctx.storage === "bf16" ? toBf16(data) : data);
    this.#tensors.push(t);
    return t;
  }

  #freeTemporaries(): void {
    for (const t of this.#tensors) t.free();
    this.#tensors = [];
  }

  free(): void {
    this.#freeTemporaries();
    this.#step.free();
    this.#decoder.free();
  }
}

/** The first n images of a batch, copied out of the loader's buffers. */
export function firstImages(batch: { task: Float32Array; taskShape: number[]; aux?: Float32Array; auxShape?: number[]; labels: ArrayLike<number> }, n: number): ExplainInputs {
  if (!batch.aux || !batch.auxShape) throw new Error("explain: the batch has no aux images (method.name must be dusa)");
  const count = Math.min(n, batch.taskShape[0]);
  const taskPer = batch.task.length / batch.taskShape[0], auxPer = batch.aux.length / batch.auxShape[0];
  return {
    task: batch.task.slice(0, count * taskPer), taskShape: [count, ...batch.taskShape.slice(1)],
    aux: batch.aux.slice(0, count * auxPer), auxShape: [count, ...batch.auxShape.slice(1)],
    labels: Array.from(batch.labels).slice(0, count),
  };
}
