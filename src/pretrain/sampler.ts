// Sampling a flow model (REPA convention: t = 1 noise, t = 0 data): Euler steps of dx/dt = v from t = 1 down to
// t = 0, with optional classifier-free guidance v = v(∅) + s·(v(y) − v(∅)); and the per-class sheet of samples.
import { makeImage, type Image } from "../data/image.ts";
import { writeContactSheet } from "../data/preview.ts";
import { Rng } from "../data/rng.ts";
import type { VelocityModel } from "./velocity.ts";

export type SamplerOptions = { steps: number; cfgScale: number; seed: number };

/** Starting noise of sample i: its own stream, so a sample does not depend on how many are drawn with it. */
export function initialNoise(n: number, D: number, seed: number): Float32Array {
  const x = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const rng = new Rng(seed, "sampler-noise", i);
    for (let d = 0; d < D; d++) x[i * D + d] = rng.normal();
  }
  return x;
}

/** Latents (n, D) for the given class labels. */
export function sampleEuler(model: VelocityModel, labels: Int32Array, o: SamplerOptions): Float32Array {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`sampler: steps must be a positive integer, got ${o.steps}`);
  const n = labels.length, D = model.dims, guided = o.cfgScale !== 1;
  const x = initialNoise(n, D, o.seed), dt = 1 / o.steps;
  const m = guided ? 2 * n : n;
  const y = new Int32Array(m);
  y.set(labels);
  if (guided) y.fill(model.classes, n);
  const t = new Float32Array(m);
  for (let k = 0; k < o.steps; k++) {
    t.fill(1 - k * dt);
    let input = x;
    if (guided) {
      input = new Float32Array(m * D);
      input.set(x);
      input.set(x, n * D);
    }
    const v = model.predict(input, t, y, m);
    for (let i = 0; i < n * D; i++) {
      const vi = guided ? v[n * D + i] + o.cfgScale * (v[i] - v[n * D + i]) : v[i];
      x[i] -= dt * vi;
    }
  }
  return x;
}

/** A grayscale image from a (H, W) plane in [-1, 1] (clipped). */
export function planeToImage(data: Float32Array, offset: number, H: number, W: number): Image {
  const img = makeImage(H, W, 1);
  for (let p = 0; p < H * W; p++) img.data[p] = Math.round(Math.min(Math.max((data[offset + p] + 1) / 2, 0), 1) * 255);
  return img;
}

/** One row per class of `perRow` images (1, H, W) in [-1, 1], images ordered class by class. */
export async function writeSampleSheet(path: string, images: Float32Array, H: number, W: number, classNames: string[], perClass: number, perRow: number, title: string): Promise<void> {
  const rows = classNames.map((label, c) => ({
    label,
    cells: [Array.from({ length: Math.min(perRow, perClass) }, (_, k) => planeToImage(images, (c * perClass + k) * H * W, H, W))],
  }));
  await writeContactSheet(path, rows, [title]);
}
