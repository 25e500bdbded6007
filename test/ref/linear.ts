// float64 references: matmul and the linear layer.
import type { F64 } from "../util/check.ts";

/** C(M,N) = alpha op(A) op(B) + beta C0 (row-major; op = transpose when the flag is set). */
export function matmulRef(A: ArrayLike<number>, B: ArrayLike<number>, M: number, N: number, K: number, ta: boolean, tb: boolean, alpha = 1, beta = 0, C0?: ArrayLike<number>): F64 {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
      C[i * N + j] = alpha * acc + (beta !== 0 && C0 ? beta * C0[i * N + j] : 0);
    }
  return C;
}

export function linearForwardRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, N: number, IC: number, OC: number): F64 {
  const out = matmulRef(x, w, N, OC, IC, false, true);
  if (b) for (let n = 0; n < N; n++) for (let o = 0; o < OC; o++) out[n * OC + o] += b[o];
  return out;
}

export function linearBackwardRef(dout: ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number>, N: number, IC: number, OC: number) {
  const din = matmulRef(dout, w, N, IC, OC, false, false);
  const dw = matmulRef(dout, x, OC, IC, N, true, false);
  const db = new Float64Array(OC);
  for (let n = 0; n < N; n++) for (let o = 0; o < OC; o++) db[o] += dout[n * OC + o];
  return { din, dw, db };
}
