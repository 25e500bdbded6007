// spatter: a blurred N(loc, scale) "liquid" layer, thresholded. Mode 0 is water: Canny edges of the layer,
// distance to them, equalised and embossed, tinting the image pale turquoise (175, 238, 238); mode 1 is mud:
// the blurred mask replaces the image with brown (63, 42, 20). Grayscale images use the colours' Rec. 601 luma.
import { luma } from "../image.ts";
import type { CorruptFn } from "./context.ts";
import { canny, distanceTransform5, equalizeHist, filter2DU8, saturateU8 } from "./cv.ts";
import { boxBlur3, gaussianFilter } from "./filters.ts";
import { fromUnitFloat } from "./float-image.ts";

const WATER = [175 / 255, 238 / 255, 238 / 255];
const MUD = [63 / 255, 42 / 255, 20 / 255];
const EMBOSS = [-2, -1, 0, -1, 1, 1, 0, 1, 2] as const;

export const spatter: CorruptFn = (img, severity, rng, ctx) => {
  const [loc, scale, sigma, threshold, intensity, mud] = ctx.params.spatter[severity - 1];
  const { height: H, width: W, channels: C } = img, n = H * W;
  const noise = new Float64Array(n);
  for (let i = 0; i < n; i++) noise[i] = loc + scale * rng.normal();
  const liquid = gaussianFilter(noise, H, W, 1, sigma);
  for (let i = 0; i < n; i++) if (liquid[i] < threshold) liquid[i] = 0;
  const x = img.data, out = new Float64Array(x.length);

  if (mud === 0) {
    const liquidU8 = new Uint8Array(n);
    for (let i = 0; i < n; i++) liquidU8[i] = Math.trunc(liquid[i] * 255) & 255; // astype(uint8) wraps
    const notEdge = canny(liquidU8, H, W, 50, 150).map((v) => 255 - v);
    const dist = distanceTransform5(notEdge, H, W).map((v) => Math.min(v, 20)); // THRESH_TRUNC at 20
    const blurred = boxBlur3(dist, H, W);
    const distU8 = new Uint8Array(n);
    for (let i = 0; i < n; i++) distU8[i] = Math.trunc(Math.fround(blurred[i] * (1 / 9))); // float32 blur, astype(uint8)
    const embossed = filter2DU8(equalizeHist(distU8), H, W, EMBOSS);
    const box = boxBlur3(embossed, H, W);
    const m = new Float32Array(n);
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, (m[i] = liquidU8[i] * saturateU8(box[i] * (1 / 9))));
    const color = C >= 3 ? WATER : [luma(WATER[0], WATER[1], WATER[2])];
    for (let p = 0; p < n; p++) {
      const mp = max > 0 ? Math.fround(Math.fround(m[p] / max) * Math.fround(intensity)) : 0;
      for (let c = 0; c < C; c++) out[p * C + c] = Math.fround(x[p * C + c] / 255) + mp * Math.fround(color[Math.min(c, color.length - 1)]);
    }
  } else {
    const mask = new Float64Array(n);
    for (let i = 0; i < n; i++) mask[i] = liquid[i] > threshold ? 1 : 0;
    const m = gaussianFilter(mask, H, W, 1, intensity);
    for (let i = 0; i < n; i++) if (m[i] < 0.8) m[i] = 0;
    const color = C >= 3 ? MUD : [luma(MUD[0], MUD[1], MUD[2])];
    for (let p = 0; p < n; p++) for (let c = 0; c < C; c++)
      out[p * C + c] = Math.fround(x[p * C + c] / 255) * (1 - m[p]) + color[Math.min(c, color.length - 1)] * m[p];
  }
  return fromUnitFloat(out, img);
};
