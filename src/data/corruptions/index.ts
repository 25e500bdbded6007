// The corruption registry and the one-image entry point.
import type { Image } from "../image.ts";
import { Rng } from "../rng.ts";
import { defocusBlur, gaussianBlur, glassBlur, motionBlur, zoomBlur } from "./blur.ts";
import type { Corruption, CorruptionContext, CorruptFn } from "./context.ts";
import { brightness, contrast, elasticTransform, pixelate, saturate } from "./digital.ts";
import { loadFrostTextures } from "./frost-texture.ts";
import { jpegCompression } from "./jpeg.ts";
import { ALL_CORRUPTIONS, type CorruptionName, type SizeFamily } from "./names.ts";
import { gaussianNoise, impulseNoise, shotNoise, speckleNoise } from "./noise.ts";
import { paramsFor } from "./params.ts";
import { spatter } from "./spatter.ts";
import { fog, frost, snow } from "./weather.ts";

export * from "./names.ts";
export type { Corruption, CorruptionContext, CorruptFn } from "./context.ts";

const sync = (name: CorruptionName, random: boolean, apply: CorruptFn): Corruption => ({ name, random, apply });

export const CORRUPTIONS: Record<CorruptionName, Corruption> = {
  gaussian_noise: sync("gaussian_noise", true, gaussianNoise),
  shot_noise: sync("shot_noise", true, shotNoise),
  impulse_noise: sync("impulse_noise", true, impulseNoise),
  defocus_blur: sync("defocus_blur", false, defocusBlur),
  glass_blur: sync("glass_blur", true, glassBlur),
  motion_blur: sync("motion_blur", true, motionBlur),
  zoom_blur: sync("zoom_blur", false, zoomBlur),
  snow: sync("snow", true, snow),
  frost: sync("frost", true, frost),
  fog: sync("fog", true, fog),
  brightness: sync("brightness", false, brightness),
  contrast: sync("contrast", false, contrast),
  elastic_transform: sync("elastic_transform", true, elasticTransform),
  pixelate: sync("pixelate", false, pixelate),
  jpeg_compression: jpegCompression,
  speckle_noise: sync("speckle_noise", true, speckleNoise),
  gaussian_blur: sync("gaussian_blur", false, gaussianBlur),
  spatter: sync("spatter", true, spatter),
  saturate: sync("saturate", false, saturate),
};

// Frost textures are made (or loaded) only when frost is among the corruptions to run.
export async function makeCorruptionContext(opts: { family: SizeFamily; seed: number; frostDir?: string; corruptions?: readonly CorruptionName[] }): Promise<CorruptionContext> {
  const params = paramsFor(opts.family);
  const needFrost = !opts.corruptions || opts.corruptions.includes("frost");
  const frostImages = needFrost ? await loadFrostTextures({ seed: opts.seed, resize: params.frostResize, dir: opts.frostDir }) : [];
  return { family: opts.family, params, frostImages };
}

// The random stream of one (corruption, severity, image): independent of every other image's.
export const corruptionRng = (seed: number, name: CorruptionName, severity: number, imageIndex: number): Rng =>
  new Rng(seed, name, severity, imageIndex);

export async function corruptImages(imgs: Image[], indices: ArrayLike<number>, name: CorruptionName, severity: number, seed: number, ctx: CorruptionContext): Promise<Image[]> {
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) throw new Error(`severity must be 1..5, got ${severity}`);
  const c = CORRUPTIONS[name];
  if (c.applyBatch) return c.applyBatch(imgs, severity, ctx);
  return imgs.map((img, k) => c.apply(img, severity, corruptionRng(seed, name, severity, indices[k]), ctx));
}

export const corruptImage = async (img: Image, index: number, name: CorruptionName, severity: number, seed: number, ctx: CorruptionContext): Promise<Image> =>
  (await corruptImages([img], [index], name, severity, seed, ctx))[0];

export { ALL_CORRUPTIONS };
