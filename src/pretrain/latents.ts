// The VAE's posterior over the training images: its means give the latent scaling factor (1 / std over every
// latent element of the training set, as SD's 0.18215 was chosen), and means (plus log-variances) are what the SiT
// trains on. The SiT's are encoded once and cached next to its checkpoints, keyed by the VAE file's hash.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createLoader } from "../data/loader.ts";
import type { ImageSource } from "../data/source.ts";
import { FASHION_MNIST_AUX, FASHION_MNIST_TASK } from "../data/transforms.ts";
import { readSafetensors, writeSafetensorsSync } from "../io/safetensors.ts";
import type { AutoencoderKL } from "../models/vae.ts";
import type { Context } from "../native/index.ts";

/** Unscaled posterior means and (clamped) log-variances, (count, L, h, w) each. */
export type Latents = { mean: Float32Array; logvar: Float32Array; count: number; shape: [number, number, number] };

export async function encodeLatents(ctx: Context, vae: AutoencoderKL, source: ImageSource, batch = 250, onBatch?: (done: number) => void): Promise<Latents> {
  const f = vae.downFactor, L = vae.config.latentChannels, [H, W] = [32 / f, 32 / f].map(Math.round);
  const D = L * H * W, mean = new Float32Array(source.length * D), logvar = new Float32Array(source.length * D);
  const loader = createLoader(source, { batchSize: batch, task: FASHION_MNIST_TASK, aux: FASHION_MNIST_AUX, workers: 0 });
  let done = 0;
  for await (const b of loader) {
    const [B, C, h, w] = b.auxShape!;
    if (h / f !== H || w / f !== W) throw new Error(`encodeLatents: images are ${h}x${w}, expected 32x32`);
    const x = ctx.upload(b.aux!, [B, C, h, w], "data");
    const m = vae.encodeMoments(x, B, h, w, { training: false });
    mean.set(m.mean.readFloat(), done * D);
    logvar.set(m.logvar.readFloat(), done * D);
    x.free();
    done += B;
    onBatch?.(done);
  }
  return { mean, logvar, count: source.length, shape: [L, H, W] };
}

/** Mean and standard deviation over every element (float64 sums). */
export function elementStats(x: Float32Array): { mean: number; std: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < x.length; i++) {
    s += x[i];
    s2 += x[i] * x[i];
  }
  const mean = s / x.length;
  return { mean, std: Math.sqrt(Math.max(s2 / x.length - mean * mean, 0)) };
}

export function fileSha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** The cached latents of the first `count` images when the cache has the same key (VAE and images) and that many. */
export function readLatentCache(file: string, key: string, count: number): Latents | null {
  if (!existsSync(file)) return null;
  const { tensors, metadata } = readSafetensors(file);
  const mean = tensors.get("mean"), logvar = tensors.get("logvar");
  if (metadata.key !== key || !mean || !logvar || mean.shape[0] < count) return null;
  const [, L, H, W] = mean.shape, D = L * H * W;
  return { mean: (mean.data as Float32Array).slice(0, count * D), logvar: (logvar.data as Float32Array).slice(0, count * D), count, shape: [L, H, W] };
}

export function writeLatentCache(file: string, key: string, latents: Latents): void {
  const shape = [latents.count, ...latents.shape];
  writeSafetensorsSync(file, { mean: { shape, data: latents.mean }, logvar: { shape, data: latents.logvar } }, { key, count: latents.count });
}
