// bf16 storage on the CPU backend (the reference of the mode): dusa_act arguments are bf16, the math is fp32 on the
// stored values, and each output is rounded once — so a bf16 result equals the rounding of the fp32 op's result on
// the same (rounded) inputs, bit for bit. Every op is also run this way by the CUDA suite's case tables under
// DUSA_CUDA_STANDIN=cpu-bf16 (.ci/run); here: the switch, the dtype checks, and the staging's edge cases.
import { afterEach, expect, test } from "bun:test";
import { DusaError, fromBf16, roundToBf16, toBf16, type Context } from "../../src/native/index.ts";
import { relErr } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, uniform } from "../util/random.ts";

const ctx = cpuContext();
afterEach(() => {
  ctx.storage = "f32";
});

/** Runs `op` with the given act inputs in fp32 (rounded values) and bf16 storage; returns both outputs. */
function both(c: Context, inputs: Float32Array[], outSize: number, op: (out: unknown, ins: unknown[]) => void) {
  const rounded = inputs.map((x) => roundToBf16(x));
  const f32Ins = rounded.map((x) => c.upload(x, [x.length]));
  const f32Out = c.alloc([outSize]).fill(Number.NaN);
  op(f32Out, f32Ins);
  const fp32 = f32Out.read() as Float32Array;
  c.storage = "bf16";
  const bfIns = inputs.map((x) => c.upload(toBf16(x), [x.length]));
  const bfOut = c.alloc([outSize], "act", "bf16").write(new Uint16Array(outSize).fill(0x7fc1));
  op(bfOut, bfIns);
  const bf16 = bfOut.read() as Uint16Array;
  c.storage = "f32";
  for (const t of [...f32Ins, f32Out, ...bfIns, bfOut]) t.free();
  return { fp32, bf16 };
}

test("the storage switch: fp32 by default, bf16 on request, anything else refused", () => {
  expect(ctx.storage).toBe("f32");
  ctx.storage = "bf16";
  const out = new Int32Array(1);
  ctx.call("dusa_ctx_get_storage", out);
  expect([ctx.storage, out[0]]).toEqual(["bf16", 1]);
  expect(() => ctx.call("dusa_ctx_set_storage", 2)).toThrow(/dusa_ctx_set_storage.*DUSA_DTYPE_F32 \(0\) or DUSA_DTYPE_BF16 \(1\), got 2/);
  expect(() => (ctx.storage = "f16" as "bf16")).toThrow(/storage must be f32 or bf16/);
});

test("an activation tensor of the wrong dtype is refused before the call, naming the parameter", () => {
  const x = ctx.upload(new Float32Array(8), [8]), y = ctx.alloc([8], "act", "bf16");
  ctx.storage = "bf16";
  expect(() => ctx.call("dusa_gelu_forward", y, x, 8, 0)).toThrow(/dusa_gelu_forward.*in \(const dusa_act\*\) must be a bf16 tensor \(an activation argument: the context stores bf16\), got f32 \(8\)/);
  ctx.storage = "f32";
  expect(() => ctx.call("dusa_gelu_forward", y, x, 8, 0)).toThrow(/out \(dusa_act\*\) must be a f32 tensor/);
  expect(() => ctx.call("dusa_layernorm_forward", x, y, x, x, null, null, 1, 8, 1e-5)).toThrow(/mean \(float\*\) must be a f32 tensor, got bf16/);
  x.free();
  y.free();
});

test("each output is the fp32 result rounded once: linear, GELU, softmax", () => {
  const rng = freshRng();
  const [N, IC, OC] = [7, 33, 19];
  const X = uniform(rng, N * IC), W = uniform(rng, OC * IC), b = uniform(rng, OC);
  const bias = ctx.upload(b, [OC]); // a float argument: fp32 in either storage
  const lin = both(ctx, [X, W], N * OC, (out, [x, w]) => ctx.call("dusa_linear_forward", out as never, x as never, w as never, bias, N, IC, OC));
  expect(Array.from(lin.bf16)).toEqual(Array.from(toBf16(lin.fp32)));
  expect(relErr(fromBf16(lin.bf16), lin.fp32)).toBeLessThan(1e-2);
  expect(relErr(fromBf16(lin.bf16), lin.fp32)).toBeGreaterThan(0); // it did round
  bias.free();
  const G = uniform(rng, 1000, -4, 4);
  const gelu = both(ctx, [G], 1000, (out, [x]) => ctx.call("dusa_gelu_forward", out as never, x as never, 1000, 0));
  expect(Array.from(gelu.bf16)).toEqual(Array.from(toBf16(gelu.fp32)));
  const S = uniform(rng, 5 * 12, -3, 3);
  const soft = both(ctx, [S], 60, (out, [x]) => ctx.call("dusa_softmax_forward", out as never, x as never, 5, 12, 0.7));
  expect(Array.from(soft.bf16)).toEqual(Array.from(toBf16(soft.fp32)));
});

