// The tiny SiT on the tiny VAE's latents (posterior mean × scaling factor, 4×8×8): flow matching in the REPA
// convention — t ~ U(0, 1), x_t = (1 − t)·z0 + t·eps, target v = eps − z0, t fed raw to the embedder — with label
// dropout to the null class (index numClasses) for classifier-free guidance, AdamW, a cosine schedule and an EMA
// whose weights are the ones saved. Latents are the posterior means DUSA encodes (optionally posterior samples, as
// REPA trains on), computed once per VAE and cached next to the checkpoints.
// Evaluation: a PNG of Euler samples per class (scored by the classifier when its weights are there) and the
// SiT's accuracy as a classifier on clean test images.
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { FASHION_MNIST_CLASSES } from "../data/fashion-mnist.ts";
import { Rng } from "../data/rng.ts";
import type { ArraySource } from "../data/source.ts";
import { loadWeights } from "../models/load.ts";
import { loadPreset } from "../models/presets.ts";
import { SiT } from "../models/sit.ts";
import type { AutoencoderKL } from "../models/vae.ts";
import type { Context, Tensor } from "../native/index.ts";
import type { Trainable } from "../nn/params.ts";
import { Optimizer } from "../tta/optimizer.ts";
import type { TrainedParts } from "./checkpoint.ts";
import { buildClassifier } from "./classifier.ts";
import type { PretrainConfig } from "./config.ts";
import { Ema } from "./ema.ts";
import { flowClassify, imageAccuracy } from "./eval.ts";
import { initSiT } from "./init.ts";
import { encodeLatents, fileSha256, readLatentCache, writeLatentCache, type Latents } from "./latents.ts";
import { checkpointDir, ensureDir, readWeightsMetadata, writeWeights } from "./outputs.ts";
import type { Pipeline, RunOptions, TrainerHandle } from "./run.ts";
import { sampleEuler, writeSampleSheet } from "./sampler.ts";
import { batchesPerEpoch, epochOrder, fashionMnistTest, fashionMnistTrain, firstImages } from "./training-data.ts";
import { loadTrainedVae } from "./vae.ts";
import { sitVelocity } from "./velocity.ts";

const TIME_STREAM = 0x71e5n, NOISE_STREAM = 0x40153n, LATENT_STREAM = 0x1a7e47n;
export const SAMPLES_PNG = "sit-samples.png";

/** Everything but the fixed positional embedding (and adapters): the label table is trained here, unlike in DUSA. */
export const trainSiT: Trainable = (p) => p.role !== "fixed" && p.role !== "lora";

/** What the SiT trains on: latents (count, D) already multiplied by the scaling factor, and their labels. */
export type LatentDataset = { z: Float32Array; logvar: Float32Array | null; labels: Int32Array; count: number; dims: number; scalingFactor: number };

export function buildSiT(ctx: Context, preset: string): SiT {
  const p = loadPreset(preset);
  if (p.family !== "sit") throw new Error(`pretrain sit: preset ${preset} is a ${p.family} model, not a SiT`);
  return new SiT(ctx, p.config);
}

/** The labels of a step with each replaced by the null class with probability p (the step's own stream). */
export function dropLabels(labels: Int32Array, p: number, nullClass: number, seed: number, step: number): Int32Array {
  const rng = new Rng(seed, "label-dropout", step);
  return labels.map((l) => (rng.uniform() < p ? nullClass : l));
}

export class SiTTrainer implements TrainerHandle<Int32Array> {
  readonly sit: SiT;
  readonly ema: Ema;
  readonly parts: TrainedParts;
  readonly batchesPerEpoch: number;
  #xt: Tensor;
  #t: Tensor;
  #eps: Tensor;
  #noise: Tensor;
  #y: Tensor;
  #v: Tensor;
  #w: Tensor;
  #dpred: Tensor;

