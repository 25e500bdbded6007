// ImageMagick's MotionBlurImage (what the reference calls through Wand): a one-sided line kernel of
// width = 2*ceil(radius)+1 taps with Gaussian weights exp(-i^2 / 2 sigma^2), i = 0..width-1, normalised;
// tap i reads the pixel at (x + round(i cos a), y + round(i sin a)) with edge pixels repeated beyond the border.
// Values are rounded the way a Q16 ImageMagick writes an 8-bit PNG.
import { dcos, dexp, dsin } from "../detmath.ts";
import { makeImage, type Image } from "../image.ts";

export interface MotionKernel { weights: Float64Array; dx: Int32Array; dy: Int32Array }

export function motionKernel(radius: number, sigma: number, angleDegrees: number): MotionKernel {
  const width = 2 * Math.ceil(radius) + 1;
  const s = Math.max(sigma, 1e-12);
  const weights = new Float64Array(width);
  let norm = 0;
  for (let i = 0; i < width; i++) norm += weights[i] = dexp(-(i * i) / (2 * s * s)) / (2.50662827463100024161 * s);
  for (let i = 0; i < width; i++) weights[i] /= norm;
  const a = (Math.PI * angleDegrees) / 180, px = width * dsin(a), py = width * dcos(a), hyp = Math.sqrt(px * px + py * py);
  const dx = new Int32Array(width), dy = new Int32Array(width);
  for (let i = 0; i < width; i++) { dx[i] = Math.ceil((i * py) / hyp - 0.5); dy[i] = Math.ceil((i * px) / hyp - 0.5); }
  return { weights, dx, dy };
}

export function motionBlur(img: Image, k: MotionKernel): Image {
  const { height: H, width: W, channels: C } = img, src = img.data;
  const out = makeImage(H, W, C), dst = out.data, n = k.weights.length;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      let sx = x + k.dx[i], sy = y + k.dy[i];
      sx = sx < 0 ? 0 : sx >= W ? W - 1 : sx;
      sy = sy < 0 ? 0 : sy >= H ? H - 1 : sy;
      acc += k.weights[i] * src[(sy * W + sx) * C + c] * 257;
    }
    let q = Math.floor(acc + 0.5); // ClampToQuantum
    q = q < 0 ? 0 : q > 65535 ? 65535 : q;
    dst[(y * W + x) * C + c] = (q + 128 - ((q + 128) >> 8)) >> 8; // ScaleQuantumToChar
  }
  return out;
}