test("overlapping strided outputs (attention's dq, dk, dv in one packed buffer) each keep their own writes", () => {
  const rng = freshRng();
  const [B, T, NH, HD] = [2, 5, 2, 4], C = NH * HD, stride = 3 * C, rows = B * T;
  const qkv = uniform(rng, rows * stride), dout = uniform(rng, rows * C);
  const run = (bf16: boolean) => {
    const up = (x: Float32Array) => (bf16 ? ctx.upload(toBf16(x), [x.length]) : ctx.upload(roundToBf16(x), [x.length]));
    const pack = up(qkv), g = up(dout);
    const out = bf16 ? ctx.alloc([rows * C], "act", "bf16") : ctx.alloc([rows * C]);
    const lse = ctx.alloc([B * NH * T]);
    if (bf16) ctx.storage = "bf16";
    const q = pack.ptr, k = pack.ptr + (bf16 ? 2 : 4) * C, v = pack.ptr + (bf16 ? 2 : 4) * 2 * C;
    ctx.call("dusa_attention_forward", out, lse, q, k, v, B, T, NH, HD, stride);
    if (!bf16) {
      // the fp32 side reads the forward output as bf16 would store it
      const o = out.read() as Float32Array;
      out.write(roundToBf16(o));
    }
    const d = bf16 ? ctx.alloc([rows * stride], "act", "bf16").write(new Uint16Array(rows * stride).fill(0x7fc1)) : ctx.alloc([rows * stride]).fill(Number.NaN);
    const dq = d.ptr, dk = d.ptr + (bf16 ? 2 : 4) * C, dv = d.ptr + (bf16 ? 2 : 4) * 2 * C;
    ctx.call("dusa_attention_backward", dq, dk, dv, g, q, k, v, out, lse, B, T, NH, HD, stride);
    ctx.storage = "f32";
    const result = d.read();
    for (const t of [pack, g, out, lse, d]) t.free();
    return result;
  };
  const fp32 = run(false) as Float32Array, bf16 = run(true) as Uint16Array;
  expect(Array.from(bf16)).toEqual(Array.from(toBf16(fp32)));
  expect(bf16.some((h) => h === 0x7fc1)).toBe(false); // every element of dqkv is written
});

test("two outputs in one buffer (adaLN's dshift and dscale) over signalling-NaN garbage: each keeps its own results", () => {
  const rng = freshRng();
  const [B, T, C, stride] = [3, 4, 8, 16]; // dshift at column 0, dscale at column C of each 2C-wide row
  const X = uniform(rng, B * T * C), G = uniform(rng, B * T * C), S = uniform(rng, B * stride);
  const run = (bf16: boolean) => {
    const up = (x: Float32Array) => (bf16 ? ctx.upload(toBf16(x), [x.length]) : ctx.upload(roundToBf16(x), [x.length]));
    const x = up(X), g = up(G), mod = up(S), mean = ctx.alloc([B * T]), rstd = ctx.alloc([B * T]);
    const h = ctx.alloc([B * T * C], "act", bf16 ? "bf16" : "f32");
    if (bf16) ctx.storage = "bf16";
    ctx.call("dusa_layernorm_modulate_forward", h, mean, rstd, x, mod, mod.slice(C, [B * stride - C]), B, T, C, stride, 1e-6);
    // garbage a fresh buffer may hold: a signalling NaN, which a bf16 -> fp32 -> bf16 round trip turns quiet
    const d = bf16 ? ctx.alloc([B * stride], "act", "bf16").write(new Uint16Array(B * stride).fill(0x7f81)) : ctx.alloc([B * stride]).fill(Number.NaN);
    ctx.call("dusa_layernorm_modulate_backward", null, d, d.slice(C, [B * stride - C]), g, x, mod.slice(C, [B * stride - C]), mean, rstd, B, T, C, stride);
    ctx.storage = "f32";
    const out = d.read();
    for (const t of [x, g, mod, mean, rstd, h, d]) t.free();
    return out;
  };
  const fp32 = run(false) as Float32Array, bf16 = run(true) as Uint16Array;
  expect(Array.from(bf16)).toEqual(Array.from(toBf16(fp32)));
});

test("elements an op does not write keep their bits; bad sizes and out-of-range ids are errors, not faults", () => {
  const rng = freshRng();
  const [B, T, C, chunks] = [3, 4, 5, 6], stride = chunks * C, off = (chunks - 1) * C;
  ctx.storage = "bf16";
  const g = ctx.upload(toBf16(uniform(rng, B * T * C)), [B * T * C]), y = ctx.upload(toBf16(uniform(rng, B * T * C)), [B * T * C]);
  const mod = ctx.upload(toBf16(uniform(rng, B * stride)), [B * stride]);
  const dmod = ctx.alloc([B * stride], "act", "bf16").write(new Uint16Array(B * stride).fill(0x7fc1));
  ctx.call("dusa_gated_residual_backward", null, null, dmod.slice(off, [B * stride - off]), g, y, mod.slice(off, [B * stride - off]), B, T, C, stride);
  const d = dmod.read() as Uint16Array;
  for (let i = 0; i < d.length; i++) expect([i, (i % stride >= off) === (d[i] !== 0x7fc1)]).toEqual([i, true]);
  expect(() => ctx.call("dusa_linear_forward", g, y, y, null, -1, 4, 5)).toThrow(DusaError);
  const ids = ctx.upload(Int32Array.of(0, 9), [2]), table = ctx.upload(toBf16(uniform(rng, 4 * 3)), [12]), out = ctx.alloc([6], "act", "bf16");
  expect(() => ctx.call("dusa_embedding_forward", out, ids, table, 2, 3, 4)).toThrow(/ids|out of range|\[0, 4\)/);
  ctx.storage = "f32";
  for (const t of [g, y, mod, dmod, ids, table, out]) t.free();
});

test("ops without activation arguments (axpy, Adam, Philox fills) work on fp32 buffers in bf16 storage", () => {
  const rng = freshRng();
  const x = uniform(rng, 100), yv = uniform(rng, 100);
  const X = ctx.upload(x, [100]), Y = ctx.upload(yv, [100]);
  ctx.storage = "bf16";
  ctx.call("dusa_axpy", Y, X, 0.5, 100);
  ctx.storage = "f32";
  const got = Y.read() as Float32Array;
  for (let i = 0; i < 100; i++) expect(got[i]).toBe(Math.fround(yv[i] + Math.fround(0.5 * x[i])));
  X.free();
  Y.free();
});