  constructor(readonly ctx: Context, readonly config: PretrainConfig, readonly data: LatentDataset) {
    const c = config, B = c.batch, D = data.dims;
    this.sit = buildSiT(ctx, c.preset);
    const sc = this.sit.config;
    if (sc.inChannels * sc.inputSize ** 2 !== D) throw new Error(`pretrain sit: latents of ${D} values do not fit ${c.preset} (${sc.inChannels}×${sc.inputSize}×${sc.inputSize})`);
    initSiT(this.sit.params, c.seed);
    this.sit.params.train(trainSiT);
    const optimizer = new Optimizer(this.sit.params, { name: "adamw", lr: c.lr, betas: c.betas, eps: 1e-8, weightDecay: c.weightDecay });
    this.ema = new Ema(this.sit.params, c.sit.emaDecay);
    this.parts = { params: this.sit.params, optimizer, ema: this.ema };
    this.batchesPerEpoch = batchesPerEpoch(data.count, B);
    const latent = [B, sc.inChannels, sc.inputSize, sc.inputSize];
    [this.#xt, this.#eps, this.#noise, this.#v, this.#dpred] = [0, 1, 2, 3, 4].map(() => ctx.alloc(latent, "workspace"));
    this.#t = ctx.alloc([B], "workspace");
    this.#y = ctx.alloc([B], "data", "i32");
    this.#w = ctx.alloc([B, 1], "workspace").fill(1);
  }

  async *batches(epoch: number, from: number): AsyncGenerator<Int32Array> {
    const order = epochOrder(this.data.count, this.config.seed, epoch), B = this.config.batch;
    for (let b = from; b < this.batchesPerEpoch; b++) yield order.slice(b * B, (b + 1) * B);
  }

  step(indices: Int32Array, step: number): number {
    const { ctx, sit, data, config: c } = this, B = indices.length, D = data.dims, n = B * D, seed = BigInt(c.seed);
    const z0 = new Float32Array(n);
    for (let i = 0; i < B; i++) z0.set(data.z.subarray(indices[i] * D, (indices[i] + 1) * D), i * D);
    if (c.sit.latentNoise && data.logvar) {
      ctx.call("dusa_rng_normal", this.#noise, n, seed ^ LATENT_STREAM, step * Math.ceil(n / 4), 0, 1);
      const noise = this.#noise.readFloat();
      for (let i = 0; i < B; i++)
        for (let d = 0; d < D; d++) z0[i * D + d] += data.scalingFactor * Math.exp(0.5 * data.logvar[indices[i] * D + d]) * noise[i * D + d];
    }
    ctx.call("dusa_rng_uniform", this.#t, B, seed ^ TIME_STREAM, step * Math.ceil(B / 4), 0, 1);
    ctx.call("dusa_rng_normal", this.#eps, n, seed ^ NOISE_STREAM, step * Math.ceil(n / 4), 0, 1);
    const t = this.#t.readFloat(), eps = this.#eps.readFloat(), xt = new Float32Array(n), v = new Float32Array(n);
    for (let i = 0; i < B; i++)
      for (let d = 0; d < D; d++) {
        const k = i * D + d;
        xt[k] = (1 - t[i]) * z0[k] + t[i] * eps[k];
        v[k] = eps[k] - z0[k];
      }
    this.#y.write(dropLabels(Int32Array.from(indices, (i) => data.labels[i]), c.sit.labelDropout, sit.config.numClasses, c.seed, step));
    this.#xt.write(xt);
    this.#v.write(v);
    const pred = sit.forward(this.#xt, this.#t, this.#y, B, { training: true });
    const terms = new Float32Array(4);
    ctx.call("dusa_flow_loss", terms, null, this.#dpred, this.#w, pred, this.#v, B, 1, D, 1, 0, 0, 1);
    sit.backward(this.#dpred); // includes the label table: trainSiT makes it trainable
    return terms[0];
  }

  free(): void {
    for (const t of [this.#xt, this.#t, this.#eps, this.#noise, this.#y, this.#v, this.#w, this.#dpred]) t.free();
    this.ema.free();
    this.parts.optimizer.free();
    this.sit.free();
  }
}

/** Posterior means × scaling factor of test images, (n, D). */
async function scaledLatents(ctx: Context, vae: AutoencoderKL, source: ArraySource): Promise<Float32Array> {
  const l = await encodeLatents(ctx, vae, source);
  return l.mean.map((m) => m * vae.config.scalingFactor);
}

/** How often the classifier in `file` puts a sample in the class it was drawn for. */
function scoreSamples(ctx: Context, file: string, images: Float32Array, labels: Int32Array): number {
  const model = buildClassifier(ctx, readWeightsMetadata(file).model ?? "convnext-tiny-fm");
  try {
    loadWeights(model.params, file, "convnext");
    return imageAccuracy(ctx, model, images, labels);
  } finally {
    model.free();
  }
}

export function sitPipeline(ctx: Context, config: PretrainConfig, o: RunOptions): Pipeline<Int32Array> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const vaeFile = o.vaeWeights ?? join(o.out, "vae.safetensors");
  const openVae = (decoder: boolean) => {
    if (!existsSync(vaeFile)) throw new Error(`${vaeFile}: the SiT trains on this VAE's latents; train it first (bun run pretrain vae) or pass --vae <file>`);
    return loadTrainedVae(ctx, readWeightsMetadata(vaeFile).model ?? "vae-tiny-fm", vaeFile, { encoder: true, decoder });
  };
  return {
    async trainer() {
      const vae = openVae(false), sha = fileSha256(vaeFile);
      config.sit.vaeSha256 = sha;
      try {
        const source = o.trainSource ?? fashionMnistTrain(config.limit);
        const cache = join(ensureDir(checkpointDir(o.out, "sit")), "latents.safetensors"), key = `${sha}:${source.spec().path}`;
        let latents: Latents | null = readLatentCache(cache, key, source.length);
        if (!latents) {
          log(`sit: encoding ${source.length} training images with ${vaeFile} (cached in ${cache})`);
          latents = await encodeLatents(ctx, vae, source);
          writeLatentCache(cache, key, latents);
        }
        const sf = vae.config.scalingFactor, dims = latents.shape.reduce((a, b) => a * b, 1);
        const data: LatentDataset = { z: latents.mean.map((m) => m * sf), logvar: latents.logvar, labels: source.labels, count: source.length, dims, scalingFactor: sf };
        return new SiTTrainer(ctx, config, data);
      } finally {
        vae.free();
      }
    },
    async exportWeights(trainer, file, metadata) {
      const t = trainer as SiTTrainer;
      const vaeMeta = readWeightsMetadata(vaeFile);
      writeWeights(file, t.sit.table, t.ema.get(), config.storeDtype, { ...metadata, ema: "true", vae_sha256: config.sit.vaeSha256 ?? "", vae_scaling_factor: vaeMeta.scaling_factor ?? "" });
    },
    async evaluate(file, c) {
      const sit = buildSiT(ctx, c.preset), vae = openVae(true), velocity = sitVelocity(sit);
      try {
        loadWeights(sit.params, file, "sit");
        const trainedOn = readWeightsMetadata(file).vae_sha256;
        if (trainedOn && trainedOn !== fileSha256(vaeFile)) log(`sit: warning: ${file} was trained on another VAE than ${vaeFile} (sha256 ${trainedOn.slice(0, 12)}…); its latents will not match`);
        const s = c.sit, K = sit.config.numClasses, perClass = s.samplesPerClass;
        // samples per class, decoded, on a sheet (and scored by the classifier when there is one)
        const labels = Int32Array.from({ length: K * perClass }, (_, i) => Math.floor(i / perClass));
        log(`sit: sampling ${labels.length} latents (Euler, ${s.sampleSteps} steps, cfg ${s.cfgScale})`);
        const z = sampleEuler(velocity, labels, { steps: s.sampleSteps, cfgScale: s.cfgScale, seed: c.seed });
        const L = sit.config.inChannels, h = sit.config.inputSize, zt = ctx.upload(z, [labels.length, L, h, h], "data");
        const images = vae.decode(zt, labels.length, h, h, { training: false }).readFloat();
        zt.free();
        const png = join(dirname(file), SAMPLES_PNG);
        await writeSampleSheet(png, images, 32, 32, FASHION_MNIST_CLASSES.slice(0, K), perClass, 10, `Euler ${s.sampleSteps} steps, cfg ${s.cfgScale}`);
        const classifierFile = o.classifierWeights ?? join(dirname(file), "classifier.safetensors");
        const scored = existsSync(classifierFile) ? scoreSamples(ctx, classifierFile, images, labels) : null;
        // the SiT as a classifier on clean test images
        const limit = Math.min(s.classifyImages, c.evalLimit ?? Infinity);
        const test = firstImages(o.testSource ?? fashionMnistTest(limit), limit), n = test.length;
        log(`sit: scoring ${n} test images under each of ${K} classes at t = ${s.classifyTimes.join(", ")}`);
        const r = flowClassify(velocity, await scaledLatents(ctx, vae, test), test.labels, s.classifyTimes, c.seed);
        return {
          samples_png: SAMPLES_PNG, samples_per_class: perClass, sample_steps: s.sampleSteps, cfg_scale: s.cfgScale,
          sample_accuracy: scored, sample_classifier: scored === null ? null : relative(dirname(file), classifierFile),
          flow_classifier_accuracy: r.accuracy, flow_classifier_images: r.images, flow_classifier_per_t: r.perTime,
        };
      } finally {
        velocity.free();
        vae.free();
        sit.free();
      }
    },
  };
}
