// CUDA attention against the float64 reference, judged by the CPU backend's own error on the same inputs: the
// GPU's relative error may be at most twice the CPU's (+ 2e-7, two float32 roundings, for a CPU that is exact),
// for out, lse, dq, dk, dv, in the packed (timm qkv), separate and padded layouts, at edge and model shapes.
// The backward of both backends gets the CPU forward's out and lse, as does the reference. dq and dk are sums that
// cancel (sum_j dS_ij = 0), so their error is measured against the terms' scale, that of dv (as test/ops does).
// NULL gradients are skipped (their buffers untouched); padding columns are never written.
import { describe, expect, test } from "bun:test";
import { norm2, relErr } from "../util/check.ts";
import { freshRng, normal, uniform, type Rng } from "../util/random.ts";
import { attentionBackwardRef, attentionForwardRef, type AttnShape } from "../ref/attention.ts";
import { at, cudaSuite, execute, inp, out, standIn, type Arg, type Case, type Pair } from "./harness.ts";

type Layout = "packed" | "separate" | "padded";
type Dims = { B: number; T: number; NH: number; HD: number };

const shapes: [Dims, Layout[]][] = [
  [{ B: 1, T: 1, NH: 1, HD: 1 }, ["packed", "separate", "padded"]],
  [{ B: 2, T: 5, NH: 3, HD: 4 }, ["packed", "separate", "padded"]],
  [{ B: 1, T: 3, NH: 1, HD: 1 }, ["packed", "separate", "padded"]],
  [{ B: 2, T: 17, NH: 3, HD: 8 }, ["packed", "separate", "padded"]],
  [{ B: 1, T: 65, NH: 2, HD: 16 }, ["packed", "separate", "padded"]], // one row past a 64-row tile
  [{ B: 2, T: 130, NH: 1, HD: 33 }, ["packed", "separate", "padded"]], // partial tiles, odd head dim
  [{ B: 3, T: 64, NH: 2, HD: 72 }, ["packed", "separate"]], // exactly one tile, SiT-XL's head dim
  [{ B: 96, T: 16, NH: 4, HD: 64 }, ["packed"]], // the tiny SiT (B·K = 96 samples)
  [{ B: 8, T: 64, NH: 1, HD: 64 }, ["separate"]], // the tiny VAE's mid-block (8x8 latents, 64 channels)
  [{ B: 1, T: 256, NH: 2, HD: 72 }, ["packed"]], // SiT-XL's sequence length
];

class Problem {
  s: AttnShape;
  q: Float32Array; k: Float32Array; v: Float32Array; dout: Float32Array;
  qp: Arg; kp: Arg; vp: Arg;
  constructor(rng: Rng, d: Dims, readonly layout: Layout) {
    const C = d.NH * d.HD, rs = layout === "packed" ? 3 * C : layout === "padded" ? C + 3 : C, rows = d.B * d.T;
    this.s = { ...d, rs };
    // q, k with std 1.5: scores of std ~2, a peaked softmax
    if (layout === "packed") {
      const qkv = new Float32Array(rows * rs), a = normal(rng, rows * rs, 1.5), u = uniform(rng, rows * rs);
      for (let r = 0; r < rows; r++) for (let c = 0; c < 3 * C; c++) qkv[r * rs + c] = c < 2 * C ? a[r * rs + c] : u[r * rs + c];
      [this.q, this.k, this.v] = [qkv, qkv.subarray(C), qkv.subarray(2 * C)];
      const buf = inp(qkv);
      [this.qp, this.kp, this.vp] = [at(buf, 0), at(buf, C), at(buf, 2 * C)];
    } else {
      [this.q, this.k, this.v] = [normal(rng, rows * rs, 1.5), normal(rng, rows * rs, 1.5), uniform(rng, rows * rs)];
      [this.qp, this.kp, this.vp] = [inp(this.q), inp(this.k), inp(this.v)];
    }
    this.dout = uniform(rng, rows * C);
  }
  get rows() { return this.s.B * this.s.T; }
  get C() { return this.s.NH * this.s.HD; }
  sizes(): number[] {
    const { B, T, NH, HD, rs } = this.s;
    return [B, T, NH, HD, rs];
  }
  forward(): Case {
    return { label: "attention forward", op: "dusa_attention_forward", args: [out("out", this.rows * this.C), out("lse", this.s.B * this.s.NH * this.s.T), this.qp, this.kp, this.vp, ...this.sizes()] };
  }
  /** want: which of dq, dk, dv are requested (the others NULL). */
  backward(o: Float32Array, lse: Float32Array, want = [true, true, true]): Case {
    const { rows, C } = this, rs = this.s.rs;
    let grads: Arg[];
    if (this.layout === "packed") {
      const written = (i: number) => want[Math.floor((i % rs) / C)];
      const g = out("dqkv", rows * rs, { written });
      grads = [0, 1, 2].map((j) => (want[j] ? at(g, j * C) : null));
    } else grads = ["dq", "dk", "dv"].map((name, j) => (want[j] ? out(name, rows * rs, { written: (i) => i % rs < C }) : null));
    return { label: "attention backward", op: "dusa_attention_backward", args: [...grads, inp(this.dout), this.qp, this.kp, this.vp, inp(o), inp(lse), ...this.sizes()] };
  }
  /** dq, dk, dv of a backward's outputs, as three strided arrays indexed like q, k, v. */
  grads(r: Map<string, ArrayLike<number>>): ArrayLike<number>[] {
    if (this.layout !== "packed") return ["dq", "dk", "dv"].map((n) => r.get(n)!);
    const all = r.get("dqkv") as Float32Array;
    return [all, all.subarray(this.C), all.subarray(2 * this.C)];
  }
  /** The head columns of a strided array (drops padding and the other parts of packed qkv). */
  heads(x: ArrayLike<number>): Float64Array {
    const { rows, C } = this, rs = this.s.rs, h = new Float64Array(rows * C);
    for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) h[r * C + c] = x[r * rs + c];
    return h;
  }
}

