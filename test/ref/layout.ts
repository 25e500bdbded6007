// float64 references for the layout ops: NCHW <-> NHWC, patchify / unpatchify, average pool, nearest 2x
// upsample, bilinear resize (align_corners=True) and zero padding. Each backward is written as the explicit
// adjoint (a scatter-add), so finite differences of the forward check it.
import type { F64 } from "../util/check.ts";
type A = ArrayLike<number>;

export function nchwToNhwcRef(x: A, B: number, C: number, H: number, W: number): F64 {
  const out = new Float64Array(B * C * H * W);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) out[(b * H * W + p) * C + c] = x[(b * C + c) * H * W + p];
  return out;
}

export function nhwcToNchwRef(x: A, B: number, C: number, H: number, W: number): F64 {
  const out = new Float64Array(B * C * H * W);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) out[(b * C + c) * H * W + p] = x[(b * H * W + p) * C + c];
  return out;
}

// Calls fn(tokenIndex, pixelIndex) for every element; features in (c, ph, pw) order when cFirst else (ph, pw, c).
function eachPatchElement(B: number, C: number, H: number, W: number, P: number, cFirst: boolean, fn: (t: number, p: number) => void) {
  const Hp = H / P, Wp = W / P, F = C * P * P;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) {
          const hp = Math.floor(h / P), ph = h % P, wp = Math.floor(w / P), pw = w % P;
          const f = cFirst ? (c * P + ph) * P + pw : (ph * P + pw) * C + c;
          fn(((b * Hp + hp) * Wp + wp) * F + f, ((b * C + c) * H + h) * W + w);
        }
}

/** (B, C, H, W) -> (B, (H/P)(W/P), C*P*P), features (c, ph, pw) */
export function patchifyRef(x: A, B: number, C: number, H: number, W: number, P: number): F64 {
  const out = new Float64Array(B * C * H * W);
  eachPatchElement(B, C, H, W, P, true, (t, p) => (out[t] = x[p]));
  return out;
}

export function patchifyBackwardRef(dout: A, B: number, C: number, H: number, W: number, P: number): F64 {
  const din = new Float64Array(B * C * H * W);
  eachPatchElement(B, C, H, W, P, true, (t, p) => (din[p] += dout[t]));
  return din;
}

/** (B, (H/P)(W/P), P*P*C), features (ph, pw, c) -> (B, C, H, W) */
export function unpatchifyRef(x: A, B: number, C: number, H: number, W: number, P: number): F64 {
  const out = new Float64Array(B * C * H * W);
  eachPatchElement(B, C, H, W, P, false, (t, p) => (out[p] = x[t]));
  return out;
}

export function unpatchifyBackwardRef(dout: A, B: number, C: number, H: number, W: number, P: number): F64 {
  const din = new Float64Array(B * C * H * W);
  eachPatchElement(B, C, H, W, P, false, (t, p) => (din[t] += dout[p]));
  return din;
}

/** (B, C, HW) -> (B, C) mean over HW */
export function avgpoolRef(x: A, B: number, C: number, HW: number): F64 {
  const out = new Float64Array(B * C);
  for (let i = 0; i < B * C * HW; i++) out[Math.floor(i / HW)] += x[i] / HW;
  return out;
}

export function avgpoolBackwardRef(dout: A, B: number, C: number, HW: number): F64 {
  const din = new Float64Array(B * C * HW);
  for (let i = 0; i < B * C * HW; i++) din[i] += dout[Math.floor(i / HW)] / HW;
  return din;
}

function eachUpsample(B: number, C: number, H: number, W: number, fn: (o: number, i: number) => void) {
  for (let bc = 0; bc < B * C; bc++)
    for (let oh = 0; oh < 2 * H; oh++)
      for (let ow = 0; ow < 2 * W; ow++) fn((bc * 2 * H + oh) * 2 * W + ow, (bc * H + (oh >> 1)) * W + (ow >> 1));
}

/** nearest: (B, C, H, W) -> (B, C, 2H, 2W) */
export function upsample2xRef(x: A, B: number, C: number, H: number, W: number): F64 {
  const out = new Float64Array(B * C * 4 * H * W);
  eachUpsample(B, C, H, W, (o, i) => (out[o] = x[i]));
  return out;
}

export function upsample2xBackwardRef(dout: A, B: number, C: number, H: number, W: number): F64 {
  const din = new Float64Array(B * C * H * W);
  eachUpsample(B, C, H, W, (o, i) => (din[i] += dout[o]));
  return din;
}

/** torch F.interpolate(mode="bilinear", align_corners=True): source = dst * (in - 1) / (out - 1), 0 when out == 1 */
export function resizeBilinearRef(x: A, B: number, C: number, H: number, W: number, OH: number, OW: number): F64 {
  const out = new Float64Array(B * C * OH * OW);
  const coord = (o: number, n: number, on: number) => {
    const src = on > 1 ? (o * (n - 1)) / (on - 1) : 0;
    const i0 = Math.min(Math.floor(src), n - 1), l = src - i0;
    return { i0, i1: Math.min(i0 + 1, n - 1), l };
  };
  for (let bc = 0; bc < B * C; bc++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const h = coord(oh, H, OH), w = coord(ow, W, OW);
        const at = (i: number, j: number) => x[(bc * H + i) * W + j];
        out[(bc * OH + oh) * OW + ow] =
          (1 - h.l) * ((1 - w.l) * at(h.i0, w.i0) + w.l * at(h.i0, w.i1)) + h.l * ((1 - w.l) * at(h.i1, w.i0) + w.l * at(h.i1, w.i1));
      }
  return out;
}

function eachPad(B: number, C: number, H: number, W: number, top: number, left: number, OH: number, OW: number, fn: (o: number, i: number) => void) {
  for (let bc = 0; bc < B * C; bc++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) fn((bc * OH + h + top) * OW + w + left, (bc * H + h) * W + w);
}

/** zero pad (B, C, H, W) -> (B, C, H + top + bottom, W + left + right) */
export function pad2dRef(x: A, B: number, C: number, H: number, W: number, top: number, bottom: number, left: number, right: number): F64 {
  const OH = H + top + bottom, OW = W + left + right;
  const out = new Float64Array(B * C * OH * OW);
  eachPad(B, C, H, W, top, left, OH, OW, (o, i) => (out[o] = x[i]));
  return out;
}

export function pad2dBackwardRef(dout: A, B: number, C: number, H: number, W: number, top: number, bottom: number, left: number, right: number): F64 {
  const OH = H + top + bottom, OW = W + left + right;
  const din = new Float64Array(B * C * H * W);
  eachPad(B, C, H, W, top, left, OH, OW, (o, i) => (din[i] += dout[o]));
  return din;
}
