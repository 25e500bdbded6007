// float64 reference of multi-head self-attention over the strided q/k/v layout of dusa_attention_*:
// token t of batch b, head h at (b*T + t)*rs + h*HD; out (B, T, NH*HD); lse (B, NH, T).
// Row-level functions let the tests check single rows of large shapes.
import type { F64 } from "../util/check.ts";

export type AttnShape = { B: number; T: number; NH: number; HD: number; rs: number };
type Arr = ArrayLike<number>;

const qkvAt = (s: AttnShape, b: number, t: number, h: number) => (b * s.T + t) * s.rs + h * s.HD;
const outAt = (s: AttnShape, b: number, t: number, h: number) => (b * s.T + t) * s.NH * s.HD + h * s.HD;
const lseAt = (s: AttnShape, b: number, h: number, t: number) => (b * s.NH + h) * s.T + t;

function dot(a: Arr, ia: number, b: Arr, ib: number, n: number): number {
  let acc = 0;
  for (let c = 0; c < n; c++) acc += a[ia + c] * b[ib + c];
  return acc;
}

/** One query row: out (HD) and lse. */
export function attentionRowRef(q: Arr, k: Arr, v: Arr, s: AttnShape, b: number, h: number, t: number): { out: F64; lse: number } {
  const scale = 1 / Math.sqrt(s.HD);
  const scores = new Float64Array(s.T);
  let mx = -Infinity;
  for (let j = 0; j < s.T; j++) {
    scores[j] = scale * dot(q, qkvAt(s, b, t, h), k, qkvAt(s, b, j, h), s.HD);
    mx = Math.max(mx, scores[j]);
  }
  let sum = 0;
  for (let j = 0; j < s.T; j++) sum += scores[j] = Math.exp(scores[j] - mx);
  const out = new Float64Array(s.HD);
  for (let j = 0; j < s.T; j++) {
    const vj = qkvAt(s, b, j, h);
    for (let c = 0; c < s.HD; c++) out[c] += (scores[j] / sum) * v[vj + c];
  }
  return { out, lse: mx + Math.log(sum) };
}

export function attentionForwardRef(q: Arr, k: Arr, v: Arr, s: AttnShape): { out: F64; lse: F64 } {
  const out = new Float64Array(s.B * s.T * s.NH * s.HD), lse = new Float64Array(s.B * s.NH * s.T);
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < s.NH; h++)
      for (let t = 0; t < s.T; t++) {
        const row = attentionRowRef(q, k, v, s, b, h, t);
        out.set(row.out, outAt(s, b, t, h));
        lse[lseAt(s, b, h, t)] = row.lse;
      }
  return { out, lse };
}

// P[t, j] = exp(scale q_t.k_j - lse_t), dS[t, j] = P (dout_t.v_j - D_t), D_t = dout_t.out_t
function probAndDs(dout: Arr, q: Arr, k: Arr, v: Arr, out: Arr, lse: Arr, s: AttnShape, b: number, h: number, t: number, j: number) {
  const scale = 1 / Math.sqrt(s.HD);
  const p = Math.exp(scale * dot(q, qkvAt(s, b, t, h), k, qkvAt(s, b, j, h), s.HD) - lse[lseAt(s, b, h, t)]);
  const D = dot(dout, outAt(s, b, t, h), out, outAt(s, b, t, h), s.HD);
  return { p, ds: p * (dot(dout, outAt(s, b, t, h), v, qkvAt(s, b, j, h), s.HD) - D) };
}

/** dq of one query row (HD), given the forward's out and lse (as the kernel is). */
export function attentionDqRowRef(dout: Arr, q: Arr, k: Arr, v: Arr, out: Arr, lse: Arr, s: AttnShape, b: number, h: number, t: number): F64 {
  const scale = 1 / Math.sqrt(s.HD);
  const dq = new Float64Array(s.HD);
  for (let j = 0; j < s.T; j++) {
    const { ds } = probAndDs(dout, q, k, v, out, lse, s, b, h, t, j);
    const kj = qkvAt(s, b, j, h);
    for (let c = 0; c < s.HD; c++) dq[c] += scale * ds * k[kj + c];
  }
  return dq;
}

/** dk and dv of one key row (HD each). */
export function attentionDkvRowRef(dout: Arr, q: Arr, k: Arr, v: Arr, out: Arr, lse: Arr, s: AttnShape, b: number, h: number, j: number): { dk: F64; dv: F64 } {
  const scale = 1 / Math.sqrt(s.HD);
  const dk = new Float64Array(s.HD), dv = new Float64Array(s.HD);
  for (let t = 0; t < s.T; t++) {
    const { p, ds } = probAndDs(dout, q, k, v, out, lse, s, b, h, t, j);
    const qt = qkvAt(s, b, t, h), ot = outAt(s, b, t, h);
    for (let c = 0; c < s.HD; c++) {
      dk[c] += scale * ds * q[qt + c];
      dv[c] += p * dout[ot + c];
    }
  }
  return { dk, dv };
}

/** dq, dk, dv in the strided layout (length B*T*rs; entries outside the head columns are 0). */
export function attentionBackwardRef(dout: Arr, q: Arr, k: Arr, v: Arr, out: Arr, lse: Arr, s: AttnShape): { dq: F64; dk: F64; dv: F64 } {
  const n = s.B * s.T * s.rs;
  const dq = new Float64Array(n), dk = new Float64Array(n), dv = new Float64Array(n);
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < s.NH; h++)
      for (let t = 0; t < s.T; t++) {
        const at = qkvAt(s, b, t, h);
        dq.set(attentionDqRowRef(dout, q, k, v, out, lse, s, b, h, t), at);
        const g = attentionDkvRowRef(dout, q, k, v, out, lse, s, b, h, t);
        dk.set(g.dk, at);
        dv.set(g.dv, at);
      }
  return { dq, dk, dv };
}

export const attnIndex = { qkvAt, outAt, lseAt };
