// The tiny VAE on Fashion-MNIST's aux input (32×32 in [−1, 1]): reconstruction from a reparameterised posterior
// sample z = mean + exp(logvar / 2)·eps, loss = mean pixel MSE + β·KL with the KL summed over latent elements and
// divided by the pixels of an image (LDM's weighting of a summed squared error + β·summed KL, per pixel; β = 1e-6
// as in LDM's autoencoders). The decoder's gradient goes through decodeBackward; the chain rule through the
// sample (d mean = dz + β'·mean, d logvar = dz·eps·σ/2 + β'·(exp(logvar) − 1)/2, β' = β / (B·pixels)) is done here.
// After training: scaling_factor = 1 / std of the posterior means over the training set, in the weights' metadata.
// Evaluation: reconstruction PSNR on the test set through the posterior mean.
import type { Batch } from "../data/loader.ts";
import type { ArraySource } from "../data/source.ts";
import { loadWeights } from "../models/load.ts";
import { loadPreset } from "../models/presets.ts";
import { AutoencoderKL, type VAEConfig, type VAEParts } from "../models/vae.ts";
import type { Context, Tensor } from "../native/index.ts";
import { trainAll } from "../nn/params.ts";
import { Optimizer } from "../tta/optimizer.ts";
import type { TrainedParts } from "./checkpoint.ts";
import type { PretrainConfig } from "./config.ts";
import { vaeReconstruction } from "./eval.ts";
import { initVae } from "./init.ts";
import { elementStats, encodeLatents } from "./latents.ts";
import { addMetadata, readWeightsMetadata, writeWeights } from "./outputs.ts";
import type { Pipeline, RunOptions, TrainerHandle } from "./run.ts";
import { batchesPerEpoch, epochBatches, fashionMnistTest, fashionMnistTrain } from "./training-data.ts";

const NOISE_STREAM = 0x7ae5eedn;

export function vaePresetConfig(preset: string): VAEConfig {
  const p = loadPreset(preset);
  if (p.family !== "vae") throw new Error(`pretrain vae: preset ${preset} is a ${p.family} model, not a VAE`);
  return p.config;
}

/** A VAE built from a preset with the scaling factor a trained weights file declares. */
export function loadTrainedVae(ctx: Context, preset: string, file: string, parts: VAEParts): AutoencoderKL {
  const metadata = readWeightsMetadata(file), scaling = Number(metadata.scaling_factor);
  if (!(scaling > 0)) throw new Error(`${file}: __metadata__ has no valid scaling_factor ('${metadata.scaling_factor}'); finish the VAE's training first (bun run pretrain vae --resume)`);
  const vae = new AutoencoderKL(ctx, { ...vaePresetConfig(preset), scalingFactor: scaling }, parts);
  loadWeights(vae.params, file, "vae");
  return vae;
}

export class VaeTrainer implements TrainerHandle<Batch> {
  readonly vae: AutoencoderKL;
  readonly parts: TrainedParts;
  readonly batchesPerEpoch: number;
  readonly latentSize: number; // L·h·w of one image
  #x: Tensor;
  #eps: Tensor;
  #z: Tensor;
  #drecon: Tensor;
  #dz: Tensor;
  #dmean: Tensor;
  #dlogvar: Tensor;

