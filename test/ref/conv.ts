// float64 references: dense conv2d (NCHW, any kernel, stride, asymmetric padding) and depthwise conv2d
// (stride 1, odd K, "same" padding), forward and backward, as direct loops.
import type { F64 } from "../util/check.ts";
type A = ArrayLike<number>;

/** Sizes of a conv2d call, in the order of the C ABI. */
export type ConvShape = {
  B: number; IC: number; H: number; W: number; OC: number; KH: number; KW: number;
  sh: number; sw: number; pt: number; pb: number; pl: number; pr: number;
};

export function convOut(s: ConvShape): { OH: number; OW: number } {
  return { OH: Math.floor((s.H + s.pt + s.pb - s.KH) / s.sh) + 1, OW: Math.floor((s.W + s.pl + s.pr - s.KW) / s.sw) + 1 };
}

/** The C argument list after the tensors: B, IC, H, W, OC, KH, KW, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right. */
export function convArgs(s: ConvShape) {
  return [s.B, s.IC, s.H, s.W, s.OC, s.KH, s.KW, s.sh, s.sw, s.pt, s.pb, s.pl, s.pr] as const;
}

// Visits every (b, oc, oh, ow, ic, kh, kw) whose input tap is inside the image, with flat indices.
function eachTap(s: ConvShape, fn: (outIdx: number, inIdx: number, wIdx: number, b: number, oc: number) => void) {
  const { OH, OW } = convOut(s);
  for (let b = 0; b < s.B; b++)
    for (let oc = 0; oc < s.OC; oc++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const o = ((b * s.OC + oc) * OH + oh) * OW + ow;
          for (let ic = 0; ic < s.IC; ic++)
            for (let kh = 0; kh < s.KH; kh++) {
              const ih = oh * s.sh - s.pt + kh;
              if (ih < 0 || ih >= s.H) continue;
              for (let kw = 0; kw < s.KW; kw++) {
                const iw = ow * s.sw - s.pl + kw;
                if (iw < 0 || iw >= s.W) continue;
                fn(o, ((b * s.IC + ic) * s.H + ih) * s.W + iw, ((oc * s.IC + ic) * s.KH + kh) * s.KW + kw, b, oc);
              }
            }
        }
}

/** out (B, OC, OH, OW) = conv(x (B, IC, H, W), w (OC, IC, KH, KW)) + b (OC) */
export function conv2dRef(x: A, w: A, bias: A | null, s: ConvShape): F64 {
  const { OH, OW } = convOut(s);
  const out = new Float64Array(s.B * s.OC * OH * OW);
  if (bias) for (let i = 0; i < out.length; i++) out[i] = bias[Math.floor(i / (OH * OW)) % s.OC];
  eachTap(s, (o, i, k) => (out[o] += x[i] * w[k]));
  return out;
}

export function conv2dBackwardRef(dout: A, x: A, w: A, s: ConvShape) {
  const { OH, OW } = convOut(s);
  const din = new Float64Array(s.B * s.IC * s.H * s.W), dw = new Float64Array(s.OC * s.IC * s.KH * s.KW);
  const db = new Float64Array(s.OC);
  eachTap(s, (o, i, k) => {
    din[i] += dout[o] * w[k];
    dw[k] += dout[o] * x[i];
  });
  for (let i = 0; i < dout.length; i++) db[Math.floor(i / (OH * OW)) % s.OC] += dout[i];
  return { din, dw, db };
}

/** Depthwise: out[b,c,h,w] = bias[c] + sum_{i,j} w[c,i,j] x[b,c,h+i-K/2,w+j-K/2] */
export function dwconv2dRef(x: A, w: A, bias: A | null, B: number, C: number, H: number, W: number, K: number): F64 {
  const out = new Float64Array(B * C * H * W), p = (K - 1) / 2;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let v = 0; v < W; v++) {
          let acc = bias ? bias[c] : 0;
          for (let i = 0; i < K; i++)
            for (let j = 0; j < K; j++) {
              const ih = h + i - p, iw = v + j - p;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) acc += w[(c * K + i) * K + j] * x[((b * C + c) * H + ih) * W + iw];
            }
          out[((b * C + c) * H + h) * W + v] = acc;
        }
  return out;
}

export function dwconv2dBackwardRef(dout: A, x: A, w: A, B: number, C: number, H: number, W: number, K: number) {
  const din = new Float64Array(B * C * H * W), dw = new Float64Array(C * K * K), db = new Float64Array(C);
  const p = (K - 1) / 2;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let v = 0; v < W; v++) {
          const o = ((b * C + c) * H + h) * W + v, g = dout[o];
          db[c] += g;
          for (let i = 0; i < K; i++)
            for (let j = 0; j < K; j++) {
              const ih = h + i - p, iw = v + j - p;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const xi = ((b * C + c) * H + ih) * W + iw, k = (c * K + i) * K + j;
              din[xi] += g * w[k];
              dw[k] += g * x[xi];
            }
        }
  return { din, dw, db };
}
