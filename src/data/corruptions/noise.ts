// gaussian_noise, shot_noise, impulse_noise, speckle_noise: x in [0, 1], per element, clip, x255, truncate.
import { dexp } from "../detmath.ts";
import type { Rng } from "../rng.ts";
import type { CorruptFn } from "./context.ts";
import { fromUnitFloat } from "./float-image.ts";

export const gaussianNoise: CorruptFn = (img, severity, rng, ctx) => {
  const sigma = ctx.params.gaussian_noise[severity - 1];
  const x = new Float64Array(img.data.length);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i] / 255 + sigma * rng.normal();
  return fromUnitFloat(x, img);
};

export const speckleNoise: CorruptFn = (img, severity, rng, ctx) => {
  const sigma = ctx.params.speckle_noise[severity - 1];
  const x = new Float64Array(img.data.length);
  for (let i = 0; i < x.length; i++) { const v = img.data[i] / 255; x[i] = v + v * sigma * rng.normal(); }
  return fromUnitFloat(x, img);
};

// Poisson(x * c) / c. x is v/255 for a byte v, so each c needs 256 Poisson laws; each is sampled by
// inverting its CDF with one uniform (exact up to double rounding of the CDF).
export const shotNoise: CorruptFn = (img, severity, rng, ctx) => {
  const c = ctx.params.shot_noise[severity - 1];
  const tables = poissonTables(c);
  const x = new Float64Array(img.data.length);
  for (let i = 0; i < x.length; i++) x[i] = samplePoisson(tables[img.data[i]], rng) / c;
  return fromUnitFloat(x, img);
};

// skimage.util.random_noise(mode="s&p", amount, salt_vs_pepper=0.5): each element flipped with probability
// `amount`, to 1 or 0 with equal odds.
export const impulseNoise: CorruptFn = (img, severity, rng, ctx) => {
  const amount = ctx.params.impulse_noise[severity - 1];
  const x = new Float64Array(img.data.length);
  for (let i = 0; i < x.length; i++) {
    const flipped = rng.uniform() < amount, salt = rng.uniform() < 0.5;
    x[i] = flipped ? (salt ? 1 : 0) : img.data[i] / 255;
  }
  return fromUnitFloat(x, img);
};

const tableCache = new Map<number, Float64Array[]>();

export function poissonTables(c: number): Float64Array[] {
  let t = tableCache.get(c);
  if (!t) {
    t = Array.from({ length: 256 }, (_, v) => poissonCdf((v / 255) * c));
    tableCache.set(c, t);
  }
  return t;
}

function poissonCdf(lambda: number): Float64Array {
  if (lambda === 0) return Float64Array.of(1);
  const cdf: number[] = [];
  let p = dexp(-lambda), sum = 0;
  for (let k = 0; ; k++) {
    if (k > 0) p *= lambda / k;
    sum += p;
    cdf.push(sum);
    if (k > lambda && (p < 1e-18 * sum || sum >= 1)) break;
  }
  return Float64Array.from(cdf);
}

export function samplePoisson(cdf: Float64Array, rng: Rng): number {
  const u = rng.uniform();
  let lo = 0, hi = cdf.length - 1;
  if (u >= cdf[hi]) return hi;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] > u) hi = mid; else lo = mid + 1; }
  return lo;
}