function expectNoWorse(label: string, gpu: ArrayLike<number>, cpu: ArrayLike<number>, ref: ArrayLike<number>, floor = 0): void {
  const eg = relErr(gpu, ref, floor), ec = relErr(cpu, ref, floor);
  const bound = 2 * ec + 2e-7;
  if (!(eg <= bound)) throw new Error(`${label}: GPU error vs float64 ${eg.toExponential(3)} > 2 × CPU error ${ec.toExponential(3)} + 2e-7`);
  expect(eg).toBeLessThanOrEqual(bound);
}

function checkProblem(pair: Pair, p: Problem, label: string): void {
  const fc = execute(pair.cpu, p.forward()), fg = execute(pair.gpu, p.forward());
  const ref = attentionForwardRef(p.q, p.k, p.v, p.s);
  expectNoWorse(`${label} out`, fg.get("out")!, fc.get("out")!, ref.out);
  expectNoWorse(`${label} lse`, fg.get("lse")!, fc.get("lse")!, ref.lse);
  const [o, lse] = [fc.get("out") as Float32Array, fc.get("lse") as Float32Array];
  const bc = execute(pair.cpu, p.backward(o, lse)), bg = execute(pair.gpu, p.backward(o, lse));
  const g = attentionBackwardRef(p.dout, p.q, p.k, p.v, o, lse, p.s);
  const [gq, gk, gv] = p.grads(bg), [cq, ck, cv] = p.grads(bc);
  const termScale = norm2(p.heads(g.dv));
  expectNoWorse(`${label} dq`, p.heads(gq), p.heads(cq), p.heads(g.dq), termScale);
  expectNoWorse(`${label} dk`, p.heads(gk), p.heads(ck), p.heads(g.dk), termScale);
  expectNoWorse(`${label} dv`, p.heads(gv), p.heads(cv), p.heads(g.dv));
  // every written element finite; padding columns untouched (NaN)
  const rs = p.s.rs, C = p.C;
  for (const x of p.layout === "packed" ? [bg.get("dqkv")!] : [gq, gk, gv])
    for (let i = 0; i < x.length; i++) {
      const pad = p.layout === "padded" && i % rs >= C;
      if (pad ? !Number.isNaN(x[i]) : !Number.isFinite(x[i])) throw new Error(`${label}: gradient element ${i} is ${x[i]}${pad ? " in the padding" : ""}`);
    }
}

cudaSuite("cuda: attention", (pair) => {
  for (const reference of [false, true])
    describe(`attention, ${reference ? "reference mode" : "fast path"} on the GPU`, () => {
      for (const [d, layouts] of shapes)
        for (const layout of layouts)
          test(`B=${d.B} T=${d.T} NH=${d.NH} HD=${d.HD} ${layout}`, () => {
            const rng = freshRng();
            pair.gpu.setReference(reference);
            try {
              checkProblem(pair, new Problem(rng, d, layout), `${layout} ${JSON.stringify(d)} seed ${rng.seed}`);
            } finally {
              pair.gpu.setReference(standIn);
            }
          });
    });

  test("NULL gradients are skipped: each alone equals its part of the full backward, the others untouched", () => {
    const rng = freshRng();
    for (const layout of ["separate", "packed"] as Layout[]) {
      const p = new Problem(rng, { B: 2, T: 9, NH: 2, HD: 4 }, layout);
      const f = execute(pair.cpu, p.forward());
      const [o, lse] = [f.get("out") as Float32Array, f.get("lse") as Float32Array];
      const full = p.grads(execute(pair.gpu, p.backward(o, lse)));
      for (let j = 0; j < 3; j++) {
        const want = [0, 1, 2].map((i) => i === j);
        const r = execute(pair.gpu, p.backward(o, lse, want));
        const alone = p.layout === "packed" ? p.grads(r)[j] : r.get(["dq", "dk", "dv"][j])!;
        // packed: the NULL parts of the one buffer stay NaN (separate: they are not passed at all)
        if (p.layout === "packed") for (const [i, other] of p.grads(r).entries()) if (i !== j) expect(Array.from(p.heads(other)).every(Number.isNaN)).toBe(true);
        expect(relErr(p.heads(alone), p.heads(full[j]), norm2(p.heads(full[2])))).toBeLessThanOrEqual(1e-6);
      }
    }
  });
});