  constructor(readonly ctx: Context, readonly config: PretrainConfig, readonly source: ArraySource) {
    const c = config, B = c.batch, vc = { ...vaePresetConfig(c.preset), scalingFactor: 1 };
    this.vae = new AutoencoderKL(ctx, vc);
    initVae(this.vae.params, c.seed);
    this.vae.params.train(trainAll);
    const optimizer = new Optimizer(this.vae.params, { name: "adamw", lr: c.lr, betas: c.betas, eps: 1e-8, weightDecay: c.weightDecay });
    this.parts = { params: this.vae.params, optimizer, ema: null };
    this.batchesPerEpoch = batchesPerEpoch(source.length, B);
    const f = this.vae.downFactor, latent = [B, vc.latentChannels, 32 / f, 32 / f];
    this.latentSize = vc.latentChannels * (32 / f) ** 2;
    this.#x = ctx.alloc([B, vc.inChannels, 32, 32], "data");
    this.#drecon = ctx.alloc([B, vc.outChannels, 32, 32], "workspace");
    [this.#eps, this.#z, this.#dz, this.#dmean, this.#dlogvar] = [0, 1, 2, 3, 4].map(() => ctx.alloc(latent, "workspace"));
  }

  batches(epoch: number, from: number): AsyncIterable<Batch> {
    return epochBatches(this.source, this.config.batch, this.config.seed, epoch, from, true);
  }

  step(batch: Batch, step: number): number {
    const { ctx, vae } = this, [B, C, H, W] = batch.auxShape!, f = vae.downFactor;
    const x = batch.aux!, P = C * H * W, n = B * this.latentSize, beta = this.config.vae.klWeight / (B * P);
    this.#x.write(x);
    const moments = vae.encodeMoments(this.#x, B, H, W, { training: true });
    const mean = moments.mean.readFloat(), logvar = moments.logvar.readFloat();
    ctx.call("dusa_rng_normal", this.#eps, n, BigInt(this.config.seed) ^ NOISE_STREAM, step * Math.ceil(n / 4), 0, 1);
    const eps = this.#eps.readFloat(), std = logvar.map((l) => Math.exp(0.5 * l)), z = new Float32Array(n);
    let kl = 0;
    for (let i = 0; i < n; i++) {
      z[i] = mean[i] + std[i] * eps[i];
      kl += 0.5 * (mean[i] * mean[i] + std[i] * std[i] - 1 - logvar[i]);
    }
    this.#z.write(z);
    const recon = vae.decode(this.#z, B, H / f, W / f, { training: true }).readFloat();
    const drecon = new Float32Array(B * P);
    let se = 0;
    for (let i = 0; i < B * P; i++) {
      const d = recon[i] - x[i];
      se += d * d;
      drecon[i] = (2 * d) / (B * P);
    }
    this.#drecon.write(drecon);
    vae.decodeBackward(this.#drecon, this.#dz);
    const dz = this.#dz.readFloat(), dmean = new Float32Array(n), dlogvar = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      dmean[i] = dz[i] + beta * mean[i];
      dlogvar[i] = 0.5 * dz[i] * eps[i] * std[i] + 0.5 * beta * (std[i] * std[i] - 1);
    }
    this.#dmean.write(dmean);
    this.#dlogvar.write(dlogvar);
    vae.encodeBackward(this.#dmean, this.#dlogvar);
    return se / (B * P) + beta * kl;
  }

  free(): void {
    for (const t of [this.#x, this.#eps, this.#z, this.#drecon, this.#dz, this.#dmean, this.#dlogvar]) t.free();
    this.parts.optimizer.free();
    this.vae.free();
  }
}

export function vaePipeline(ctx: Context, config: PretrainConfig, o: RunOptions): Pipeline<Batch> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const trainSource = () => o.trainSource ?? fashionMnistTrain(config.limit);
  return {
    async trainer() {
      return new VaeTrainer(ctx, config, trainSource());
    },
    async exportWeights(trainer, file, metadata) {
      const t = trainer as VaeTrainer;
      writeWeights(file, t.vae.table, t.vae.params.get(), config.storeDtype, metadata);
      // the scaling factor of the weights as written (F16 rounding included), over the training images
      const encoder = new AutoencoderKL(ctx, { ...vaePresetConfig(config.preset), scalingFactor: 1 }, { encoder: true, decoder: false });
      try {
        loadWeights(encoder.params, file, "vae");
        const source = trainSource();
        log(`vae: latent statistics over ${source.length} training images`);
        const stats = elementStats((await encodeLatents(ctx, encoder, source)).mean);
        addMetadata(file, { scaling_factor: String(1 / stats.std), latent_mean: String(stats.mean), latent_std: String(stats.std) });
      } finally {
        encoder.free();
      }
    },
    async evaluate(file, c) {
      const vae = loadTrainedVae(ctx, c.preset, file, { encoder: true, decoder: true });
      try {
        const metadata = readWeightsMetadata(file);
        const r = await vaeReconstruction(ctx, vae, o.testSource ?? fashionMnistTest(c.evalLimit));
        return {
          test_psnr: r.psnr, test_psnr_of_mean_mse: r.psnrOfMeanMse, test_images: r.images,
          scaling_factor: Number(metadata.scaling_factor), latent_std: Number(metadata.latent_std), latent_mean: Number(metadata.latent_mean),
        };
      } finally {
        vae.free();
      }
    },
  };
}
