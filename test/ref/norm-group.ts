// float64 references: GroupNorm over NCHW (B, C, HW) with G groups, affine, optionally followed by SiLU.
type A = ArrayLike<number>;

const sigmoid = (y: number) => 1 / (1 + Math.exp(-y));

function groupStats(x: A, base: number, n: number, eps: number) {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[base + i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[base + i] - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(v / n + eps) };
}

export function groupnormRef(x: A, w: A | null, b: A | null, B: number, C: number, HW: number, G: number, eps: number, silu: boolean) {
  const Cg = C / G, n = Cg * HW;
  const out = new Float64Array(B * C * HW), mean = new Float64Array(B * G), rstd = new Float64Array(B * G);
  for (let bi = 0; bi < B; bi++)
    for (let g = 0; g < G; g++) {
      const base = (bi * G + g) * n, s = groupStats(x, base, n, eps);
      mean[bi * G + g] = s.mean;
      rstd[bi * G + g] = s.rstd;
      for (let i = 0; i < n; i++) {
        const c = g * Cg + Math.floor(i / HW);
        const y = (x[base + i] - s.mean) * s.rstd * (w ? w[c] : 1) + (b ? b[c] : 0);
        out[base + i] = silu ? y * sigmoid(y) : y;
      }
    }
  return { out, mean, rstd };
}

export function groupnormBackwardRef(dout: A, x: A, w: A | null, b: A | null, B: number, C: number, HW: number, G: number, eps: number, silu: boolean) {
  const Cg = C / G, n = Cg * HW;
  const din = new Float64Array(B * C * HW), dw = new Float64Array(C), db = new Float64Array(C);
  for (let bi = 0; bi < B; bi++)
    for (let g = 0; g < G; g++) {
      const base = (bi * G + g) * n, s = groupStats(x, base, n, eps);
      const xhat = new Float64Array(n), dxhat = new Float64Array(n);
      let a = 0, k = 0;
      for (let i = 0; i < n; i++) {
        const c = g * Cg + Math.floor(i / HW), wc = w ? w[c] : 1;
        xhat[i] = (x[base + i] - s.mean) * s.rstd;
        let dy = dout[base + i];
        if (silu) {
          const y = xhat[i] * wc + (b ? b[c] : 0), sg = sigmoid(y);
          dy *= sg * (1 + y * (1 - sg));
        }
        dw[c] += dy * xhat[i];
        db[c] += dy;
        dxhat[i] = dy * wc;
        a += dxhat[i];
        k += dxhat[i] * xhat[i];
      }
      a /= n;
      k /= n;
      for (let i = 0; i < n; i++) din[base + i] = (dxhat[i] - a - xhat[i] * k) * s.rstd;
    }
  return { din, dw, db };
}
