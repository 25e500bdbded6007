// contrast, brightness, saturate, pixelate, elastic_transform.
import { LUMA, makeImage, type Image } from "../image.ts";
import { resample } from "../resample.ts";
import type { CorruptFn } from "./context.ts";
import { reflect101Index, reflectIndex } from "./border.ts";
import { gaussianFilter } from "./filters.ts";
import { fromUnitFloat } from "./float-image.ts";
import { hsvToRgb, rgbToHsv } from "./hsv.ts";

export const contrast: CorruptFn = (img, severity, _rng, ctx) => {
  const c = ctx.params.contrast[severity - 1];
  const { channels: C } = img, n = img.height * img.width;
  const means = new Float64Array(C);
  for (let p = 0; p < n; p++) for (let k = 0; k < C; k++) means[k] += img.data[p * C + k] / 255;
  for (let k = 0; k < C; k++) means[k] /= n;
  const out = new Float64Array(img.data.length);
  for (let p = 0; p < n; p++) for (let k = 0; k < C; k++) out[p * C + k] = (img.data[p * C + k] / 255 - means[k]) * c + means[k];
  return fromUnitFloat(out, img);
};

// Edits in HSV (skimage's conversion). A grayscale pixel is taken as R = G = B and converted back with
// Rec. 601 luma (exactly the value again when R = G = B, e.g. for brightness).
function hsvEdit(img: Image, edit: (hsv: Float64Array) => void): Image {
  const { channels: C } = img, n = img.height * img.width, d = img.data;
  const hsv = new Float64Array(3), rgb = new Float64Array(3), out = new Float64Array(d.length);
  for (let p = 0; p < n; p++) {
    const r = d[p * C] / 255, g = C >= 3 ? d[p * C + 1] / 255 : r, b = C >= 3 ? d[p * C + 2] / 255 : r;
    rgbToHsv(r, g, b, hsv);
    edit(hsv);
    hsvToRgb(hsv[0], hsv[1], hsv[2], rgb);
    if (C >= 3) { out[p * C] = rgb[0]; out[p * C + 1] = rgb[1]; out[p * C + 2] = rgb[2]; }
    else out[p * C] = rgb[0] === rgb[1] && rgb[1] === rgb[2] ? rgb[0] : LUMA[0] * rgb[0] + LUMA[1] * rgb[1] + LUMA[2] * rgb[2];
    for (let k = 3; k < C; k++) out[p * C + k] = d[p * C + k] / 255;
  }
  return fromUnitFloat(out, img);
}

const clip01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export const brightness: CorruptFn = (img, severity, _rng, ctx) => {
  const c = ctx.params.brightness[severity - 1];
  return hsvEdit(img, (hsv) => { hsv[2] = clip01(hsv[2] + c); });
};

export const saturate: CorruptFn = (img, severity, _rng, ctx) => {
  const [mult, add] = ctx.params.saturate[severity - 1];
  return hsvEdit(img, (hsv) => { hsv[1] = clip01(hsv[1] * mult + add); });
};

// PIL BOX resize to int(W c) x int(H c) and back.
export const pixelate: CorruptFn = (img, severity, _rng, ctx) => {
  const c = ctx.params.pixelate[severity - 1];
  const small = resample(img, Math.trunc(img.width * c), Math.trunc(img.height * c), "box");
  return resample(small, img.width, img.height, "box");
};

// A random affine warp (three points jittered by U(-affine, affine), cv2.warpAffine, BORDER_REFLECT_101),
// then a smooth displacement field (U(-1, 1) noise, Gaussian sigma with reflect borders and truncate 3, times
// alpha) sampled bilinearly with reflect borders, like scipy's map_coordinates(order=1, mode="reflect").
export const elasticTransform: CorruptFn = (img, severity, rng, ctx) => {
  const [alpha, sigma, affine] = ctx.params.elastic_transform[severity - 1];
  const { height: H, width: W, channels: C } = img;
  const f = Math.fround;
  const src = new Float32Array(img.data.length);
  for (let i = 0; i < src.length; i++) src[i] = img.data[i] / 255;

  const cy = Math.floor(H / 2), cx = Math.floor(W / 2), sq = Math.floor(Math.min(H, W) / 3);
  // (x, y) pairs as the reference builds them from (shape[0], shape[1]) — identical for square images.
  const pts1 = [[cy + sq, cx + sq], [cy + sq, cx - sq], [cy - sq, cx - sq]];
  const pts2 = pts1.map(([a, b]) => [f(a + f(rng.uniformIn(-affine, affine))), f(b + f(rng.uniformIn(-affine, affine)))]);
  const warped = warpAffineLinear(src, H, W, C, affineFromPoints(pts1, pts2));

  const dx = displacementField(H, W, sigma, alpha, rng), dy = displacementField(H, W, sigma, alpha, rng);
  const out = new Float32Array(src.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const ry = y + dy[y * W + x], rx = x + dx[y * W + x];
    const y0 = Math.floor(ry), x0 = Math.floor(rx), fy = ry - y0, fx = rx - x0;
    const ya = reflectIndex(y0, H), yb = reflectIndex(y0 + 1, H), xa = reflectIndex(x0, W), xb = reflectIndex(x0 + 1, W);
    for (let c = 0; c < C; c++) {
      const v00 = warped[(ya * W + xa) * C + c], v01 = warped[(ya * W + xb) * C + c];
      const v10 = warped[(yb * W + xa) * C + c], v11 = warped[(yb * W + xb) * C + c];
      out[(y * W + x) * C + c] = (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11);
    }
  }
  const res = makeImage(H, W, C);
  for (let i = 0; i < out.length; i++) { const v = out[i]; res.data[i] = v > 1 ? 255 : v > 0 ? f(v * 255) : 0; }
  return res;
};

