// CUDA vs CPU: the ops of the DUSA step and the SiT's conditioning. Embedding lookup (bit-identical) and its
// scatter-add backward (+=, repeated ids; out-of-range ids are errors that add nothing), the sinusoidal timestep
// embedding, class selection (bit-identical: the same Philox draws, ties to the lower index), gather and its
// scatter backward (bit-identical), and the fused flow loss (terms into a host or device array, each term on its
// own; dw and dp, and their NULL skips).
import { expect, test } from "bun:test";
import { freshRng, integers, normal, uniform, type Rng } from "../util/random.ts";
import { acc, check, cudaSuite, expectSameError, host, inp, out, outI } from "./harness.ts";

const exact = { exact: true };

function random64(rng: Rng): bigint {
  return (BigInt(Math.floor(rng.next() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng.next() * 2 ** 32));
}

/** Row-L2-normalised logits; `ties` quantises them so equal values are common (as test/ops/select.test.ts). */
function selectInputs(rng: Rng, B: number, C: number, ties: boolean) {
  const logits = normal(rng, B * C, 2), normed = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += logits[b * C + c] ** 2;
    for (let c = 0; c < C; c++) normed[b * C + c] = ties ? Math.round((8 * logits[b * C + c]) / Math.sqrt(ss)) / 8 : logits[b * C + c] / Math.sqrt(ss);
  }
  return { logits, normed };
}

