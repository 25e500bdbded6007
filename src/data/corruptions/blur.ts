// defocus_blur, glass_blur, motion_blur, zoom_blur, gaussian_blur.
import { makeImage, roundHalfEven } from "../image.ts";
import type { CorruptFn } from "./context.ts";
import { cvGaussianBlur, filter2D, gaussianFilter } from "./filters.ts";
import { fromUnitFloat, toUnitFloat } from "./float-image.ts";
import { motionBlur as applyMotionKernel, motionKernel } from "./motion-blur.ts";
import { numpyArange } from "./params.ts";

export const gaussianBlur: CorruptFn = (img, severity, _rng, ctx) => {
  const sigma = ctx.params.gaussian_blur[severity - 1];
  return fromUnitFloat(gaussianFilter(toUnitFloat(img), img.height, img.width, img.channels, sigma), img);
};

// The reference's disk(): an aliased disk on the grid -8..8 (or -r..r for r > 8), normalised, then
// cv2.GaussianBlur(ksize 3 (5 for r > 8), alias_blur); float32 like the reference.
export function diskKernel(radius: number, aliasBlur: number): { kernel: Float32Array; size: number } {
  const half = radius <= 8 ? 8 : Math.trunc(radius);
  const size = 2 * half + 1, disk = new Float32Array(size * size);
  let count = 0;
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) {
    const y = i - half, x = j - half;
    if (x * x + y * y <= radius * radius) { disk[i * size + j] = 1; count++; }
  }
  for (let i = 0; i < disk.length; i++) if (disk[i]) disk[i] = 1 / count; // float32 store, as np.float32 division
  return { kernel: cvGaussianBlur(disk, size, size, radius <= 8 ? 3 : 5, aliasBlur), size };
}

export const defocusBlur: CorruptFn = (img, severity, _rng, ctx) => {
  const [radius, aliasBlur] = ctx.params.defocus_blur[severity - 1];
  const { kernel, size } = diskKernel(radius, aliasBlur);
  return fromUnitFloat(filter2D(toUnitFloat(img), img.height, img.width, img.channels, kernel, size), img);
};

// Blur, then visit every pixel from bottom-right to top-left (`iterations` times) with an offset (dy, dx) drawn
// from randint(-d, d), i.e. -d..d-1, then blur again. The reference writes the visit as a tuple swap
// `x[h, w], x[h', w'] = x[h', w'], x[h, w]` on an (H, W, 3) array, where both sides are numpy views: the
// pixel at (h, w) receives (h', w') and (h', w') keeps its value. We do what that code does — a copy — for
// colour and grayscale alike (a 2-D grayscale array would have swapped; the CIFAR/ImageNet inputs are RGB).
export const glassBlur: CorruptFn = (img, severity, rng, ctx) => {
  const [sigma, delta, iterations] = ctx.params.glass_blur[severity - 1];
  const { height: H, width: W, channels: C } = img;
  const blurred = gaussianFilter(toUnitFloat(img), H, W, C, sigma);
  const x = new Uint8Array(blurred.length);
  for (let i = 0; i < x.length; i++) x[i] = blurred[i] * 255; // np.uint8(...) truncates
  for (let it = 0; it < iterations; it++) {
    for (let h = H - delta; h > delta; h--) for (let w = W - delta; w > delta; w--) {
      const dx = rng.int(-delta, delta), dy = rng.int(-delta, delta);
      const a = (h * W + w) * C, b = ((h + dy) * W + (w + dx)) * C;
      for (let c = 0; c < C; c++) x[a + c] = x[b + c];
    }
  }
  const f = new Float64Array(x.length);
  for (let i = 0; i < f.length; i++) f[i] = x[i] / 255;
  return fromUnitFloat(gaussianFilter(f, H, W, C, sigma), img);
};

export const motionBlur: CorruptFn = (img, severity, rng, ctx) => {
  const [radius, sigma] = ctx.params.motion_blur[severity - 1];
  return applyMotionKernel(img, motionKernel(radius, sigma, rng.uniformIn(-45, 45)));
};

// Mean of the image and its clipped zooms (float32 like the reference).
export const zoomBlur: CorruptFn = (img, severity, _rng, ctx) => {
  const zooms = numpyArange(...ctx.params.zoom_blur[severity - 1]);
  const x = new Float32Array(img.data.length);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i] / 255;
  const acc = new Float32Array(x.length), zoomed = new Float32Array(x.length);
  for (const z of zooms) {
    clippedZoom(x, img.height, img.width, img.channels, z, zoomed);
    for (let i = 0; i < acc.length; i++) acc[i] += zoomed[i];
  }
  const out = new Float32Array(x.length), n = Math.fround(zooms.length + 1);
  for (let i = 0; i < out.length; i++) {
    const v = Math.fround(Math.fround(x[i] + acc[i]) / n);
    out[i] = Math.fround((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
  }
  const res = makeImage(img.height, img.width, img.channels);
  for (let i = 0; i < out.length; i++) res.data[i] = out[i];
  return res;
};

// The reference's clipped_zoom: centre crop ceil(n / z), scipy.ndimage.zoom(order=1) to round(crop * z)
// (grid corners aligned), trimmed back to n. Done per axis, so non-square images work too.
export function clippedZoom(src: ArrayLike<number>, H: number, W: number, C: number, z: number, out: Float32Array | Float64Array): void {
  const ay = zoomAxis(H, z), ax = zoomAxis(W, z);
  for (let y = 0; y < H; y++) {
    const y0 = ay.i0[y], y1 = ay.i1[y], fy = ay.f[y];
    for (let x = 0; x < W; x++) {
      const x0 = ax.i0[x], x1 = ax.i1[x], fx = ax.f[x];
      for (let c = 0; c < C; c++) {
        const a = src[(y0 * W + x0) * C + c], b = src[(y0 * W + x1) * C + c];
        const p = src[(y1 * W + x0) * C + c], q = src[(y1 * W + x1) * C + c];
        out[(y * W + x) * C + c] = (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * p + fx * q);
      }
    }
  }
}

interface ZoomAxis { i0: Int32Array; i1: Int32Array; f: Float64Array }
const zoomAxisCache = new Map<string, ZoomAxis>();

function zoomAxis(n: number, z: number): ZoomAxis {
  const key = `${n}/${z}`;
  let a = zoomAxisCache.get(key);
  if (a) return a;
  const crop = Math.ceil(n / z), top = Math.floor((n - crop) / 2);
  const zoomedN = roundHalfEven(crop * z), trim = Math.floor((zoomedN - n) / 2);
  const scale = zoomedN > 1 ? (crop - 1) / (zoomedN - 1) : 0;
  a = { i0: new Int32Array(n), i1: new Int32Array(n), f: new Float64Array(n) };
  for (let o = 0; o < n; o++) {
    const c = (o + trim) * scale;
    let i = Math.floor(c);
    if (i >= crop - 1) i = crop - 1;
    a.f[o] = i === crop - 1 ? 0 : c - i;
    a.i0[o] = top + i;
    a.i1[o] = top + Math.min(i + 1, crop - 1);
  }
  zoomAxisCache.set(key, a);
  return a;
}
