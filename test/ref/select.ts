// Reference of DUSA class selection: top-k of normed (descending, ties to the lower index), then rand_budget
// sequential draws without replacement from softmax(logits / temperature) over the non-top-k classes, draw j of
// row b by inverse CDF (in class order, in double) with the Philox uniform at (seed, offset, b * rand_budget + j).
import { philoxUniform } from "./philox.ts";

export function topkRef(x: ArrayLike<number>, o: number, C: number, k: number): number[] {
  const idx = Array.from({ length: C }, (_, c) => c);
  idx.sort((a, b) => x[o + b] - x[o + a] || a - b);
  return idx.slice(0, k);
}

/** unnormalised weights exp(logit / T - max) of the classes not in `taken` (-1 for taken classes) */
export function restrictedWeights(logits: ArrayLike<number>, o: number, C: number, taken: Iterable<number>, temperature: number): Float64Array {
  const w = new Float64Array(C);
  for (const c of taken) w[c] = -1;
  let mx = -Infinity;
  for (let c = 0; c < C; c++) if (w[c] >= 0) mx = Math.max(mx, logits[o + c] / temperature);
  for (let c = 0; c < C; c++) if (w[c] >= 0) w[c] = Math.exp(logits[o + c] / temperature - mx);
  return w;
}

export function selectClassesRef(normed: ArrayLike<number>, logits: ArrayLike<number> | null, B: number, C: number, topk: number, randBudget: number, temperature: number, seed: bigint, offset: bigint): Int32Array {
  const K = topk + randBudget, out = new Int32Array(B * K);
  const T = Math.fround(temperature); // the kernel receives a float
  for (let b = 0; b < B; b++) {
    const top = topkRef(normed, b * C, C, topk);
    out.set(top, b * K);
    if (randBudget === 0 || !logits) continue;
    const w = restrictedWeights(logits, b * C, C, top, T);
    for (let j = 0; j < randBudget; j++) {
      let total = 0;
      for (let c = 0; c < C; c++) if (w[c] >= 0) total += w[c];
      const target = philoxUniform(seed, offset, b * randBudget + j) * total;
      let pick = -1, lastPositive = -1, firstAvailable = -1, cum = 0;
      for (let c = 0; c < C && pick < 0; c++) {
        if (w[c] < 0) continue;
        if (firstAvailable < 0) firstAvailable = c;
        if (w[c] > 0) lastPositive = c;
        cum += w[c];
        if (cum > target) pick = c;
      }
      if (pick < 0) pick = lastPositive >= 0 ? lastPositive : firstAvailable;
      out[b * K + topk + j] = pick;
      w[pick] = -1;
    }
  }
  return out;
}

export function gatherRef(x: ArrayLike<number>, idx: ArrayLike<number>, B: number, C: number, K: number): Float64Array {
  const out = new Float64Array(B * K);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) out[b * K + k] = x[b * C + idx[b * K + k]];
  return out;
}

export function gatherBackwardRef(dout: ArrayLike<number>, idx: ArrayLike<number>, B: number, C: number, K: number): Float64Array {
  const din = new Float64Array(B * C);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) din[b * C + idx[b * K + k]] += dout[b * K + k];
  return din;
}
