// Evaluations written next to the weights: the classifier's clean test accuracy, the VAE's reconstruction PSNR,
// and the SiT used as a classifier (the class whose flow loss on the image is lowest). Accuracies are percentages.
import { createLoader } from "../data/loader.ts";
import { Rng } from "../data/rng.ts";
import type { ImageSource } from "../data/source.ts";
import { FASHION_MNIST_AUX, FASHION_MNIST_TASK } from "../data/transforms.ts";
import type { ConvNeXt } from "../models/convnext.ts";
import type { AutoencoderKL } from "../models/vae.ts";
import type { Context } from "../native/index.ts";
import type { VelocityModel } from "./velocity.ts";

export type Accuracy = { accuracy: number; correct: number; images: number };

/** Top-1 accuracy of a classifier on task-transformed images. */
export async function classifierAccuracy(ctx: Context, model: ConvNeXt, source: ImageSource, batch = 250): Promise<Accuracy> {
  const loader = createLoader(source, { batchSize: batch, task: FASHION_MNIST_TASK, workers: 0 });
  const C = model.config.numClasses;
  let correct = 0, images = 0;
  for await (const b of loader) {
    const [B, Ch, H, W] = b.taskShape;
    const x = ctx.upload(b.task, [B, Ch, H, W], "data"), pred = ctx.alloc([B], "data", "i32");
    ctx.call("dusa_argmax", pred, model.forward(x, B, H, W), B, C);
    const p = pred.read();
    for (let i = 0; i < B; i++) correct += p[i] === b.labels[i] ? 1 : 0;
    images += B;
    x.free();
    pred.free();
  }
  return { accuracy: (100 * correct) / images, correct, images };
}

/** Top-1 accuracy of a classifier on images (n, 1, 32, 32) in [−1, 1] (decoded samples), normalised as the task transform does. */
export function imageAccuracy(ctx: Context, model: ConvNeXt, images: Float32Array, labels: Int32Array): number {
  const n = labels.length, [mean, std] = [FASHION_MNIST_TASK.mean[0], FASHION_MNIST_TASK.std[0]];
  const x = ctx.upload(images.map((p) => (Math.min(Math.max((p + 1) / 2, 0), 1) - mean) / std), [n, 1, 32, 32], "data");
  const pred = ctx.alloc([n], "data", "i32");
  ctx.call("dusa_argmax", pred, model.forward(x, n, 32, 32), n, model.config.numClasses);
  const p = pred.read();
  x.free();
  pred.free();
  return (100 * labels.reduce((k, l, i) => k + (p[i] === l ? 1 : 0), 0)) / n;
}

/** PSNR (dB, peak = the [0, 1] pixel range) of one image pair in [-1, 1]; the reconstruction is clipped as an image would be. */
export function psnr(x: Float32Array, recon: Float32Array, offset: number, n: number): number {
  let se = 0;
  for (let i = offset; i < offset + n; i++) {
    const d = (Math.min(Math.max(recon[i], -1), 1) - x[i]) / 2;
    se += d * d;
  }
  return 10 * Math.log10(n / Math.max(se, 1e-12));
}

export type Reconstruction = { psnr: number; psnrOfMeanMse: number; images: number };

/** Reconstruction through the posterior mean: mean PSNR over images, and the PSNR of the mean squared error. */
export async function vaeReconstruction(ctx: Context, vae: AutoencoderKL, source: ImageSource, batch = 125): Promise<Reconstruction> {
  const loader = createLoader(source, { batchSize: batch, task: FASHION_MNIST_TASK, aux: FASHION_MNIST_AUX, workers: 0 });
  let sum = 0, se = 0, pixels = 0, images = 0;
  for await (const b of loader) {
    const [B, C, H, W] = b.auxShape!, f = vae.downFactor, n = C * H * W;
    const x = ctx.upload(b.aux!, [B, C, H, W], "data");
    const z = vae.encodeMean(x, B, H, W, { training: false });
    const recon = vae.decode(z, B, H / f, W / f, { training: false }).readFloat();
    for (let i = 0; i < B; i++) {
      const p = psnr(b.aux!, recon, i * n, n);
      sum += p;
      se += n / 10 ** (p / 10);
    }
    pixels += B * n;
    images += B;
    x.free();
  }
  return { psnr: sum / images, psnrOfMeanMse: 10 * Math.log10(pixels / se), images };
}

export type FlowClassification = { accuracy: number; images: number; perTime: { t: number; accuracy: number }[]; predictions: Int32Array };

/**
 * The generative model as a classifier: for each image, noise eps_j and x_t = (1 − t_j) z0 + t_j eps_j at each t_j of
 * `times` (the same for every class), and the flow loss |v(x_t, t_j, c) − (eps_j − z0)|² of every class c; the
 * prediction is the class with the lowest loss averaged over the times (equal weights). perTime: the accuracy
 * of each t alone (DUSA scores at one t, 0.25 by default).
 */
export function flowClassify(model: VelocityModel, z0: Float32Array, labels: Int32Array, times: number[], seed: number, imagesPerChunk = 25): FlowClassification {
  const D = model.dims, K = model.classes, T = times.length, N = labels.length;
  if (z0.length !== N * D) throw new Error(`flowClassify: ${z0.length} latent values for ${N} images of ${D}`);
  const losses = new Float64Array(N * T * K); // (image, time, class)
  for (let s = 0; s < N; s += imagesPerChunk) {
    const m = Math.min(imagesPerChunk, N - s), rows = m * T * K;
    const x = new Float32Array(rows * D), t = new Float32Array(rows), y = new Int32Array(rows), target = new Float32Array(m * T * D);
    for (let i = 0; i < m; i++) {
      const z = z0.subarray((s + i) * D, (s + i + 1) * D);
      for (let j = 0; j < T; j++) {
        const rng = new Rng(seed, "flow-classify", s + i, j), tj = times[j], v = target.subarray((i * T + j) * D, (i * T + j + 1) * D);
        const xt = new Float32Array(D);
        for (let d = 0; d < D; d++) {
          const eps = rng.normal();
          xt[d] = (1 - tj) * z[d] + tj * eps;
          v[d] = eps - z[d];
        }
        for (let c = 0; c < K; c++) {
          const r = (i * T + j) * K + c;
          x.set(xt, r * D);
          t[r] = tj;
          y[r] = c;
        }
      }
    }
    const pred = model.predict(x, t, y, rows);
    for (let r = 0; r < rows; r++) {
      const v = target.subarray(Math.floor(r / K) * D);
      let se = 0;
      for (let d = 0; d < D; d++) {
        const e = pred[r * D + d] - v[d];
        se += e * e;
      }
      losses[s * T * K + r] = se / D;
    }
  }
  const argmin = (i: number, js: number[]) => {
    let best = 0, bestLoss = Infinity;
    for (let c = 0; c < K; c++) {
      let l = 0;
      for (const j of js) l += losses[(i * T + j) * K + c];
      if (l < bestLoss) [best, bestLoss] = [c, l];
    }
    return best;
  };
  const all = times.map((_, j) => j);
  const predictions = Int32Array.from({ length: N }, (_, i) => argmin(i, all));
  const accuracyOf = (p: (i: number) => number) => (100 * labels.reduce((n, l, i) => n + (p(i) === l ? 1 : 0), 0)) / N;
  return {
    accuracy: accuracyOf((i) => predictions[i]),
    images: N,
    perTime: times.map((tj, j) => ({ t: tj, accuracy: accuracyOf((i) => argmin(i, [j])) })),
    predictions,
  };
}
