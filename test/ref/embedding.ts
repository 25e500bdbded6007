// float64 references: table lookup forward/backward and DiT/SiT's sinusoidal timestep embedding.
import type { F64 } from "../util/check.ts";

export function embeddingRef(ids: ArrayLike<number>, table: ArrayLike<number>, N: number, C: number): F64 {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) out[n * C + c] = table[ids[n] * C + c];
  return out;
}

/** dtable0 + scatter-add of dout rows into rows ids[n] */
export function embeddingBackwardRef(dout: ArrayLike<number>, ids: ArrayLike<number>, N: number, C: number, V: number, dtable0?: ArrayLike<number>): F64 {
  const d = dtable0 ? Float64Array.from(dtable0) : new Float64Array(V * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) d[ids[n] * C + c] += dout[n * C + c];
  return d;
}

/** REPA / DiT TimestepEmbedder.timestep_embedding: [cos(t f), sin(t f)], f_i = exp(-ln(max_period) i / half), 0 column if dim odd */
export function timestepEmbeddingRef(t: ArrayLike<number>, N: number, dim: number, maxPeriod: number): F64 {
  const half = Math.floor(dim / 2), out = new Float64Array(N * dim);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < half; i++) {
      const arg = t[n] * Math.exp((-Math.log(maxPeriod) * i) / half);
      out[n * dim + i] = Math.cos(arg);
      out[n * dim + half + i] = Math.sin(arg);
    }
  return out;
}