/** K distinct classes per row (what select_classes produces), as gather's indices. */
function distinctIds(rng: Rng, B: number, C: number, K: number): Int32Array {
  const idx = new Int32Array(B * K);
  for (let b = 0; b < B; b++) {
    const perm = Array.from({ length: C }, (_, i) => i);
    for (let i = C - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    idx.set(perm.slice(0, K), b * K);
  }
  return idx;
}

cudaSuite("cuda: DUSA and conditioning ops", (pair) => {
  test("embedding forward (bit-identical) and backward (+=, repeated ids)", () => {
    const rng = freshRng();
    // the tiny SiT's label table: B·K = 96 lookups of 256-wide rows, 10 classes + the null class
    for (const [N, C, V] of [[1, 1, 1], [5, 3, 2], [96, 256, 11], [300, 1152, 1001], [2000, 30, 3]]) {
      const ids = inp(integers(rng, N, V)), where = `N=${N} C=${C} V=${V} seed ${rng.seed}`;
      check(pair, { label: `forward ${where}`, op: "dusa_embedding_forward", args: [out("out", N * C, exact), ids, inp(uniform(rng, V * C)), N, C, V] });
      check(pair, { label: `backward ${where}`, op: "dusa_embedding_backward", args: [acc("dtable", uniform(rng, V * C)), inp(uniform(rng, N * C)), ids, N, C, V], absFloor: true });
    }
  });

  test("embedding ids outside [0, V) are errors on both backends, and an invalid backward adds nothing", () => {
    for (const [bad, row] of [[4, 1], [-1, 2]])
      for (const op of ["dusa_embedding_forward", "dusa_embedding_backward"] as const)
        expectSameError(pair, `${op} id ${bad} in row ${row}`, 1, (ctx) => {
          const table = ctx.zeros([4, 2]), o = ctx.alloc([3, 2]).fill(1), ids = ctx.upload(Int32Array.from([0, row === 1 ? bad : 0, row === 2 ? bad : 3]), [3]);
          try {
            if (op === "dusa_embedding_forward") ctx.call(op, o, ids, table, 3, 2, 4);
            else ctx.call(op, table, o, ids, 3, 2, 4);
          } finally {
            const untouched = Array.from(table.read()).every((v) => v === 0);
            for (const t of [table, o, ids]) t.free();
            expect(untouched).toBe(true);
          }
        });
  });

  test("timestep embedding: flow times and DDPM steps, odd dims", () => {
    const rng = freshRng();
    for (const [N, dim, maxPeriod] of [[1, 1, 10000], [4, 256, 10000], [5, 257, 10000], [3, 2, 10000], [96, 256, 10000], [8, 1152, 10000], [2, 16, 100]]) {
      const T = uniform(rng, N, 0, 1).map((v, i) => (i % 2 ? Math.floor(v * 1000) : v));
      check(pair, { label: `N=${N} dim=${dim} max_period=${maxPeriod} seed ${rng.seed}`, op: "dusa_timestep_embedding", args: [out("out", N * dim), inp(T), N, dim, maxPeriod] });
    }
  });

  test("select_classes: bit-identical to the CPU (top-k with ties, Philox draws outside it)", () => {
    const rng = freshRng();
    // B, C, topk, rand_budget, temperature, ties (test/ops/select.test.ts's cases and DUSA's B 64 / 10 classes)
    const cases: [number, number, number, number, number, boolean][] = [
      [1, 6, 4, 2, 1, false], [8, 10, 4, 2, 1, true], [64, 10, 4, 2, 1, false], [16, 1000, 4, 2, 1, false], [5, 7, 3, 4, 0.5, true],
      [4, 50, 5, 10, 2.5, false], [3, 9, 1, 0, 1, true], [2, 4, 4, 0, 1, false], [6, 12, 1, 11, 0.3, false], [2000, 10, 4, 2, 1, true],
    ];
    for (const [B, C, topk, R, temperature, ties] of cases) {
      const { logits, normed } = selectInputs(rng, B, C, ties), seed = random64(rng), offset = random64(rng) >> 2n;
      check(pair, {
        label: `B=${B} C=${C} topk=${topk} R=${R} T=${temperature} ties=${ties} (seed ${seed}, offset ${offset}, rng ${rng.seed})`, op: "dusa_select_classes",
        args: [outI("selected", B * (topk + R)), inp(normed), R ? inp(logits) : null, B, C, topk, R, temperature, seed, offset],
      });
    }
  });

  test("gather forward and backward (scatter into zeros): bit-identical", () => {
    const rng = freshRng();
    for (const [B, C, K] of [[1, 1, 1], [3, 7, 3], [64, 10, 6], [16, 1000, 6]]) {
      const idx = inp(distinctIds(rng, B, C, K)), where = `B=${B} C=${C} K=${K} seed ${rng.seed}`;
      check(pair, { label: `gather fwd ${where}`, op: "dusa_gather_forward", args: [out("out", B * K, exact), inp(uniform(rng, B * C)), idx, B, C, K] });
      check(pair, { label: `gather bwd ${where}`, op: "dusa_gather_backward", args: [out("din", B * C, exact), inp(uniform(rng, B * K)), idx, B, C, K] });
    }
  });

  test("flow loss: terms (host and device), dw, dp, every weighting, grad_scale; NULL dp and dw", () => {
    const rng = freshRng();
    const weightSets = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0.5, 0.25]];
    // [B, K, D]: edge; odd; DUSA on the tiny models (B 64, K 6, 4x8x8 latents); a long D
    for (const [B, K, D] of [[1, 1, 1], [2, 6, 16], [5, 3, 7], [64, 6, 256], [3, 4, 4096]]) {
      // softmax weights; predictions near the target, so the terms are in a realistic range
      const logits = normal(rng, B * K), w = new Float32Array(B * K);
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += Math.exp(logits[b * K + k]);
        for (let k = 0; k < K; k++) w[b * K + k] = Math.exp(logits[b * K + k]) / s;
      }
      const target = normal(rng, B * D), noise = normal(rng, B * K * D, 0.7), p = new Float32Array(B * K * D);
      for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) p[(b * K + k) * D + d] = target[b * D + d] + noise[(b * K + k) * D + d];
      if (B >= 2) target.fill(0, D, 2 * D); // a zero target row: the cosine clamps its denominator
      const [W, P, T] = [inp(w), inp(p), inp(target)];
      for (const [mse, normL2, cosine] of weightSets)
        for (const gradScale of [1, 0.125]) {
          const where = `B=${B} K=${K} D=${D} weights (${mse}, ${normL2}, ${cosine}) g=${gradScale} seed ${rng.seed}`;
          const tail = [W, P, T, B, K, D, mse, normL2, cosine, gradScale];
          check(pair, { label: `host terms ${where}`, op: "dusa_flow_loss", args: [host("terms", 4, { perElement: true }), out("dw", B * K), out("dp", B * K * D), ...tail] });
          check(pair, { label: `device terms, dp NULL ${where}`, op: "dusa_flow_loss", args: [out("terms", 4, { perElement: true }), out("dw", B * K), null, ...tail] });
          check(pair, { label: `dw NULL ${where}`, op: "dusa_flow_loss", args: [host("terms", 4, { perElement: true }), null, out("dp", B * K * D), ...tail] });
        }
    }
  });
});
