// The step's pieces alone, on our kernels: each model's forward and forward+backward at the step's shapes, attention
// at the generative model's and the VAE's shapes, and the fp32 GEMM ceiling of our dusa_matmul (the MFU denominator).
import { ConvNeXt } from "../../src/models/convnext.ts";
import { backwardFlops, convnextOps, forwardFlops, sitOps, vaeEncoderOps } from "../../src/models/flops.ts";
import { SiT } from "../../src/models/sit.ts";
import { AutoencoderKL } from "../../src/models/vae.ts";
import { elementBytes, type Context, type Tensor } from "../../src/native/index.ts";
import { trainAll } from "../../src/nn/params.ts";
import { timeIt } from "../timing.ts";
import { configs, fillWeights, type Gen, type Preset } from "./models.ts";
import { K } from "./ours.ts";

/** Attention core FLOPs (QKᵀ and PV) of one forward over BH heads; forward + backward counts 3x. */
const attentionFlops = (BH: number, T: number, HD: number) => 4 * BH * T * T * HD;

/** N(0, 1) values of the given shape in the context's storage dtype (drawn in fp32, cast on the device for bf16). */
function randomStored(ctx: Context, shape: number[], seed: number, tag: "data" | "workspace"): Tensor {
  const t = ctx.alloc(shape, tag);
  ctx.call("dusa_rng_normal", t, t.size, seed, 0, 0, 1);
  if (ctx.storage === "f32") return t;
  const stored = ctx.alloc(shape, tag, "bf16");
  ctx.call("dusa_f32_to_bf16", stored, t, t.size);
  t.free();
  return stored;
}

export type ComponentResult = { model: string; pass: "fwd" | "fwd+bwd"; batch: number; ms: number; tflops: number; mfu: number | null; act_bytes: number };

/** Each model alone at the step's shapes: task and VAE at B images, the generative model at B·K samples. */
export function measureComponents(ctx: Context, preset: Preset, B: number, ceilingTflops: number | null, gens: Gen[] = ["sit", "dit"]): ComponentResult[] {
  const c = configs(preset), out: ComponentResult[] = [];
  const opts = { warmup: 1, minRuns: 5, budget: 0, sync: () => ctx.sync() };
  const rand = (shape: number[], seed: number) => randomStored(ctx, shape, seed, "data");
  const record = (model: string, pass: "fwd" | "fwd+bwd", batch: number, flops: number, ms: number, act: number) =>
    out.push({ model, pass, batch, ms, tflops: flops / ms / 1e9, mfu: ceilingTflops ? flops / ms / 1e9 / ceilingTflops : null, act_bytes: act });

  {
    const task = new ConvNeXt(ctx, c.task), S = c.taskSize, m = convnextOps(c.task, S, S);
    fillWeights(ctx, task.params, "task");
    const x = rand([B, c.task.inChans, S, S], 1), dl = rand([B, c.task.numClasses], 2);
    record("convnext", "fwd", B, B * forwardFlops(m), 1000 * timeIt(() => task.forward(x, B, S, S), opts).median, task.activationBytes);
    task.params.train(trainAll);
    const t = timeIt(() => (task.forward(x, B, S, S), task.backward(dl)), opts).median;
    record("convnext", "fwd+bwd", B, B * (forwardFlops(m) + backwardFlops(m, true)), 1000 * t, task.activationBytes);
    [x, dl].forEach((t) => t.free());
    task.free();
  }
  {
    const vae = new AutoencoderKL(ctx, c.vae, { encoder: true, decoder: false }), S = c.vaeSize, m = vaeEncoderOps(c.vae, S, S);
    fillWeights(ctx, vae.params, "vae");
    const x = rand([B, c.vae.inChannels, S, S], 3), f = S / 2 ** (c.vae.blockOut.length - 1), dz = rand([B, c.vae.latentChannels, f, f], 4);
    record("vae enc", "fwd", B, B * forwardFlops(m), 1000 * timeIt(() => vae.encodeMean(x, B, S, S, { training: false }), opts).median, vae.activationBytes);
    vae.params.train(trainAll);
    const t = timeIt(() => (vae.encodeMean(x, B, S, S, { training: true }), vae.encodeBackward(dz)), opts).median;
    record("vae enc", "fwd+bwd", B, B * (forwardFlops(m) + backwardFlops(m, true)), 1000 * t, vae.activationBytes);
    [x, dz].forEach((t) => t.free());
    vae.free();
  }
  for (const gen of gens) {
    const cfg = gen === "sit" ? c.sit : c.dit, N = B * K, S = cfg.inputSize, m = sitOps(cfg);
    const model = new SiT(ctx, cfg);
    fillWeights(ctx, model.params, gen);
    const x = rand([N, cfg.inChannels, S, S], 5), t = ctx.alloc([N], "data").fill(gen === "sit" ? 0.25 : 100);
    const y = ctx.alloc([N], "data", "i32").write(Int32Array.from({ length: N }, (_, i) => i % cfg.numClasses));
    const outC = cfg.learnSigma ? 2 * cfg.inChannels : cfg.inChannels, dout = rand([N, outC, S, S], 6);
    record(gen, "fwd", N, N * forwardFlops(m), 1000 * timeIt(() => model.forward(x, t, y, N, { training: false }), opts).median, model.activationBytes);
    model.params.train(trainAll);
    const ms = timeIt(() => (model.forward(x, t, y, N, { training: true }), model.backward(dout)), opts).median;
    record(gen, "fwd+bwd", N, N * (forwardFlops(m) + backwardFlops(m, true)), 1000 * ms, model.activationBytes);
    [x, t, y, dout].forEach((b) => b.free());
    model.free();
  }
  return out;
}

