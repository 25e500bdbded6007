// snow, frost, fog.
import { LUMA, makeImage } from "../image.ts";
import type { CorruptFn } from "./context.ts";
import { clippedZoom } from "./blur.ts";
import { fromByteFloat, fromUnitFloat } from "./float-image.ts";
import { motionBlur, motionKernel } from "./motion-blur.ts";
import { plasmaFractal } from "./plasma.ts";

// A N(loc, scale) layer, zoomed, thresholded, motion-blurred (as an 8-bit image) at an angle in [-135, -45]
// degrees, added twice (itself and rotated by 180 degrees) to the image brightened towards 1.5 gray + 0.5.
// Grayscale images are their own gray.
export const snow: CorruptFn = (img, severity, rng, ctx) => {
  const [loc, scale, zoom, threshold, blurRadius, blurSigma, blend] = ctx.params.snow[severity - 1];
  const { height: H, width: W, channels: C } = img;
  const layer = new Float64Array(H * W);
  for (let i = 0; i < layer.length; i++) layer[i] = loc + scale * rng.normal();
  const zoomed = new Float64Array(H * W);
  clippedZoom(layer, H, W, 1, zoom, zoomed);
  const flakes = makeImage(H, W, 1);
  for (let i = 0; i < zoomed.length; i++) {
    const v = zoomed[i] < threshold ? 0 : zoomed[i];
    flakes.data[i] = v > 1 ? 255 : v > 0 ? Math.trunc(v * 255) : 0;
  }
  const blurred = motionBlur(flakes, motionKernel(blurRadius, blurSigma, rng.uniformIn(-135, -45))).data;
  // The image side is float32 in the reference (cv2.cvtColor, numpy float32 arithmetic); the flakes are float64.
  const f = Math.fround, b32 = f(blend), ob32 = f(1 - blend), L0 = f(LUMA[0]), L1 = f(LUMA[1]), L2 = f(LUMA[2]);
  const out = new Float64Array(img.data.length), x = img.data, n = H * W;
  for (let p = 0; p < n; p++) {
    const r = f(x[p * C] / 255);
    const gray = C >= 3 ? f(f(f(r * L0) + f(f(x[p * C + 1] / 255) * L1)) + f(f(x[p * C + 2] / 255) * L2)) : r;
    const lifted = f(f(gray * 1.5) + 0.5);
    for (let c = 0; c < C; c++) {
      const v = f(x[p * C + c] / 255);
      out[p * C + c] = f(f(b32 * v) + f(ob32 * Math.max(v, lifted))) + blurred[p] / 255 + blurred[n - 1 - p] / 255;
    }
  }
  return fromUnitFloat(out, img);
};

// w_img * x + w_frost * crop of a frost texture, on the 0..255 scale. The texture is picked with randint(count)
// and cropped at (randint(0, h - H), randint(0, w - W)); grayscale images use the texture's luma.
export const frost: CorruptFn = (img, severity, rng, ctx) => {
  const [wImg, wFrost] = ctx.params.frost[severity - 1];
  const { height: H, width: W, channels: C } = img;
  const textures = ctx.frostImages;
  if (textures.length === 0) throw new Error("frost: no frost textures in the corruption context");
  const tex = textures[rng.int(0, textures.length)];
  if (tex.height <= H || tex.width <= W) throw new Error(`frost: texture ${tex.height}x${tex.width} is not larger than the ${H}x${W} image`);
  const y0 = rng.int(0, tex.height - H), x0 = rng.int(0, tex.width - W), TC = tex.channels;
  const out = new Float64Array(img.data.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const t = ((y + y0) * tex.width + x + x0) * TC, o = (y * W + x) * C;
    if (C === 1) {
      const g = TC >= 3 ? Math.round(LUMA[0] * tex.data[t] + LUMA[1] * tex.data[t + 1] + LUMA[2] * tex.data[t + 2]) : tex.data[t];
      out[o] = wImg * img.data[o] + wFrost * g;
    } else {
      for (let c = 0; c < C; c++) out[o + c] = wImg * img.data[o + c] + wFrost * tex.data[t + Math.min(c, TC - 1)];
    }
  }
  return fromByteFloat(out, img);
};

// x + s * plasma, rescaled by max / (max + s). The plasma map is at least the reference's size (32 or 256)
// and at least the image size (next power of two), cropped to the image.
export const fog: CorruptFn = (img, severity, rng, ctx) => {
  const [strength, wibbleDecay] = ctx.params.fog[severity - 1];
  const { height: H, width: W, channels: C } = img;
  let mapsize = ctx.params.fogMapSize;
  while (mapsize < Math.max(H, W)) mapsize *= 2;
  const plasma = plasmaFractal(mapsize, wibbleDecay, rng);
  let max = 0;
  for (let i = 0; i < img.data.length; i++) max = Math.max(max, img.data[i]);
  const maxVal = max / 255, out = new Float64Array(img.data.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
    const i = (y * W + x) * C + c;
    out[i] = ((img.data[i] / 255 + strength * plasma[y * mapsize + x]) * maxVal) / (maxVal + strength);
  }
  return fromUnitFloat(out, img);
};
