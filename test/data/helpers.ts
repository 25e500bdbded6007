import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";
import { loadFashionMnist } from "../../src/data/fashion-mnist.ts";
import { makeImage, padTo, type Image } from "../../src/data/image.ts";
import { Rng } from "../../src/data/rng.ts";

// A temporary folder removed after the test file.
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `dusa-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));

let fmnist: ReturnType<typeof loadFashionMnist> | undefined;
// The first n Fashion-MNIST test images, zero-padded to 32x32 as the generator does.
export function fmnistImages(n: number, offset = 0): Image[] {
  fmnist ??= loadFashionMnist("test");
  return Array.from({ length: n }, (_, i) => padTo(fmnist!.image(offset + i), 32, 32));
}

export function constantImage(h: number, w: number, c: number, value: number): Image {
  return makeImage(h, w, c, new Uint8Array(h * w * c).fill(value));
}

// Smooth colour gradients with a little noise.
export function colourImage(h: number, w: number, seed = 1): Image {
  const img = makeImage(h, w, 3), r = new Rng(seed, "test-image");
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const base = [128 + 90 * Math.sin(x / 5), 128 + 90 * Math.cos(y / 7), 40 + (150 * (x + y)) / (h + w)];
    for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c] + 10 * r.normal())));
  }
  return img;
}

export const rmse = (a: Image, b: Image): number => {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) { const d = (a.data[i] - b.data[i]) / 255; s += d * d; }
  return Math.sqrt(s / a.data.length);
};

export const mean = (xs: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < xs.length; i++) s += xs[i]; return s / xs.length; };