export type AttentionResult = { shape: string; B: number; heads: number; T: number; d: number; fwd_ms: number; fwd_tflops: number; fwdbwd_ms: number; fwdbwd_tflops: number };

/** Our attention kernels at the generative model's shape (B·K samples, 16 heads, T 256, d 72, fused qkv rows) and
 * the VAE mid-block's (B images, 1 head, T 1024, d 512, separate q/k/v). Forward+backward counted as 3x forward. */
export function measureAttention(ctx: Context, cases: { B: number; heads: number; T: number; d: number; fused: boolean }[]): AttentionResult[] {
  const opts = { warmup: 2, minRuns: 10, budget: 0.5, sync: () => ctx.sync() };
  return cases.map(({ B, heads, T, d, fused }) => {
    const C = heads * d, rows = B * T, F = elementBytes(ctx.storage);
    const buf = (cols: number, seed: number) => randomStored(ctx, [rows, cols], seed, "workspace");
    // fused: one (rows, 3C) buffer with q, k, v at column offsets 0, C, 2C; else three (rows, C) buffers
    const qkv = fused ? [buf(3 * C, 1)] : [buf(C, 1), buf(C, 2), buf(C, 3)], dqkv = fused ? [buf(3 * C, 4)] : [buf(C, 4), buf(C, 5), buf(C, 6)];
    const ptrs = (b: typeof qkv) => (fused ? [b[0].ptr, b[0].ptr + F * C, b[0].ptr + 2 * F * C] : b.map((t) => t.ptr));
    const [q, k, v] = ptrs(qkv), [dq, dk, dv] = ptrs(dqkv), stride = fused ? 3 * C : C;
    const out = ctx.alloc([rows, C], "workspace", ctx.storage), lse = ctx.alloc([B * heads * T], "workspace"), dout = buf(C, 7);
    const fwd = () => ctx.call("dusa_attention_forward", out, lse, q, k, v, B, T, heads, d, stride);
    const f = timeIt(fwd, opts).median;
    const fb = timeIt(() => (fwd(), ctx.call("dusa_attention_backward", dq, dk, dv, dout, q, k, v, out, lse, B, T, heads, d, stride)), opts).median;
    [...qkv, ...dqkv, out, lse, dout].forEach((t) => t.free());
    const flops = attentionFlops(B * heads, T, d);
    return { shape: `B ${B} x ${heads} heads, T ${T}, d ${d}`, B, heads, T, d, fwd_ms: 1000 * f, fwd_tflops: flops / f / 1e12, fwdbwd_ms: 1000 * fb, fwdbwd_tflops: (3 * flops) / fb / 1e12 };
  });
}

/** GEMM ceiling of our dusa_matmul in the context's storage (n³, random operands), in TFLOP/s. */
export function gemmCeiling(ctx: Context, n: number): { n: number; ms: number; tflops: number } {
  const t = [1, 2].map((seed) => randomStored(ctx, [n, n], seed, "workspace"));
  const c = ctx.alloc([n, n], "workspace", ctx.storage);
  const { median } = timeIt(() => ctx.call("dusa_matmul", c, t[0], t[1], n, n, n, 0, 0, 1, 0), { warmup: 2, minRuns: 5, budget: 1, sync: () => ctx.sync() });
  [...t, c].forEach((m) => m.free());
  return { n, ms: 1000 * median, tflops: (2 * n ** 3) / median / 1e12 };
}
