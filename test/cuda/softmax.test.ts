// CUDA vs CPU over rows (N, C): softmax with temperature, L2-normalise (free and eps-clamped rows), cross-entropy
// and entropy (loss into a host array, as the TS side passes it, and into device memory), their backwards, argmax
// (ties to the lower index, bit-identical). Backwards are fed the CPU forward's saved values.
import { expect, test } from "bun:test";
import { norm2 } from "../util/check.ts";
import { freshRng, integers, normal, uniform } from "../util/random.ts";
import { check, cpuRun, cudaSuite, host, HostOut, inp, out, outI } from "./harness.ts";

// edge sizes, a tail past 4096, DUSA's (B 64, 10 classes) and its K = 6 weights, ImageNet-wide rows
const shapes: [number, number][] = [[1, 1], [1, 10], [3, 7], [64, 10], [64, 6], [5, 4099], [16, 1000]];

cudaSuite("cuda: softmax and losses", (pair) => {
  test("softmax forward and backward, temperatures", () => {
    const rng = freshRng();
    for (const [N, C] of shapes)
      for (const temperature of [1, 0.3, 2.5]) {
        const X = normal(rng, N * C, 3), G = uniform(rng, N * C), where = `N=${N} C=${C} T=${temperature} seed ${rng.seed}`;
        check(pair, { label: `softmax fwd ${where}`, op: "dusa_softmax_forward", args: [out("out", N * C), inp(X), N, C, temperature] });
        const y = cpuRun(pair, { op: "dusa_softmax_forward", args: [out("out", N * C), inp(X), N, C, temperature] }).get("out")!;
        check(pair, { label: `softmax bwd ${where}`, op: "dusa_softmax_backward", args: [out("din", N * C), inp(G), inp(y), N, C, temperature] });
      }
  });

  test("l2norm forward and backward; rows below eps are clamped, zero rows stay zero", () => {
    const rng = freshRng();
    const cases: [number, number, number, Float32Array][] = shapes.map(([N, C]) => [N, C, 1e-12, normal(rng, N * C, 2)]);
    const clamped = uniform(rng, 30);
    for (let c = 0; c < 5; c++) { clamped[c] *= 0.01; clamped[5 + c] = 0; clamped[10 + c] *= 5; }
    cases.push([6, 5, 0.5, clamped]);
    for (const [N, C, eps, X] of cases) {
      const G = uniform(rng, N * C), where = `N=${N} C=${C} eps=${eps} seed ${rng.seed}`;
      check(pair, { label: `l2norm fwd ${where}`, op: "dusa_l2norm_forward", args: [out("out", N * C), out("norm", N), inp(X), N, C, eps] });
      const norm = cpuRun(pair, { op: "dusa_l2norm_forward", args: [out("out", N * C), out("norm", N), inp(X), N, C, eps] }).get("norm")!;
      // C = 1: the exact gradient is 0, left as rounding noise of order eps32 |dout| / |x|
      const floor = C === 1 ? norm2(Float64Array.from(G, (g, i) => g / X[i])) : 0;
      check(pair, { label: `l2norm bwd ${where}`, op: "dusa_l2norm_backward", args: [out("din", N * C, { floor }), inp(G), inp(X), inp(norm), N, C, eps] });
    }
  });

  test("cross-entropy and entropy: loss into host and device memory, backward with dloss", () => {
    const rng = freshRng();
    for (const [N, C] of shapes) {
      const X = normal(rng, N * C, 3), labels = integers(rng, N, C), dloss = 0.5 + rng.next(), where = `N=${N} C=${C} seed ${rng.seed}`;
      for (const loss of [host("loss", 1), out("loss", 1)]) {
        const kind = loss instanceof HostOut ? "host" : "device";
        check(pair, { label: `cross-entropy (${kind} loss) ${where}`, op: "dusa_cross_entropy_forward", args: [loss, inp(X), inp(labels), N, C] });
        // C = 1: the entropy is exactly 0 (an absolute comparison)
        check(pair, { label: `entropy (${kind} loss) ${where}`, op: "dusa_entropy_forward", args: [loss, inp(X), N, C] });
      }
      check(pair, { label: `cross-entropy bwd ${where}`, op: "dusa_cross_entropy_backward", args: [out("dlogits", N * C), inp(X), inp(labels), N, C, dloss] });
      check(pair, { label: `entropy bwd ${where}`, op: "dusa_entropy_backward", args: [out("dlogits", N * C), inp(X), N, C, dloss] });
    }
  });

  test("argmax: bit-identical, ties to the lower index", () => {
    const rng = freshRng();
    for (const [N, C] of shapes) {
      const X = normal(rng, N * C), ties = X.map((v) => Math.round(v * 2) / 2), where = `N=${N} C=${C} seed ${rng.seed}`;
      check(pair, { label: `argmax ${where}`, op: "dusa_argmax", args: [outI("out", N), inp(X), N, C] });
      const r = check(pair, { label: `argmax with ties ${where}`, op: "dusa_argmax", args: [outI("out", N), inp(ties), N, C] });
      const got = r.get("out")!;
      for (let n = 0; n < N; n++) {
        const row = ties.subarray(n * C, (n + 1) * C);
        expect(got[n]).toBe(row.indexOf(Math.max(...row)));
      }
    }
  });
});
