// float64 references: GELU (erf, tanh), SiLU, gated residual.
type A = ArrayLike<number>;

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for 1e-5 checks; use the series / continued fraction split.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz) for large |x|
  let f = ax, C = ax, D = 0;
  for (let n = 1; n < 300; n++) {
    const a = n / 2;
    D = ax + a * D; D = 1 / D;
    C = ax + a / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}
export { erf };

const K = Math.sqrt(2 / Math.PI);

export function geluRef(x: A, approximate: boolean): Float64Array {
  return Float64Array.from(x, (v) => (approximate ? 0.5 * v * (1 + Math.tanh(K * (v + 0.044715 * v ** 3))) : 0.5 * v * (1 + erf(v / Math.SQRT2))));
}

export function geluGradRef(dout: A, x: A, approximate: boolean): Float64Array {
  return Float64Array.from(x, (v, i) => {
    if (approximate) {
      const th = Math.tanh(K * (v + 0.044715 * v ** 3));
      return dout[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * K * (1 + 3 * 0.044715 * v * v));
    }
    return dout[i] * (0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI));
  });
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
export const siluRef = (x: A) => Float64Array.from(x, (v) => v * sigmoid(v));
export const siluGradRef = (dout: A, x: A) => Float64Array.from(x, (v, i) => dout[i] * sigmoid(v) * (1 + v * (1 - sigmoid(v))));

export function gatedResidualRef(x: A, y: A, gate: A, B: number, T: number, C: number, stride: number): Float64Array {
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {
    const i = (b * T + t) * C + c;
    out[i] = x[i] + gate[b * stride + c] * y[i];
  }
  return out;
}

export function gatedResidualBackwardRef(dout: A, y: A, gate: A, B: number, T: number, C: number, stride: number) {
  const dy = new Float64Array(B * T * C), dgate = new Float64Array(B * C);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {
    const i = (b * T + t) * C + c;
    dy[i] = gate[b * stride + c] * dout[i];
    dgate[b * C + c] += dout[i] * y[i];
  }
  return { dx: Float64Array.from(dout), dy, dgate };
}
