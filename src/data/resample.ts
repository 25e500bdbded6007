// Resizing as Pillow's Image.resize does it for 8-bit images (Resample.c): separable, horizontal pass first,
// an 8-bit intermediate, 22-bit fixed-point coefficients. With "box" this is the reference's pixelate; with
// "bilinear"/"bicubic" it is torchvision's Resize on PIL images (antialiased when shrinking).
import { makeImage, type Image } from "./image.ts";

export type ResampleFilter = "box" | "bilinear" | "bicubic";

const FILTERS: Record<ResampleFilter, { support: number; weight: (x: number) => number }> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, weight: (x) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; } },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

const PRECISION_BITS = 32 - 8 - 2;

interface Coeffs { ksize: number; bounds: Int32Array; kk: Int32Array }

function precomputeCoeffs(inSize: number, outSize: number, filter: ResampleFilter): Coeffs {
  const { support: baseSupport, weight } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = baseSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2), kk = new Int32Array(outSize * ksize);
  const pre = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale, ss = 1 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) ww += pre[x] = weight((x + xmin - center + 0.5) * ss);
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? pre[x] / ww : pre[x];
      kk[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin; bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (v: number): number => (v >= 255 * (1 << PRECISION_BITS) + (1 << PRECISION_BITS) ? 255 : v <= 0 ? 0 : Math.floor(v / (1 << PRECISION_BITS)));

export function resample(img: Image, outWidth: number, outHeight: number, filter: ResampleFilter): Image {
  const C = img.channels;
  let cur = img;
  if (outWidth !== img.width) {
    const { ksize, bounds, kk } = precomputeCoeffs(img.width, outWidth, filter);
    const out = makeImage(cur.height, outWidth, C), s = cur.data, d = out.data, inW = cur.width;
    for (let y = 0; y < cur.height; y++) for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1], k = xx * ksize;
      for (let c = 0; c < C; c++) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let x = 0; x < xmax; x++) ss += s[(y * inW + x + xmin) * C + c] * kk[k + x];
        d[(y * outWidth + xx) * C + c] = clip8(ss);
      }
    }
    cur = out;
  }
  if (outHeight !== img.height) {
    const { ksize, bounds, kk } = precomputeCoeffs(img.height, outHeight, filter);
    const W = cur.width, out = makeImage(outHeight, W, C), s = cur.data, d = out.data;
    for (let yy = 0; yy < outHeight; yy++) {
      const ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1], k = yy * ksize;
      for (let x = 0; x < W * C; x++) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let y = 0; y < ymax; y++) ss += s[(y + ymin) * W * C + x] * kk[k + y];
        d[yy * W * C + x] = clip8(ss);
      }
    }
    cur = out;
  }
  return cur === img ? makeImage(img.height, img.width, C, img.data.slice()) : cur;
}

// torchvision Resize(size) with an int: the shorter side becomes `size`, the longer keeps the aspect ratio.
export function resizeShorterSide(img: Image, size: number, filter: ResampleFilter = "bilinear"): Image {
  const { height: h, width: w } = img;
  if (Math.min(h, w) === size) return img;
  const [oh, ow] = h <= w ? [size, Math.trunc((size * w) / h)] : [Math.trunc((size * h) / w), size];
  return resample(img, ow, oh, filter);
}

// cv2.resize(img, (0, 0), fx=f, fy=f) with INTER_LINEAR (half-pixel centres, no antialiasing).
export function cvResizeLinear(img: Image, factor: number): Image {
  const oh = Math.round(img.height * factor), ow = Math.round(img.width * factor), C = img.channels;
  const out = makeImage(oh, ow, C), s = img.data, d = out.data, inv = 1 / factor;
  const axis = (n: number, inN: number) => {
    const i0 = new Int32Array(n), i1 = new Int32Array(n), f = new Float64Array(n);
    for (let o = 0; o < n; o++) {
      let src = (o + 0.5) * inv - 0.5;
      let i = Math.floor(src), fr = src - i;
      if (i < 0) { i = 0; fr = 0; }
      if (i >= inN - 1) { i = inN - 1; fr = 0; }
      i0[o] = i; i1[o] = Math.min(i + 1, inN - 1); f[o] = fr;
    }
    return { i0, i1, f };
  };
  const ax = axis(ow, img.width), ay = axis(oh, img.height), W = img.width;
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) for (let c = 0; c < C; c++) {
    const a = s[(ay.i0[y] * W + ax.i0[x]) * C + c], b = s[(ay.i0[y] * W + ax.i1[x]) * C + c];
    const p = s[(ay.i1[y] * W + ax.i0[x]) * C + c], q = s[(ay.i1[y] * W + ax.i1[x]) * C + c];
    const top = a + (b - a) * ax.f[x], bottom = p + (q - p) * ax.f[x];
    d[(y * ow + x) * C + c] = Math.round(top + (bottom - top) * ay.f[y]);
  }
  return out;
}
