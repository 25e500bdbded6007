// float64 reference of the fused DUSA flow loss: p_w = sum_k w_k p_k (B, D) against target (B, D),
// terms {total, mse, norm_l2, cosine}, and the gradients of grad_scale * total to w (B, K) and p (B, K, D).
import type { F64 } from "../util/check.ts";

type Arr = ArrayLike<number>;
export type LossWeights = { mse: number; normL2: number; cosine: number };

export function weightedPrediction(w: Arr, p: Arr, B: number, K: number, D: number): F64 {
  const pw = new Float64Array(B * D);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) pw[b * D + d] += w[b * K + k] * p[(b * K + k) * D + d];
  return pw;
}

/** Per-image MSE e_b. */
export function perImageMse(pw: Arr, target: Arr, B: number, D: number): F64 {
  const e = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < D; d++) e[b] += (pw[b * D + d] - target[b * D + d]) ** 2;
    e[b] /= D;
  }
  return e;
}

/**
 * terms = [total, mse, norm_l2, cosine]. `frozenDen` (B) replaces sqrt(e_b + 1e-3) in norm_l2 — the stop-gradient
 * made explicit, so finite differences of this function see the same derivative as the kernel.
 */
export function flowLossRef(w: Arr, p: Arr, target: Arr, B: number, K: number, D: number, lw: LossWeights, frozenDen?: Arr): F64 {
  const pw = weightedPrediction(w, p, B, K, D), e = perImageMse(pw, target, B, D);
  let mse = 0, normL2 = 0, cosine = 0;
  for (let b = 0; b < B; b++) {
    mse += e[b] / B;
    normL2 += e[b] / (frozenDen ? frozenDen[b] : Math.sqrt(e[b] + 1e-3)) / B;
    let dot = 0, pp = 0, tt = 0;
    for (let d = 0; d < D; d++) {
      const x = pw[b * D + d], t = target[b * D + d];
      dot += x * t; pp += x * x; tt += t * t;
    }
    cosine += (1 - dot / Math.max(Math.sqrt(pp) * Math.sqrt(tt), 1e-8)) / B;
  }
  return Float64Array.of(lw.mse * mse + lw.normL2 * normL2 + lw.cosine * cosine, mse, normL2, cosine);
}

export function flowLossDenominators(w: Arr, p: Arr, target: Arr, B: number, K: number, D: number): F64 {
  return perImageMse(weightedPrediction(w, p, B, K, D), target, B, D).map((e) => Math.sqrt(e + 1e-3));
}

/** dw (B, K) and dp (B, K, D) of grad_scale * total: g = d total / d p_w, dp_k = w_k g, dw_k = <g, p_k>. */
export function flowLossBackwardRef(w: Arr, p: Arr, target: Arr, B: number, K: number, D: number, lw: LossWeights, gradScale: number): { dw: F64; dp: F64 } {
  const pw = weightedPrediction(w, p, B, K, D), e = perImageMse(pw, target, B, D);
  const dw = new Float64Array(B * K), dp = new Float64Array(B * K * D);
  for (let b = 0; b < B; b++) {
    let dot = 0, pp = 0, tt = 0;
    for (let d = 0; d < D; d++) {
      const x = pw[b * D + d], t = target[b * D + d];
      dot += x * t; pp += x * x; tt += t * t;
    }
    const clamped = Math.sqrt(pp) * Math.sqrt(tt) < 1e-8, den = clamped ? 1e-8 : Math.sqrt(pp) * Math.sqrt(tt);
    const cos = dot / den;
    for (let d = 0; d < D; d++) {
      const x = pw[b * D + d], t = target[b * D + d];
      const dmse = (2 * (x - t)) / (B * D);
      const dnorm = (2 * (x - t)) / (D * Math.sqrt(e[b] + 1e-3) * B);
      const dcos = -(t / den - (clamped ? 0 : (cos * x) / pp)) / B;
      const g = gradScale * (lw.mse * dmse + lw.normL2 * dnorm + lw.cosine * dcos);
      for (let k = 0; k < K; k++) {
        dp[(b * K + k) * D + d] = w[b * K + k] * g;
        dw[b * K + k] += g * p[(b * K + k) * D + d];
      }
    }
  }
  return { dw, dp };
}
