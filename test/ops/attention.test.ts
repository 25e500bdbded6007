// Fused attention forward/backward vs the float64 reference: odd and tiny shapes, packed qkv (timm layout),
// separate and padded buffers, fast and reference paths; the model shapes (tiny SiT, SiT-XL, SD-VAE mid-block)
// on a subset of heads/rows; thread-count independence; the reference backward vs finite differences.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, norm2, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform, type Rng } from "../util/random.ts";
import {
  attentionBackwardRef, attentionDkvRowRef, attentionDqRowRef, attentionForwardRef, attentionRowRef, attnIndex, type AttnShape,
} from "../ref/attention.ts";
import type { Tensor } from "../../src/native/index.ts";

const ctx = cpuContext();
type Layout = "packed" | "separate" | "padded";
type Dims = { B: number; T: number; NH: number; HD: number };

// q, k, v on the device and as host views with the same offsets (so the reference indexes them alike)
class Problem {
  s: AttnShape;
  host: { q: Float32Array; k: Float32Array; v: Float32Array; dout: Float32Array };
  dev: { q: number; k: number; v: number; dout: Tensor; out: Tensor; lse: Tensor; grads: Tensor[]; dq: number; dk: number; dv: number };
  bufs: Tensor[] = [];
  constructor(rng: Rng, d: Dims, readonly layout: Layout) {
    const C = d.NH * d.HD;
    const rs = layout === "packed" ? 3 * C : layout === "padded" ? C + 3 : C;
    this.s = { ...d, rs };
    const rows = d.B * d.T;
    // q, k with std 1.5: scores of std ~2, a peaked softmax
    let q: Float32Array, k: Float32Array, v: Float32Array;
    let qp: number, kp: number, vp: number;
    if (layout === "packed") {
      const qkv = new Float32Array(rows * rs);
      const a = normal(rng, rows * rs, 1.5), u = uniform(rng, rows * rs);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < 3 * C; c++) qkv[r * rs + c] = c < 2 * C ? a[r * rs + c] : u[r * rs + c];
      const t = ctx.upload(qkv, [rows, rs]);
      this.bufs.push(t);
      [q, k, v] = [qkv, qkv.subarray(C), qkv.subarray(2 * C)];
      [qp, kp, vp] = [t.ptr, t.ptr + 4 * C, t.ptr + 8 * C];
    } else {
      [q, k, v] = [normal(rng, rows * rs, 1.5), normal(rng, rows * rs, 1.5), uniform(rng, rows * rs)];
      const ts = [q, k, v].map((x) => ctx.upload(x, [rows, rs]));
      this.bufs.push(...ts);
      [qp, kp, vp] = ts.map((t) => t.ptr);
    }
    const dout = uniform(rng, rows * C);
    this.host = { q, k, v, dout };
    const doutT = ctx.upload(dout, [rows, C]);
    const out = poisoned(ctx, [rows, C]), lse = poisoned(ctx, [d.B, d.NH, d.T]);
    let grads: Tensor[], dq: number, dk: number, dv: number;
    if (layout === "packed") {
      grads = [poisoned(ctx, [rows, rs])];
      [dq, dk, dv] = [grads[0].ptr, grads[0].ptr + 4 * C, grads[0].ptr + 8 * C];
    } else {
      grads = [0, 1, 2].map(() => poisoned(ctx, [rows, rs]));
      [dq, dk, dv] = grads.map((t) => t.ptr);
    }
    this.bufs.push(doutT, out, lse, ...grads);
    this.dev = { q: qp, k: kp, v: vp, dout: doutT, out, lse, grads, dq, dk, dv };
  }
  forward() {
    const { B, T, NH, HD, rs } = this.s;
    ctx.call("dusa_attention_forward", this.dev.out, this.dev.lse, this.dev.q, this.dev.k, this.dev.v, B, T, NH, HD, rs);
  }
  backward() {
    const { B, T, NH, HD, rs } = this.s;
    const d = this.dev;
    for (const g of d.grads) g.fill(Number.NaN);
    ctx.call("dusa_attention_backward", d.dq, d.dk, d.dv, d.dout, d.q, d.k, d.v, d.out, d.lse, B, T, NH, HD, rs);
  }
  // the gradients read back as three strided arrays (dq, dk, dv), each indexed like q/k/v
  readGrads(): Float32Array[] {
    if (this.layout !== "packed") return this.dev.grads.map((g) => g.readFloat());
    const all = this.dev.grads[0].readFloat(), C = this.s.NH * this.s.HD;
    return [all, all.subarray(C), all.subarray(2 * C)];
  }
  free() {
    for (const t of this.bufs) t.free();
  }
}

// values of the head columns of a strided array (drops padding and, for packed, the other two parts)
function headColumns(x: ArrayLike<number>, s: AttnShape): Float64Array {
  const C = s.NH * s.HD, rows = s.B * s.T, out = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) out[r * C + c] = x[r * s.rs + c];
  return out;
}