function displacementField(H: number, W: number, sigma: number, alpha: number, rng: { uniformIn(lo: number, hi: number): number }): Float32Array {
  const noise = new Float64Array(H * W);
  for (let i = 0; i < noise.length; i++) noise[i] = rng.uniformIn(-1, 1);
  const smooth = gaussianFilter(noise, H, W, 1, sigma, "reflect", 3);
  const out = new Float32Array(H * W);
  for (let i = 0; i < out.length; i++) out[i] = smooth[i] * alpha;
  return out;
}

// cv2.getAffineTransform: the 2x3 matrix mapping three (x, y) points onto three others.
export function affineFromPoints(p: number[][], q: number[][]): Float64Array {
  const [[x0, y0], [x1, y1], [x2, y2]] = p;
  const det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1);
  const inv = [
    [(y1 - y2) / det, (y2 - y0) / det, (y0 - y1) / det],
    [(x2 - x1) / det, (x0 - x2) / det, (x1 - x0) / det],
    [(x1 * y2 - x2 * y1) / det, (x2 * y0 - x0 * y2) / det, (x0 * y1 - x1 * y0) / det],
  ];
  const M = new Float64Array(6);
  for (let r = 0; r < 2; r++) for (let k = 0; k < 3; k++) M[r * 3 + k] = inv[k][0] * q[0][r] + inv[k][1] * q[1][r] + inv[k][2] * q[2][r];
  return M;
}

// cv2.warpAffine(src, M, (W, H)) with INTER_LINEAR and BORDER_REFLECT_101 on a float32 (H, W, C) image:
// the inverse map, source coordinates in OpenCV's fixed point (1/32 pixel), bilinear weights.
export function warpAffineLinear(src: Float32Array, H: number, W: number, C: number, M: Float64Array): Float32Array {
  let D = M[0] * M[4] - M[1] * M[3];
  D = D !== 0 ? 1 / D : 0;
  const A11 = M[4] * D, A22 = M[0] * D, A12 = -M[1] * D, A21 = -M[3] * D;
  const b1 = -A11 * M[2] - A12 * M[5], b2 = -A21 * M[2] - A22 * M[5];
  const out = new Float32Array(src.length);
  const adelta = new Int32Array(W), bdelta = new Int32Array(W);
  for (let x = 0; x < W; x++) { adelta[x] = cvRound(A11 * x * 1024); bdelta[x] = cvRound(A21 * x * 1024); }
  for (let y = 0; y < H; y++) {
    const X0 = cvRound((A12 * y + b1) * 1024) + 16, Y0 = cvRound((A22 * y + b2) * 1024) + 16;
    for (let x = 0; x < W; x++) {
      const X = (X0 + adelta[x]) >> 5, Y = (Y0 + bdelta[x]) >> 5;
      const sx = X >> 5, sy = Y >> 5, fx = Math.fround((X & 31) / 32), fy = Math.fround((Y & 31) / 32);
      const w00 = Math.fround((1 - fx) * (1 - fy)), w01 = Math.fround(fx * (1 - fy)), w10 = Math.fround((1 - fx) * fy), w11 = Math.fround(fx * fy);
      const xa = reflect101Index(sx, W), xb = reflect101Index(sx + 1, W), ya = reflect101Index(sy, H), yb = reflect101Index(sy + 1, H);
      for (let c = 0; c < C; c++)
        out[(y * W + x) * C + c] = src[(ya * W + xa) * C + c] * w00 + src[(ya * W + xb) * C + c] * w01 + src[(yb * W + xa) * C + c] * w10 + src[(yb * W + xb) * C + c] * w11;
    }
  }
  return out;
}

// cvRound: nearest integer, ties to even.
const cvRound = (v: number): number => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
