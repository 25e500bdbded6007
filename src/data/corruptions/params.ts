// Per-severity parameters (severity 1..5 → index 0..4), copied from hendrycks/robustness
// ImageNet-C/create_c/make_cifar_c.py ("cifar") and make_imagenet_c.py ("imagenet").
import type { SizeFamily } from "./names.ts";

type Five<T> = readonly [T, T, T, T, T];

export interface CorruptionParams {
  gaussian_noise: Five<number>; // sigma
  shot_noise: Five<number>; // photons per unit intensity
  impulse_noise: Five<number>; // salt-and-pepper amount
  speckle_noise: Five<number>; // sigma of the multiplicative noise
  gaussian_blur: Five<number>; // sigma
  glass_blur: Five<readonly [sigma: number, maxDelta: number, iterations: number]>;
  defocus_blur: Five<readonly [radius: number, aliasBlur: number]>;
  motion_blur: Five<readonly [radius: number, sigma: number]>;
  zoom_blur: Five<readonly [start: number, stop: number, step: number]>; // numpy arange
  snow: Five<readonly [loc: number, scale: number, zoom: number, threshold: number, blurRadius: number, blurSigma: number, blend: number]>;
  frost: Five<readonly [imageWeight: number, frostWeight: number]>;
  fog: Five<readonly [strength: number, wibbleDecay: number]>;
  brightness: Five<number>; // added to V
  contrast: Five<number>; // factor about the per-channel mean
  elastic_transform: Five<readonly [alpha: number, sigma: number, affine: number]>;
  pixelate: Five<number>; // size factor
  jpeg_compression: Five<number>; // quality
  spatter: Five<readonly [loc: number, scale: number, sigma: number, threshold: number, intensity: number, mud: 0 | 1]>;
  saturate: Five<readonly [mult: number, add: number]>;
  frostResize: number; // the reference shrinks frost photos by 0.2 for 32x32 images
  fogMapSize: number; // plasma fractal size
}

const CIFAR_IMSIZE = 32;
const IMAGENET_IMSIZE = 244; // sic: "244 should have been 224, but ultimately nothing is incorrect"
const scaled = (s: number, t: readonly [number, number, number]) => [s * t[0], s * t[1], s * t[2]] as const;