function checkFull(p: Problem, label: string, seed: number, tol = 1e-5) {
  const { q, k, v, dout } = p.host;
  p.forward();
  const ref = attentionForwardRef(q, k, v, p.s);
  const out = p.dev.out.readFloat(), lse = p.dev.lse.readFloat();
  expectClose(`${label} out`, out, ref.out, tol, seed);
  expectClose(`${label} lse`, lse, ref.lse, tol, seed);
  p.backward();
  const g = attentionBackwardRef(dout, q, k, v, out, lse, p.s);
  const [dq, dk, dv] = p.readGrads();
  // dq and dk are sums of dS = P (dP - D) terms, and sum_j dS_ij = 0: they can cancel far below their terms
  // (e.g. HD = 1, T = 3), so their error is measured against the terms' scale, which is that of dv = P^T dO.
  const termScale = norm2(headColumns(g.dv, p.s));
  expectClose(`${label} dq`, headColumns(dq, p.s), headColumns(g.dq, p.s), tol, seed, termScale);
  expectClose(`${label} dk`, headColumns(dk, p.s), headColumns(g.dk, p.s), tol, seed, termScale);
  expectClose(`${label} dv`, headColumns(dv, p.s), headColumns(g.dv, p.s), tol, seed);
  if (p.layout === "packed") expect(p.dev.grads[0].readFloat().every(Number.isFinite)).toBe(true);
  if (p.layout === "padded")  // the padding columns of the gradients are never written
    for (const grad of p.dev.grads) {
      const x = grad.readFloat();
      for (let r = 0; r < p.s.B * p.s.T; r++) for (let c = p.s.NH * p.s.HD; c < p.s.rs; c++) expect(x[r * p.s.rs + c]).toBeNaN();
    }
}

// checks rows (b, h, t) of out, lse, dq and key rows of dk, dv against the row references
function checkRows(p: Problem, picks: [number, number, number][], label: string, seed: number, tol = 1e-5) {
  const { q, k, v, dout } = p.host;
  const out = p.dev.out.readFloat(), lse = p.dev.lse.readFloat();
  const [dq, dk, dv] = p.readGrads();
  const got: number[][] = [[], [], [], [], [], []], want: number[][] = [[], [], [], [], [], []];
  for (const [b, h, t] of picks) {
    const row = attentionRowRef(q, k, v, p.s, b, h, t);
    const o = attnIndex.outAt(p.s, b, t, h), at = attnIndex.qkvAt(p.s, b, t, h);
    got[0].push(...out.subarray(o, o + p.s.HD)); want[0].push(...row.out);
    got[1].push(lse[attnIndex.lseAt(p.s, b, h, t)]); want[1].push(row.lse);
    got[2].push(...dq.subarray(at, at + p.s.HD)); want[2].push(...attentionDqRowRef(dout, q, k, v, out, lse, p.s, b, h, t));
    const g = attentionDkvRowRef(dout, q, k, v, out, lse, p.s, b, h, t);
    got[3].push(...dk.subarray(at, at + p.s.HD)); want[3].push(...g.dk);
    got[4].push(...dv.subarray(at, at + p.s.HD)); want[4].push(...g.dv);
  }
  ["out", "lse", "dq", "dk", "dv"].forEach((name, i) => expectClose(`${label} ${name} (${picks.length} rows)`, got[i], want[i], tol, seed));
}

const small: Dims[] = [
  { B: 1, T: 1, NH: 1, HD: 1 },
  { B: 2, T: 5, NH: 3, HD: 4 },
  { B: 1, T: 3, NH: 1, HD: 1 },
  { B: 2, T: 17, NH: 3, HD: 8 },
  { B: 1, T: 65, NH: 2, HD: 16 },   // one row past a tile
  { B: 2, T: 130, NH: 1, HD: 33 },  // three partial tiles, odd head dim
  { B: 3, T: 64, NH: 2, HD: 72 },   // exactly one tile
];

for (const reference of [false, true])
  describe(`attention, ${reference ? "reference" : "tiled"} path`, () => {
    for (const d of small)
      for (const layout of ["packed", "separate", "padded"] as Layout[])
        test(`B=${d.B} T=${d.T} NH=${d.NH} HD=${d.HD} ${layout}`, () => {
          const rng = freshRng();
          ctx.setReference(reference);
          const p = new Problem(rng, d, layout);
          try {
            checkFull(p, `${layout} ${JSON.stringify(d)}`, rng.seed);
          } finally {
            p.free();
            ctx.setReference(false);
          }
        });
  });

