// float64 references: row softmax with temperature, L2 normalisation (torch F.normalize), cross-entropy,
// mean softmax entropy, argmax — forward and backward over (N, C).
import type { F64 } from "../util/check.ts";

type Arr = ArrayLike<number>;

function rowLse(x: Arr, o: number, C: number, scale = 1): number {
  let mx = -Infinity;
  for (let c = 0; c < C; c++) mx = Math.max(mx, x[o + c] * scale);
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(x[o + c] * scale - mx);
  return mx + Math.log(s);
}

export function softmaxRef(x: Arr, N: number, C: number, temperature = 1): F64 {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const lse = rowLse(x, n * C, C, 1 / temperature);
    for (let c = 0; c < C; c++) out[n * C + c] = Math.exp(x[n * C + c] / temperature - lse);
  }
  return out;
}

/** din = out * (dout - <dout, out>) / temperature */
export function softmaxBackwardRef(dout: Arr, out: Arr, N: number, C: number, temperature = 1): F64 {
  const din = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dout[n * C + c] * out[n * C + c];
    for (let c = 0; c < C; c++) din[n * C + c] = (out[n * C + c] * (dout[n * C + c] - dot)) / temperature;
  }
  return din;
}

export function l2normRef(x: Arr, N: number, C: number, eps: number): { out: F64; norm: F64 } {
  const out = new Float64Array(N * C), norm = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[n * C + c] ** 2;
    norm[n] = Math.sqrt(ss);
    const d = Math.max(norm[n], eps);
    for (let c = 0; c < C; c++) out[n * C + c] = x[n * C + c] / d;
  }
  return { out, norm };
}

/** Gradient of x / max(||x||, eps): through the norm when ||x|| >= eps, else a constant divisor eps. */
export function l2normBackwardRef(dout: Arr, x: Arr, N: number, C: number, eps: number): F64 {
  const din = new Float64Array(N * C);
  const { norm } = l2normRef(x, N, C, eps);
  for (let n = 0; n < N; n++) {
    const r = norm[n];
    if (r >= eps) {
      let dot = 0;
      for (let c = 0; c < C; c++) dot += x[n * C + c] * dout[n * C + c];
      for (let c = 0; c < C; c++) din[n * C + c] = dout[n * C + c] / r - (x[n * C + c] * dot) / r ** 3;
    } else {
      for (let c = 0; c < C; c++) din[n * C + c] = dout[n * C + c] / eps;
    }
  }
  return din;
}

export function crossEntropyRef(logits: Arr, labels: ArrayLike<number>, N: number, C: number): number {
  let sum = 0;
  for (let n = 0; n < N; n++) sum += rowLse(logits, n * C, C) - logits[n * C + labels[n]];
  return sum / N;
}

export function crossEntropyBackwardRef(logits: Arr, labels: ArrayLike<number>, N: number, C: number, dloss: number): F64 {
  const p = softmaxRef(logits, N, C);
  for (let n = 0; n < N; n++) {
    p[n * C + labels[n]] -= 1;
    for (let c = 0; c < C; c++) p[n * C + c] *= dloss / N;
  }
  return p;
}

/** mean over rows of -sum p log p, log p by log-softmax */
export function entropyRef(logits: Arr, N: number, C: number): number {
  let sum = 0;
  for (let n = 0; n < N; n++) {
    const lse = rowLse(logits, n * C, C);
    for (let c = 0; c < C; c++) {
      const logp = logits[n * C + c] - lse;
      sum -= Math.exp(logp) * logp;
    }
  }
  return sum / N;
}

/** d/dx_c = -p_c (log p_c + H_n), times dloss / N */
export function entropyBackwardRef(logits: Arr, N: number, C: number, dloss: number): F64 {
  const din = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const lse = rowLse(logits, n * C, C);
    let h = 0;
    for (let c = 0; c < C; c++) h -= Math.exp(logits[n * C + c] - lse) * (logits[n * C + c] - lse);
    for (let c = 0; c < C; c++) {
      const logp = logits[n * C + c] - lse;
      din[n * C + c] = (-dloss / N) * Math.exp(logp) * (logp + h);
    }
  }
  return din;
}

/** first index of the row maximum */
export function argmaxRef(x: Arr, N: number, C: number): Int32Array {
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (x[n * C + c] > x[n * C + best]) best = c;
    out[n] = best;
  }
  return out;
}