export const CIFAR_PARAMS: CorruptionParams = {
  gaussian_noise: [0.04, 0.06, 0.08, 0.09, 0.10],
  shot_noise: [500, 250, 100, 75, 50],
  impulse_noise: [0.01, 0.02, 0.03, 0.05, 0.07],
  speckle_noise: [0.06, 0.10, 0.12, 0.16, 0.20],
  gaussian_blur: [0.4, 0.6, 0.7, 0.8, 1.0],
  glass_blur: [[0.05, 1, 1], [0.25, 1, 1], [0.4, 1, 1], [0.25, 1, 2], [0.4, 1, 2]],
  defocus_blur: [[0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [1, 0.2], [1.5, 0.1]],
  motion_blur: [[6, 1], [6, 1.5], [6, 2], [8, 2], [9, 2.5]],
  zoom_blur: [[1, 1.06, 0.01], [1, 1.11, 0.01], [1, 1.16, 0.01], [1, 1.21, 0.01], [1, 1.26, 0.01]],
  snow: [
    [0.1, 0.2, 1, 0.6, 8, 3, 0.95],
    [0.1, 0.2, 1, 0.5, 10, 4, 0.9],
    [0.15, 0.3, 1.75, 0.55, 10, 4, 0.9],
    [0.25, 0.3, 2.25, 0.6, 12, 6, 0.85],
    [0.3, 0.3, 1.25, 0.65, 14, 12, 0.8],
  ],
  frost: [[1, 0.2], [1, 0.3], [0.9, 0.4], [0.85, 0.4], [0.75, 0.45]],
  fog: [[0.2, 3], [0.5, 3], [0.75, 2.5], [1, 2], [1.5, 1.75]],
  brightness: [0.05, 0.1, 0.15, 0.2, 0.3],
  contrast: [0.75, 0.5, 0.4, 0.3, 0.15],
  elastic_transform: [
    scaled(CIFAR_IMSIZE, [0, 0, 0.08]),
    scaled(CIFAR_IMSIZE, [0.05, 0.2, 0.07]),
    scaled(CIFAR_IMSIZE, [0.08, 0.06, 0.06]),
    scaled(CIFAR_IMSIZE, [0.1, 0.04, 0.05]),
    scaled(CIFAR_IMSIZE, [0.1, 0.03, 0.03]),
  ],
  pixelate: [0.95, 0.9, 0.85, 0.75, 0.65],
  jpeg_compression: [80, 65, 58, 50, 40],
  spatter: [
    [0.62, 0.1, 0.7, 0.7, 0.5, 0],
    [0.65, 0.1, 0.8, 0.7, 0.5, 0],
    [0.65, 0.3, 1, 0.69, 0.5, 0],
    [0.65, 0.1, 0.7, 0.69, 0.6, 1],
    [0.65, 0.1, 0.5, 0.68, 0.6, 1],
  ],
  saturate: [[0.3, 0], [0.1, 0], [1.5, 0], [2, 0.1], [2.5, 0.2]],
  frostResize: 0.2,
  fogMapSize: 32,
};

export const IMAGENET_PARAMS: CorruptionParams = {
  gaussian_noise: [0.08, 0.12, 0.18, 0.26, 0.38],
  shot_noise: [60, 25, 12, 5, 3],
  impulse_noise: [0.03, 0.06, 0.09, 0.17, 0.27],
  speckle_noise: [0.15, 0.2, 0.35, 0.45, 0.6],
  gaussian_blur: [1, 2, 3, 4, 6],
  glass_blur: [[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]],
  defocus_blur: [[3, 0.1], [4, 0.5], [6, 0.5], [8, 0.5], [10, 0.5]],
  motion_blur: [[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]],
  zoom_blur: [[1, 1.11, 0.01], [1, 1.16, 0.01], [1, 1.21, 0.02], [1, 1.26, 0.02], [1, 1.31, 0.03]],
  snow: [
    [0.1, 0.3, 3, 0.5, 10, 4, 0.8],
    [0.2, 0.3, 2, 0.5, 12, 4, 0.7],
    [0.55, 0.3, 4, 0.9, 12, 8, 0.7],
    [0.55, 0.3, 4.5, 0.85, 12, 8, 0.65],
    [0.55, 0.3, 2.5, 0.85, 12, 12, 0.55],
  ],
  frost: [[1, 0.4], [0.8, 0.6], [0.7, 0.7], [0.65, 0.7], [0.6, 0.75]],
  fog: [[1.5, 2], [2, 2], [2.5, 1.7], [2.5, 1.5], [3, 1.4]],
  brightness: [0.1, 0.2, 0.3, 0.4, 0.5],
  contrast: [0.4, 0.3, 0.2, 0.1, 0.05],
  elastic_transform: [
    scaled(IMAGENET_IMSIZE, [2, 0.7, 0.1]),
    scaled(IMAGENET_IMSIZE, [2, 0.08, 0.2]),
    scaled(IMAGENET_IMSIZE, [0.05, 0.01, 0.02]),
    scaled(IMAGENET_IMSIZE, [0.07, 0.01, 0.02]),
    scaled(IMAGENET_IMSIZE, [0.12, 0.01, 0.02]),
  ],
  pixelate: [0.6, 0.5, 0.4, 0.3, 0.25],
  jpeg_compression: [25, 18, 15, 10, 7],
  spatter: [
    [0.65, 0.3, 4, 0.69, 0.6, 0],
    [0.65, 0.3, 3, 0.68, 0.6, 0],
    [0.65, 0.3, 2, 0.68, 0.5, 0],
    [0.65, 0.3, 1, 0.65, 1.5, 1],
    [0.67, 0.4, 1, 0.65, 1.5, 1],
  ],
  saturate: [[0.3, 0], [0.1, 0], [2, 0], [5, 0.1], [20, 0.2]],
  frostResize: 1,
  fogMapSize: 256,
};

export const paramsFor = (family: SizeFamily): CorruptionParams => (family === "cifar" ? CIFAR_PARAMS : IMAGENET_PARAMS);

// numpy.arange(start, stop, step) element for element: length ceil((stop - start) / step), values
// start + i * ((start + step) - start).
export function numpyArange(start: number, stop: number, step: number): number[] {
  const n = Math.ceil((stop - start) / step), delta = start + step - start;
  return Array.from({ length: n }, (_, i) => start + i * delta);
}
