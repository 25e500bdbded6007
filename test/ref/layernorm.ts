// float64 references: LayerNorm (last dim), LayerNorm + adaLN modulate, LayerNorm2d (channels of NCHW).
import type { F64 } from "../util/check.ts";
type A = ArrayLike<number>;

function stats(x: A, at: (i: number) => number, C: number, eps: number) {
  let mean = 0;
  for (let c = 0; c < C; c++) mean += x[at(c)];
  mean /= C;
  let v = 0;
  for (let c = 0; c < C; c++) v += (x[at(c)] - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(v / C + eps) };
}

export function layernormRef(x: A, w: A | null, b: A | null, N: number, C: number, eps: number) {
  const out = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const s = stats(x, (c) => n * C + c, C, eps);
    mean[n] = s.mean; rstd[n] = s.rstd;
    for (let c = 0; c < C; c++) out[n * C + c] = (x[n * C + c] - s.mean) * s.rstd * (w ? w[c] : 1) + (b ? b[c] : 0);
  }
  return { out, mean, rstd };
}

/** Gradient of a normalised row given dxhat (the gradient w.r.t. xhat). */
function rowGrad(dxhat: F64, xhat: F64, rstd: number): F64 {
  const C = dxhat.length;
  let a = 0, b = 0;
  for (let c = 0; c < C; c++) { a += dxhat[c]; b += dxhat[c] * xhat[c]; }
  a /= C; b /= C;
  return dxhat.map((d, c) => (d - a - xhat[c] * b) * rstd);
}

export function layernormBackwardRef(dout: A, x: A, w: A | null, N: number, C: number, eps: number) {
  const { mean, rstd } = layernormRef(x, null, null, N, C, eps);
  const din = new Float64Array(N * C), dw = new Float64Array(C), db = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const xhat = new Float64Array(C), dxhat = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      xhat[c] = (x[n * C + c] - mean[n]) * rstd[n];
      dxhat[c] = dout[n * C + c] * (w ? w[c] : 1);
      dw[c] += dout[n * C + c] * xhat[c];
      db[c] += dout[n * C + c];
    }
    din.set(rowGrad(dxhat, xhat, rstd[n]), n * C);
  }
  return { din, dw, db };
}

export function layernormModulateRef(x: A, shift: A, scale: A, B: number, T: number, C: number, stride: number, eps: number): F64 {
  const { out } = layernormRef(x, null, null, B * T, C, eps);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let c = 0; c < C; c++) {
        const i = (b * T + t) * C + c;
        out[i] = out[i] * (1 + scale[b * stride + c]) + shift[b * stride + c];
      }
  return out;
}

export function layernormModulateBackwardRef(dout: A, x: A, scale: A, B: number, T: number, C: number, stride: number, eps: number) {
  const { mean, rstd } = layernormRef(x, null, null, B * T, C, eps);
  const din = new Float64Array(B * T * C), dshift = new Float64Array(B * C), dscale = new Float64Array(B * C);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const n = b * T + t;
      const xhat = new Float64Array(C), dxhat = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        xhat[c] = (x[n * C + c] - mean[n]) * rstd[n];
        dxhat[c] = dout[n * C + c] * (1 + scale[b * stride + c]);
        dshift[b * C + c] += dout[n * C + c];
        dscale[b * C + c] += dout[n * C + c] * xhat[c];
      }
      din.set(rowGrad(dxhat, xhat, rstd[n]), n * C);
    }
  return { din, dshift, dscale };
}

export function layernorm2dRef(x: A, w: A | null, b: A | null, B: number, C: number, HW: number, eps: number): F64 {
  const out = new Float64Array(B * C * HW);
  for (let n = 0; n < B; n++)
    for (let p = 0; p < HW; p++) {
      const at = (c: number) => (n * C + c) * HW + p;
      const s = stats(x, at, C, eps);
      for (let c = 0; c < C; c++) out[at(c)] = (x[at(c)] - s.mean) * s.rstd * (w ? w[c] : 1) + (b ? b[c] : 0);
    }
  return out;
}

export function layernorm2dBackwardRef(dout: A, x: A, w: A | null, B: number, C: number, HW: number, eps: number) {
  const din = new Float64Array(B * C * HW), dw = new Float64Array(C), db = new Float64Array(C);
  for (let n = 0; n < B; n++)
    for (let p = 0; p < HW; p++) {
      const at = (c: number) => (n * C + c) * HW + p;
      const s = stats(x, at, C, eps);
      const xhat = new Float64Array(C), dxhat = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        xhat[c] = (x[at(c)] - s.mean) * s.rstd;
        dxhat[c] = dout[at(c)] * (w ? w[c] : 1);
        dw[c] += dout[at(c)] * xhat[c];
        db[c] += dout[at(c)];
      }
      rowGrad(dxhat, xhat, s.rstd).forEach((v, c) => (din[at(c)] = v));
    }
  return { din, dw, db };
}
