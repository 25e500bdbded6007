// float64 references of torch.optim.Adam / AdamW / SGD, step by step.
type A = ArrayLike<number>;

export function adamRef(p: A, g: A, m: A, v: A, o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean; step: number }) {
  const bc1 = 1 - o.b1 ** o.step, bc2 = 1 - o.b2 ** o.step;
  const P = Float64Array.from(p), M = Float64Array.from(m), V = Float64Array.from(v);
  for (let i = 0; i < P.length; i++) {
    let grad = g[i];
    if (o.decoupled) P[i] *= 1 - o.lr * o.wd;
    else grad += o.wd * p[i];
    M[i] = o.b1 * M[i] + (1 - o.b1) * grad;
    V[i] = o.b2 * V[i] + (1 - o.b2) * grad * grad;
    P[i] -= (o.lr / bc1) * M[i] / (Math.sqrt(V[i]) / Math.sqrt(bc2) + o.eps);
  }
  return { p: P, m: M, v: V };
}

export function sgdRef(p: A, g: A, buf: A, o: { lr: number; momentum: number; dampening: number; wd: number; nesterov: boolean; step: number }) {
  const P = Float64Array.from(p), Bf = Float64Array.from(buf);
  for (let i = 0; i < P.length; i++) {
    let d = g[i] + o.wd * p[i];
    if (o.momentum !== 0) {
      Bf[i] = o.step === 1 ? d : o.momentum * Bf[i] + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * Bf[i] : Bf[i];
    }
    P[i] -= o.lr * d;
  }
  return { p: P, buf: Bf };
}