describe("attention at model shapes", () => {
  test("tiny SiT: B*NH = 384, T = 16, HD = 64, packed qkv (full check)", () => {
    const rng = freshRng();
    const p = new Problem(rng, { B: 96, T: 16, NH: 4, HD: 64 }, "packed");
    checkFull(p, "tiny SiT", rng.seed);
    p.free();
  });

  test("SiT-XL: B*NH = 128, T = 256, HD = 72, packed qkv (every row of one head + 32 rows)", () => {
    const rng = freshRng();
    const d = { B: 8, T: 256, NH: 16, HD: 72 };
    const p = new Problem(rng, d, "packed");
    p.forward();
    p.backward();
    // every row of the last batch's random head, and 32 random rows of other heads (first and last included)
    const h0 = Math.floor(rng.next() * d.NH);
    const picks: [number, number, number][] = [[0, 0, 0], [0, d.NH - 1, d.T - 1]];
    for (let t = 0; t < d.T; t++) picks.push([d.B - 1, h0, t]);
    for (let i = 0; i < 30; i++) picks.push([Math.floor(rng.next() * d.B), Math.floor(rng.next() * d.NH), Math.floor(rng.next() * d.T)]);
    checkRows(p, picks, "SiT-XL", rng.seed);
    expect(p.dev.grads[0].readFloat().every(Number.isFinite)).toBe(true);
    p.free();
  });

  test("SD-VAE mid-block: B = 1, T = 1024, NH = 1, HD = 512, separate q/k/v (24 rows)", () => {
    const rng = freshRng();
    const d = { B: 1, T: 1024, NH: 1, HD: 512 };
    const p = new Problem(rng, d, "separate");
    p.forward();
    p.backward();
    const picks: [number, number, number][] = [[0, 0, 0], [0, 0, d.T - 1], [0, 0, 64], [0, 0, 63]];
    while (picks.length < 24) picks.push([0, 0, Math.floor(rng.next() * d.T)]);
    checkRows(p, picks, "VAE", rng.seed);
    for (const g of p.dev.grads) expect(g.readFloat().every(Number.isFinite)).toBe(true);
    p.free();
  });
});

test("attention results do not depend on the thread count (per-head and split backward agree bit for bit)", () => {
  const rng = freshRng();
  // 4 heads: one thread runs the one-pass per-head backward, two threads the two-pass split one
  const p = new Problem(rng, { B: 2, T: 130, NH: 2, HD: 24 }, "packed");
  const saved = ctx.threads;
  const results: Float32Array[][] = [];
  for (const threads of [1, 2, 3]) {
    ctx.threads = threads;
    p.forward();
    p.backward();
    results.push([p.dev.out.readFloat(), p.dev.lse.readFloat(), p.dev.grads[0].readFloat()]);
  }
  ctx.threads = saved;
  for (const r of results.slice(1)) r.forEach((x, i) => expect(x).toEqual(results[0][i]));
  p.free();
});

test("attention reference backward agrees with finite differences", () => {
  const rng = freshRng();
  const s: AttnShape = { B: 2, T: 5, NH: 2, HD: 3, rs: 6 };
  const n = s.B * s.T * s.rs;
  const inputs = [toF64(normal(rng, n, 1.5)), toF64(normal(rng, n, 1.5)), toF64(uniform(rng, n))];
  const G = uniform(rng, n);
  const f = (xs: Float64Array[]) => attentionForwardRef(xs[0], xs[1], xs[2], s).out;
  const fwd = attentionForwardRef(inputs[0], inputs[1], inputs[2], s);
  const ref = attentionBackwardRef(G, inputs[0], inputs[1], inputs[2], fwd.out, fwd.lse, s);
  expectClose("dq", finiteDiff(f, inputs, G, 0), ref.dq, 1e-7, rng.seed);
  expectClose("dk", finiteDiff(f, inputs, G, 1), ref.dk, 1e-7, rng.seed);
  expectClose("dv", finiteDiff(f, inputs, G, 2), ref.dv, 1e-7, rng.seed);
});

test("attention: NULL gradients are skipped", () => {
  const rng = freshRng();
  const p = new Problem(rng, { B: 2, T: 9, NH: 2, HD: 4 }, "separate");
  const { B, T, NH, HD, rs } = p.s;
  const d = p.dev;
  p.forward();
  p.backward();
  const full = p.readGrads();
  for (const g of d.grads) g.fill(Number.NaN);
  ctx.call("dusa_attention_backward", null, d.dk, null, d.dout, d.q, d.k, d.v, d.out, d.lse, B, T, NH, HD, rs);
  const [dq, dk, dv] = p.readGrads();
  expect(dk).toEqual(full[1]);
  expect(dq.every(Number.isNaN) && dv.every(Number.isNaN)).toBe(true);
  p.free();
});

test("attention: bad arguments are errors naming the op", () => {
  const x = ctx.zeros([4, 8]), lse = ctx.zeros([4]);
  expect(() => ctx.call("dusa_attention_forward", x, lse, x, x, x, 1, 4, 2, 4, 6)).toThrow(/dusa_attention_forward.*row_stride \(6\) must be >= NH\*HD \(8\)/);
  expect(() => ctx.call("dusa_attention_forward", x, lse, null, x, x, 1, 4, 2, 4, 8)).toThrow(/dusa_attention_forward.*q is null/);
  expect(() => ctx.call("dusa_attention_backward", x, x, x, x, x, x, x, x, lse, 1, 0, 2, 4, 8)).toThrow(/dusa_attention_backward.*T=0/);
  x.free();
  lse.free();
});
