// Linear filters with the exact kernels and borders of the reference's calls.
import { dexp } from "../detmath.ts";
import { clampIndex, reflect101Index, reflectIndex } from "./border.ts";

export type ScipyMode = "nearest" | "reflect";

// scipy.ndimage.gaussian_filter1d's kernel: radius int(truncate * sigma + 0.5), exp(-x^2 / 2 sigma^2), normalised.
const kernelCache = new Map<string, Float64Array>();
export function scipyGaussianKernel(sigma: number, truncate: number): Float64Array {
  const key = `${sigma}/${truncate}`;
  let k = kernelCache.get(key);
  if (!k) {
    const radius = Math.trunc(truncate * sigma + 0.5);
    k = new Float64Array(2 * radius + 1);
    let sum = 0;
    for (let i = -radius; i <= radius; i++) sum += k[i + radius] = dexp((-0.5 / (sigma * sigma)) * i * i);
    for (let i = 0; i < k.length; i++) k[i] /= sum;
    kernelCache.set(key, k);
  }
  return k;
}

// skimage.filters.gaussian(x, sigma, mode, truncate) on an (H, W, C) float image, channels not mixed
// (multichannel=True): a 1-D pass down the rows then along the columns, like scipy.ndimage.gaussian_filter.
export function gaussianFilter(src: Float64Array, H: number, W: number, C: number, sigma: number, mode: ScipyMode = "nearest", truncate = 4): Float64Array {
  if (sigma <= 1e-15) return src.slice();
  const k = scipyGaussianKernel(sigma, truncate), r = (k.length - 1) >> 1;
  const index = mode === "nearest" ? clampIndex : reflectIndex;
  const tmp = new Float64Array(src.length), out = new Float64Array(src.length);
  if (k.length > H) foldedAxis(src, tmp, H, W * C, foldedKernel(k, H, mode));
  else correlateAxis(src, tmp, H, W * C, k, r, index); // along H (stride W*C)
  if (k.length > W) {
    const m = foldedKernel(k, W, mode);
    for (let y = 0; y < H; y++) foldedRowChannels(tmp, out, y, W, C, m);
  } else {
    for (let y = 0; y < H; y++) correlateRowChannels(tmp, out, y, W, C, k, r, index);
  }
  return out;
}

// A kernel longer than the axis, folded through the border map into an n x n matrix (the same sums, fewer
// operations): m[i * n + j] = sum of the taps of output i that land on input j.
const foldedCache = new Map<string, Float64Array>();
function foldedKernel(k: Float64Array, n: number, mode: ScipyMode): Float64Array {
  const key = `${k.length}/${k[0]}/${n}/${mode}`;
  let m = foldedCache.get(key);
  if (!m) {
    const r = (k.length - 1) >> 1, index = mode === "nearest" ? clampIndex : reflectIndex;
    m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = -r; j <= r; j++) m[i * n + index(i + j, n)] += k[r + j];
    foldedCache.set(key, m);
  }
  return m;
}

function foldedAxis(src: Float64Array, out: Float64Array, n: number, rowLen: number, m: Float64Array): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const w = m[i * n + j], a = j * rowLen, o = i * rowLen;
    if (w !== 0) for (let x = 0; x < rowLen; x++) out[o + x] += w * src[a + x];
  }
}

function foldedRowChannels(src: Float64Array, out: Float64Array, y: number, W: number, C: number, m: Float64Array): void {
  const row = y * W * C;
  for (let x = 0; x < W; x++) for (let j = 0; j < W; j++) {
    const w = m[x * W + j];
    if (w !== 0) for (let c = 0; c < C; c++) out[row + x * C + c] += w * src[row + j * C + c];
  }
}

// out[y, :] = sum_j k[j] * src[index(y + j - r), :] — rows of `rowLen` values.
function correlateAxis(src: Float64Array, out: Float64Array, n: number, rowLen: number, k: Float64Array, r: number, index: (i: number, n: number) => number): void {
  for (let y = 0; y < n; y++) {
    const o = y * rowLen;
    for (let x = 0; x < rowLen; x++) out[o + x] = src[o + x] * k[r];
    for (let j = 1; j <= r; j++) {
      const a = index(y - j, n) * rowLen, b = index(y + j, n) * rowLen, w = k[r + j];
      for (let x = 0; x < rowLen; x++) out[o + x] += (src[a + x] + src[b + x]) * w;
    }
  }
}

