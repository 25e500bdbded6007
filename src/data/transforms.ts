// The two pipelines fed from one decoded image:
//  task: geometry (resize shorter side, centre crop, zero pad), channel count, then (x/255 - mean) / std → (C, H, W)
//  aux:  the task's geometry output resized bilinearly with align_corners=True to the VAE size, x/255*2-1 → (C, H', W')
// (DUSA feeds its generative branch the same 224 crop the classifier sees, resized to 256.)
import { DataError } from "./errors.ts";
import { centerCrop, padTo, toChannels, type Image } from "./image.ts";
import { resizeShorterSide, type ResampleFilter } from "./resample.ts";

type Size = number | readonly [height: number, width: number];
const hw = (s: Size): [number, number] => (typeof s === "number" ? [s, s] : [s[0], s[1]]);

export interface TaskTransform {
  resize?: number; // shorter side → this (PIL resampling, like torchvision Resize(int))
  interpolation?: Exclude<ResampleFilter, "box">; // default bilinear
  centerCrop?: Size;
  pad?: Size; // zero-pad, centred, up to at least this size (Fashion-MNIST 28 → 32)
  channels: 1 | 3;
  mean: readonly number[]; // per channel (or one for all), in [0, 1] units
  std: readonly number[];
}

export interface AuxTransform {
  size: Size; // the VAE input size
}

export const FASHION_MNIST_TASK: TaskTransform = { pad: 32, channels: 1, mean: [0.286], std: [0.353] };
export const FASHION_MNIST_AUX: AuxTransform = { size: 32 };
// ImageNet-C images are already 224x224: the crop is a no-op there; clean ImageNet val needs resize 256 first.
export const IMAGENET_TASK: TaskTransform = { centerCrop: 224, channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
export const IMAGENET_VAL_TASK: TaskTransform = { ...IMAGENET_TASK, resize: 256 };
export const IMAGENET_AUX: AuxTransform = { size: 256 };

export function applyGeometry(img: Image, t: Pick<TaskTransform, "resize" | "interpolation" | "centerCrop" | "pad" | "channels">): Image {
  let out = toChannels(img, t.channels);
  if (t.resize !== undefined) out = resizeShorterSide(out, t.resize, t.interpolation ?? "bilinear");
  if (t.centerCrop !== undefined) out = centerCrop(out, ...hw(t.centerCrop));
  if (t.pad !== undefined) out = padTo(out, ...hw(t.pad));
  return out;
}

// (C, H, W) of the task tensor for images of the given decoded size.
export function taskShape(t: TaskTransform, height: number, width: number): [number, number, number] {
  let h = height, w = width;
  if (t.resize !== undefined) [h, w] = h <= w ? [t.resize, Math.trunc((t.resize * w) / h)] : [Math.trunc((t.resize * h) / w), t.resize];
  if (t.centerCrop !== undefined) [h, w] = hw(t.centerCrop);
  if (t.pad !== undefined) { const [ph, pw] = hw(t.pad); h = Math.max(h, ph); w = Math.max(w, pw); }
  return [t.channels, h, w];
}

export const auxShape = (a: AuxTransform, channels: number): [number, number, number] => [channels, ...hw(a.size)];

// Normalise a geometry-prepared image into out[offset ..] as (C, H, W).
export function writeTaskTensor(img: Image, t: TaskTransform, out: Float32Array, offset: number): void {
  const { height: H, width: W, channels: C } = img, n = H * W, d = img.data;
  for (let c = 0; c < C; c++) {
    const scale = 1 / (255 * (t.std[c] ?? t.std[0])), shift = (t.mean[c] ?? t.mean[0]) / (t.std[c] ?? t.std[0]);
    const o = offset + c * n;
    for (let p = 0; p < n; p++) out[o + p] = d[p * C + c] * scale - shift;
  }
}

// Bilinear resize with align_corners=True (F.interpolate) of a geometry-prepared image, scaled to [-1, 1],
// into out[offset ..] as (C, H', W').
export function writeAuxTensor(img: Image, a: AuxTransform, out: Float32Array, offset: number): void {
  const { height: H, width: W, channels: C } = img, d = img.data, [OH, OW] = hw(a.size);
  const sy = OH > 1 ? (H - 1) / (OH - 1) : 0, sx = OW > 1 ? (W - 1) / (OW - 1) : 0;
  // separable: along x for every source row (planar rows[c][y][x]), then along y
  const rows = new Float32Array(C * H * OW);
  for (let x = 0; x < OW; x++) {
    const s = x * sx, x0 = Math.min(Math.floor(s), W - 1), x1 = Math.min(x0 + 1, W - 1), f = s - x0;
    for (let y = 0; y < H; y++) {
      const p0 = (y * W + x0) * C, p1 = (y * W + x1) * C;
      for (let c = 0; c < C; c++) rows[(c * H + y) * OW + x] = d[p0 + c] + (d[p1 + c] - d[p0 + c]) * f;
    }
  }
  const scale = 2 / 255;
  for (let c = 0; c < C; c++) for (let y = 0; y < OH; y++) {
    const s = y * sy, y0 = Math.min(Math.floor(s), H - 1), y1 = Math.min(y0 + 1, H - 1), f = s - y0;
    const r0 = (c * H + y0) * OW, r1 = (c * H + y1) * OW, o = offset + (c * OH + y) * OW;
    for (let x = 0; x < OW; x++) { const v0 = rows[r0 + x]; out[o + x] = (v0 + (rows[r1 + x] - v0) * f) * scale - 1; }
  }
}

export function checkShape(img: Image, expected: readonly number[], where: string): void {
  if (img.channels !== expected[0] || img.height !== expected[1] || img.width !== expected[2])
    throw new DataError(where, `image is ${img.channels}x${img.height}x${img.width} after the task transform, the batch expects ${expected.join("x")} (add resize/centerCrop/pad)`);
}
