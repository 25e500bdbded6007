// Tiny presets (same inputs and latents as the real ones, a fraction of the width) and a few Fashion-MNIST test
// images, so trainer tests run in milliseconds per step.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadFashionMnist } from "../../src/data/fashion-mnist.ts";
import type { ArraySource } from "../../src/data/source.ts";
import { pretrainConfig, type ConfigOverrides, type ModelName, type PretrainConfig } from "../../src/pretrain/config.ts";
import { firstImages } from "../../src/pretrain/training-data.ts";
import { tempDir } from "../config/temp-dir.ts";

const PRESETS: Record<ModelName, string> = {
  classifier: "family: convnext\nin_chans: 1\nnum_classes: 10\ndepths: [1, 1, 1, 1]\ndims: [16, 16, 32, 64]\nstem_patch: 2\nimage_size: 32\n",
  vae: "family: vae\nin_channels: 1\nout_channels: 1\nlatent_channels: 4\nblock_out: [8, 16, 16]\nlayers_per_block: 1\ngroups: 4\nscaling_factor: 1.0\nimage_size: 32\n",
  sit: "family: sit\ninput_size: 8\npatch_size: 2\nin_channels: 4\nhidden: 32\ndepth: 2\nheads: 4\nmlp_ratio: 2\nnum_classes: 10\n",
};

export type Scratch = {
  /** A fresh empty folder. */
  folder(): string;
  /** The default config of a model with a tiny preset, 2 epochs of batch 16 unless overridden. */
  config(model: ModelName, overrides?: ConfigOverrides, more?: Partial<PretrainConfig>): PretrainConfig;
};

/** Folders and tiny presets of one test file, removed after it (call at the top level of the file). */
export function scratch(name: string): Scratch {
  const root = tempDir(name);
  let folders = 0;
  const preset = (model: ModelName) => {
    const file = join(root, `tiny-${model}.yaml`);
    writeFileSync(file, PRESETS[model]);
    return file;
  };
  return {
    folder() {
      const dir = join(root, String(folders++));
      mkdirSync(dir);
      return dir;
    },
    config(model, overrides = {}, more = {}) {
      return { ...pretrainConfig(model, { epochs: 2, batch: 16, ...overrides }), preset: preset(model), ...more };
    },
  };
}

let test: ArraySource | null = null;

/** The first n images of the shipped Fashion-MNIST test set. */
export function images(n: number): ArraySource {
  test ??= loadFashionMnist("test");
  return firstImages(test, n);
}

/** Whether two arrays hold the same bytes. */
export function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
