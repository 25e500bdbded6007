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
  return Math.sign(x) * (1 - erfcLarge(ax));
}
export { erf };

/** erfc(ax) for ax >= 2.5 by its continued fraction (Lentz): full relative accuracy, no 1 - erf cancellation. */
function erfcLarge(ax: number): number {
  let f = ax, C = ax, D = 0;
  for (let n = 1; n < 300; n++) {
    const a = n / 2;
    D = ax + a * D; D = 1 / D;
    C = ax + a / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
}

/** The standard normal CDF, accurate to float64's relative precision in the far left tail too. */
function normalCdf(v: number): number {
  const z = v / Math.SQRT2;
  return z <= -2.5 ? 0.5 * erfcLarge(-z) : 0.5 * (1 + erf(z));
}

/** 0.5 (1 + tanh u) = sigmoid(2u) and its complement, each without cancellation in its small tail. */
const sig2 = (u: number) => 1 / (1 + Math.exp(-2 * u));
const sig2c = (u: number) => 1 / (1 + Math.exp(2 * u));

const K = Math.sqrt(2 / Math.PI);

export function geluRef(x: A, approximate: boolean): Float64Array {
  return Float64Array.from(x, (v) => (approximate ? v * sig2(K * (v + 0.044715 * v ** 3)) : v * normalCdf(v)));
}

export function geluGradRef(dout: A, x: A, approximate: boolean): Float64Array {
  return Float64Array.from(x, (v, i) => {
    if (approximate) {
      // d/dv 0.5 v (1 + tanh u) = s + 2 v s (1 - s) u', s = sigmoid(2u) (1 - tanh² u = 4 s (1 - s))
      const u = K * (v + 0.044715 * v ** 3), s = sig2(u), sc = sig2c(u);
      return dout[i] * (s + 2 * v * s * sc * K * (1 + 3 * 0.044715 * v * v));
    }
    return dout[i] * (normalCdf(v) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI));
  });
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
export const siluRef = (x: A) => Float64Array.from(x, (v) => v * sigmoid(v));
export const siluGradRef = (dout: A, x: A) => Float64Array.from(x, (v, i) => dout[i] * sigmoid(v) * (1 + v * (1 - sigmoid(v))));

/**
 * The summed |terms| of each derivative (the floor for relative checks: at a root of the derivative — SiLU's near
 * x = -1.28, GELU's near -0.75 — float32's result cancels to far below its terms and only an absolute bound holds).
 */
export const siluGradFloorRef = (dout: A, x: A) =>
  Float64Array.from(x, (v, i) => Math.abs(dout[i]) * sigmoid(v) * (1 + Math.abs(v) * (1 - sigmoid(v))));
export function geluGradFloorRef(dout: A, x: A, approximate: boolean): Float64Array {
  return Float64Array.from(x, (v, i) => {
    if (approximate) {
      const u = K * (v + 0.044715 * v ** 3), s = sig2(u), sc = sig2c(u);
      return Math.abs(dout[i]) * (s + Math.abs(2 * v * s * sc * K * (1 + 3 * 0.044715 * v * v)));
    }
    return Math.abs(dout[i]) * (normalCdf(v) + Math.abs(v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI));
  });
}

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