function correlateRowChannels(src: Float64Array, out: Float64Array, y: number, W: number, C: number, k: Float64Array, r: number, index: (i: number, n: number) => number): void {
  const row = y * W * C;
  for (let x = 0; x < W; x++) {
    for (let c = 0; c < C; c++) {
      let acc = src[row + x * C + c] * k[r];
      for (let j = 1; j <= r; j++) acc += (src[row + index(x - j, W) * C + c] + src[row + index(x + j, W) * C + c]) * k[r + j];
      out[row + x * C + c] = acc;
    }
  }
}

// cv2.filter2D(x, -1, kernel) on each channel of an (H, W, C) float image: correlation, anchor at the kernel
// centre, BORDER_REFLECT_101. Rows/columns of the kernel that are exactly zero are skipped (exact).
export function filter2D(src: Float64Array, H: number, W: number, C: number, kernel: ArrayLike<number>, ksize: number): Float64Array {
  const half = (ksize - 1) >> 1;
  let y0 = ksize, y1 = -1, x0 = ksize, x1 = -1;
  for (let i = 0; i < ksize; i++) for (let j = 0; j < ksize; j++) if (kernel[i * ksize + j] !== 0) {
    y0 = Math.min(y0, i); y1 = Math.max(y1, i); x0 = Math.min(x0, j); x1 = Math.max(x1, j);
  }
  const out = new Float64Array(src.length);
  if (y1 < 0) return out;
  const colIndex = new Int32Array((x1 - x0 + 1) * W);
  for (let x = 0; x < W; x++) for (let j = x0; j <= x1; j++) colIndex[x * (x1 - x0 + 1) + j - x0] = reflect101Index(x + j - half, W) * C;
  const kw = x1 - x0 + 1;
  for (let y = 0; y < H; y++) {
    for (let i = y0; i <= y1; i++) {
      const srcRow = reflect101Index(y + i - half, H) * W * C;
      for (let x = 0; x < W; x++) {
        const ci = x * kw, o = (y * W + x) * C;
        for (let j = 0; j < kw; j++) {
          const w = kernel[i * ksize + j + x0];
          if (w === 0) continue;
          const s = srcRow + colIndex[ci + j];
          for (let c = 0; c < C; c++) out[o + c] += w * src[s + c];
        }
      }
    }
  }
  return out;
}

// cv2.blur(x, (3, 3)): normalised 3x3 box, BORDER_REFLECT_101, one channel.
export function boxBlur3(src: ArrayLike<number>, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    for (let dy = -1; dy <= 1; dy++) {
      const row = reflect101Index(y + dy, H) * W;
      for (let dx = -1; dx <= 1; dx++) s += src[row + reflect101Index(x + dx, W)];
    }
    out[y * W + x] = s;
  }
  return out; // sums; callers scale by 1/9 as their dtype requires
}

// OpenCV's getGaussianKernel(n, sigma) for sigma > 0.
export function cvGaussianKernel(n: number, sigma: number): Float64Array {
  const k = new Float64Array(n), scale2X = -0.5 / (sigma * sigma);
  let sum = 0;
  for (let i = 0; i < n; i++) { const x = i - (n - 1) * 0.5; sum += k[i] = dexp(scale2X * x * x); }
  for (let i = 0; i < n; i++) k[i] *= 1 / sum;
  return k;
}

// cv2.GaussianBlur(img, (n, n), sigma) on a single-channel float32 image, BORDER_REFLECT_101.
export function cvGaussianBlur(src: Float32Array, H: number, W: number, n: number, sigma: number): Float32Array {
  const k = cvGaussianKernel(n, sigma), r = (n - 1) >> 1;
  const tmp = new Float32Array(H * W), out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    for (let j = -r; j <= r; j++) s += k[j + r] * src[y * W + reflect101Index(x + j, W)];
    tmp[y * W + x] = s;
  }
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    for (let j = -r; j <= r; j++) s += k[j + r] * tmp[reflect101Index(y + j, H) * W + x];
    out[y * W + x] = s;
  }
  return out;
}
