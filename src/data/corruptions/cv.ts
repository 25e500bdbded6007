// The OpenCV operations spatter uses, on one-channel images, with OpenCV's integer semantics.
import { reflect101Index } from "./border.ts";

// cv2.Canny(img, low, high) with a 3x3 Sobel (BORDER_REPLICATE), L1 magnitude, OpenCV's non-maximum
// suppression (tan 22.5 in Q15) and 8-connected hysteresis. Returns 255 on edges, 0 elsewhere.
export function canny(src: Uint8Array, H: number, W: number, low: number, high: number): Uint8Array {
  const dx = new Int32Array(H * W), dy = new Int32Array(H * W), mag = new Int32Array((H + 2) * (W + 2));
  const at = (y: number, x: number) => src[Math.min(Math.max(y, 0), H - 1) * W + Math.min(Math.max(x, 0), W - 1)];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const gx = at(y - 1, x + 1) + 2 * at(y, x + 1) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y, x - 1) - at(y + 1, x - 1);
    const gy = at(y + 1, x - 1) + 2 * at(y + 1, x) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y - 1, x) - at(y - 1, x + 1);
    dx[y * W + x] = gx; dy[y * W + x] = gy;
    mag[(y + 1) * (W + 2) + x + 1] = Math.abs(gx) + Math.abs(gy);
  }
  const lo = Math.floor(low), hi = Math.floor(high), TG22 = 13573, MW = W + 2;
  const map = new Uint8Array(H * W).fill(1); // 0: may be edge, 1: not edge, 2: edge
  const stack: number[] = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const j = (y + 1) * MW + x + 1, m = mag[j];
    if (m <= lo) continue;
    const xs = dx[y * W + x], ys = dy[y * W + x], ax = Math.abs(xs), ay = Math.abs(ys) * 32768, tg22x = ax * TG22;
    let isMax: boolean;
    if (ay < tg22x) isMax = m > mag[j - 1] && m >= mag[j + 1];
    else if (ay > tg22x + ax * 65536) isMax = m > mag[j - MW] && m >= mag[j + MW];
    else { const s = (xs ^ ys) < 0 ? -1 : 1; isMax = m > mag[j - MW - s] && m > mag[j + MW + s]; }
    if (!isMax) continue;
    if (m > hi) { map[y * W + x] = 2; stack.push(y * W + x); } else map[y * W + x] = 0;
  }
  while (stack.length > 0) {
    const p = stack.pop()!, y = Math.floor(p / W), x = p - y * W;
    for (let ny = y - 1; ny <= y + 1; ny++) for (let nx = x - 1; nx <= x + 1; nx++) {
      if (ny < 0 || ny >= H || nx < 0 || nx >= W) continue;
      const q = ny * W + nx;
      if (map[q] === 0) { map[q] = 2; stack.push(q); }
    }
  }
  const out = new Uint8Array(H * W);
  for (let i = 0; i < out.length; i++) out[i] = map[i] === 2 ? 255 : 0;
  return out;
}

// cv2.distanceTransform(src, DIST_L2, 5): two-pass 5x5 chamfer (a = 1, b = 1.4, c = 2.1969 in 16-bit fixed
// point) giving each pixel its distance to the nearest zero pixel; outside the image counts as far away.
export function distanceTransform5(src: Uint8Array, H: number, W: number): Float32Array {
  const SHIFT = 16, HV = Math.round(1 * (1 << SHIFT)), DIAG = Math.round(1.4 * (1 << SHIFT)), LONG = Math.round(2.1969 * (1 << SHIFT));
  const INIT = 0x7fffffff, B = 2, TW = W + 2 * B;
  const t = new Float64Array((H + 2 * B) * TW).fill(INIT); // exact integers
  const off = (y: number, x: number) => (y + B) * TW + x + B;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const j = off(y, x);
    if (!src[y * W + x]) { t[j] = 0; continue; }
    let t0 = t[j - 2 * TW - 1] + LONG;
    t0 = Math.min(t0, t[j - 2 * TW + 1] + LONG, t[j - TW - 2] + LONG, t[j - TW - 1] + DIAG, t[j - TW] + HV,
      t[j - TW + 1] + DIAG, t[j - TW + 2] + LONG, t[j - 1] + HV);
    t[j] = t0;
  }
  const out = new Float32Array(H * W);
  for (let y = H - 1; y >= 0; y--) for (let x = W - 1; x >= 0; x--) {
    const j = off(y, x);
    let t0 = t[j];
    if (t0 > HV) {
      t0 = Math.min(t0, t[j + 2 * TW + 1] + LONG, t[j + 2 * TW - 1] + LONG, t[j + TW + 2] + LONG, t[j + TW + 1] + DIAG,
        t[j + TW] + HV, t[j + TW - 1] + DIAG, t[j + TW - 2] + LONG, t[j + 1] + HV);
      t[j] = t0;
    }
    out[y * W + x] = t0 * (1 / (1 << SHIFT));
  }
  return out;
}

// cv2.equalizeHist on uint8.
export function equalizeHist(src: Uint8Array): Uint8Array {
  const hist = new Int32Array(256);
  for (let i = 0; i < src.length; i++) hist[src[i]]++;
  let i = 0;
  while (hist[i] === 0) i++;
  const total = src.length, out = new Uint8Array(src.length);
  if (hist[i] === total) return out.fill(i);
  const scale = Math.fround(255 / (total - hist[i])), lut = new Uint8Array(256);
  let sum = 0;
  for (lut[i++] = 0; i < 256; i++) { sum += hist[i]; lut[i] = saturateU8(Math.fround(sum * scale)); }
  for (let k = 0; k < src.length; k++) out[k] = lut[src[k]];
  return out;
}

// cv2.filter2D(src, CV_8U, kernel3x3) on uint8, BORDER_REFLECT_101, rounded and saturated.
export function filter2DU8(src: Uint8Array, H: number, W: number, k: readonly number[]): Uint8Array {
  const out = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += k[i * 3 + j] * src[reflect101Index(y + i - 1, H) * W + reflect101Index(x + j - 1, W)];
    out[y * W + x] = saturateU8(s);
  }
  return out;
}

// saturate_cast<uchar>: round half to even, clamp to 0..255.
export const saturateU8 = (v: number): number => {
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  return r < 0 ? 0 : r > 255 ? 255 : r;
};
