// bun bench kernels: each kernel's time and achieved GFLOP/s or GB/s beside this machine's ceilings, measured
// in the same run (a large BLAS GEMM for compute, a large copy for memory bandwidth).
import type { Context, Tensor } from "../src/native/index.ts";
import type { Row } from "./table.ts";
import { timeIt } from "./timing.ts";

type Kernel = { name: string; kind: "flops" | "bytes"; work: number; run: () => void; setup?: Tensor[] };

function randomTensor(ctx: Context, shape: number[], seed: number): Tensor {
  const t = ctx.alloc(shape, "workspace");
  ctx.call("dusa_rng_normal", t, t.size, seed, 0, 0, 1);
  return t;
}

export function measureCeilings(ctx: Context) {
  const n = 2048;
  const a = randomTensor(ctx, [n, n], 1), b = randomTensor(ctx, [n, n], 2), c = ctx.alloc([n, n], "workspace");
  const gemm = timeIt(() => ctx.call("dusa_matmul", c, a, b, n, n, n, 0, 0, 1, 0), { budget: 1, sync: () => ctx.sync() });
  const bytes = 64 << 20;
  const src = ctx.alloc([bytes / 4], "workspace").fill(1), dst = ctx.alloc([bytes / 4], "workspace");
  const copy = timeIt(() => ctx.call("dusa_copy_d2d", dst, src, bytes), { budget: 1, sync: () => ctx.sync() });
  // STREAM-style axpy (y += a x: two reads, one write): memcpy's non-temporal stores understate what a kernel moves
  const axpy = timeIt(() => ctx.call("dusa_axpy", dst, src, 0.5, bytes / 4), { budget: 1, sync: () => ctx.sync() });
  // the machine is shared: take the better of two GEMM ceilings so a noisy moment does not flatter the kernels
  const again = timeIt(() => ctx.call("dusa_matmul", c, a, b, n, n, n, 0, 0, 1, 0), { budget: 1, sync: () => ctx.sync() });
  gemm.median = Math.min(gemm.median, again.median);
  for (const t of [a, b, c, src, dst]) t.free();
  return { gflops: (2 * n ** 3) / gemm.median / 1e9, gbps: Math.max((2 * bytes) / copy.median, (3 * bytes) / axpy.median) / 1e9 };
}

function gemmKernel(ctx: Context, label: string, M: number, N: number, K: number, tb: boolean, seed: number): Kernel {
  const a = randomTensor(ctx, [M, K], seed), b = randomTensor(ctx, tb ? [N, K] : [K, N], seed + 1), c = ctx.alloc([M, N], "workspace");
  return { name: `gemm ${label} ${M}x${N}x${K}`, kind: "flops", work: 2 * M * N * K, setup: [a, b, c], run: () => ctx.call("dusa_matmul", c, a, b, M, N, K, 0, +tb, 1, 0) };
}

function attentionKernel(ctx: Context, BH: number, T: number, HD: number): Kernel {
  const qkv = randomTensor(ctx, [BH, T, 3, HD], 3), out = ctx.alloc([BH, T, HD], "workspace"), lse = ctx.alloc([BH, T], "workspace");
  const dout = randomTensor(ctx, [BH, T, HD], 4), dqkv = ctx.alloc([BH, T, 3, HD], "workspace");
  const s = 3 * HD, q = qkv.ptr, k = qkv.ptr + HD * 4, v = qkv.ptr + 2 * HD * 4;
  // forward 4·T²·HD per head (QKᵀ and PV); backward 2.5× that (recompute QKᵀ, dV, dP, dQ, dK)
  return {
    name: `attention fwd+bwd BH=${BH} T=${T} d=${HD}`, kind: "flops", work: BH * 4 * T * T * HD * 3.5, setup: [qkv, out, lse, dout, dqkv],
    run: () => {
      ctx.call("dusa_attention_forward", out, lse, q, k, v, BH, T, 1, HD, s);
      ctx.call("dusa_attention_backward", dqkv.ptr, dqkv.ptr + HD * 4, dqkv.ptr + 2 * HD * 4, dout, q, k, v, out, lse, BH, T, 1, HD, s);
    },
  };
}

function conv3x3Kernel(ctx: Context, B: number, C: number, H: number): Kernel {
  const x = randomTensor(ctx, [B, C, H, H], 5), w = randomTensor(ctx, [C, C, 3, 3], 6), bias = randomTensor(ctx, [C], 7), y = ctx.alloc([B, C, H, H], "workspace");
  return { name: `conv2d 3x3 B=${B} C=${C} ${H}x${H}`, kind: "flops", work: 2 * B * C * C * 9 * H * H, setup: [x, w, bias, y], run: () => ctx.call("dusa_conv2d_forward", y, x, w, bias, B, C, H, H, C, 3, 3, 1, 1, 1, 1, 1, 1) };
}

function dwconvKernel(ctx: Context, B: number, C: number, H: number): Kernel {
  const x = randomTensor(ctx, [B, C, H, H], 8), w = randomTensor(ctx, [C, 1, 7, 7], 9), bias = randomTensor(ctx, [C], 10), y = ctx.alloc([B, C, H, H], "workspace");
  return { name: `dwconv 7x7 B=${B} C=${C} ${H}x${H}`, kind: "flops", work: 2 * B * C * 49 * H * H, setup: [x, w, bias, y], run: () => ctx.call("dusa_dwconv2d_forward", y, x, w, bias, B, C, H, H, 7) };
}

function layernormKernel(ctx: Context, N: number, C: number): Kernel {
  const x = randomTensor(ctx, [N, C], 11), w = randomTensor(ctx, [C], 12), b = randomTensor(ctx, [C], 13);
  const y = ctx.alloc([N, C], "workspace"), mean = ctx.alloc([N], "workspace"), rstd = ctx.alloc([N], "workspace");
  return { name: `layernorm fwd ${N}x${C}`, kind: "bytes", work: 2 * N * C * 4, setup: [x, w, b, y, mean, rstd], run: () => ctx.call("dusa_layernorm_forward", y, mean, rstd, x, w, b, N, C, 1e-6) };
}

function elementwiseKernel(ctx: Context, name: string, n: number, run: (x: Tensor, y: Tensor) => void, bytesPerElement: number): Kernel {
  const x = randomTensor(ctx, [n], 14), y = ctx.alloc([n], "workspace");
  return { name, kind: "bytes", work: n * bytesPerElement, setup: [x, y], run: () => run(x, y) };
}

function adamKernel(ctx: Context, n: number): Kernel {
  const p = randomTensor(ctx, [n], 15), g = randomTensor(ctx, [n], 16), m = ctx.zeros([n], "workspace"), v = ctx.zeros([n], "workspace");
  // reads p, g, m, v; writes p, m, v
  return { name: `adam step n=${n}`, kind: "bytes", work: 7 * 4 * n, setup: [p, g, m, v], run: () => ctx.call("dusa_adam_step", p, g, m, v, n, 1e-5, 0.9, 0.999, 1e-8, 0, 0, 1) };
}

export function kernelSuite(ctx: Context): Kernel[] {
  return [
    // the tiny models' GEMMs: SiT (B·K = 384 samples × 16 tokens, hidden 256), ConvNeXt stage MLPs at B = 64
    gemmKernel(ctx, "sit qkv", 6144, 768, 256, true, 20),
    gemmKernel(ctx, "sit fc1", 6144, 1024, 256, true, 21),
    gemmKernel(ctx, "sit fc2", 6144, 256, 1024, true, 22),
    gemmKernel(ctx, "convnext s1 fc1", 4096, 256, 64, true, 23),
    gemmKernel(ctx, "convnext s3 fc2", 256, 256, 1024, true, 24),
    attentionKernel(ctx, 384, 16, 64),
    attentionKernel(ctx, 128, 256, 72),
    conv3x3Kernel(ctx, 8, 64, 32),
    dwconvKernel(ctx, 64, 64, 8),
    dwconvKernel(ctx, 8, 192, 56),
    // memory-bound kernels on 64 MiB arrays, like the copy that sets the ceiling (bigger than the caches)
    layernormKernel(ctx, 65536, 256),
    elementwiseKernel(ctx, "gelu tanh n=16M", 1 << 24, (x, y) => ctx.call("dusa_gelu_forward", y, x, x.size, 1), 8),
    elementwiseKernel(ctx, "gelu erf n=16M", 1 << 24, (x, y) => ctx.call("dusa_gelu_forward", y, x, x.size, 0), 8),
    elementwiseKernel(ctx, "silu n=16M", 1 << 24, (x, y) => ctx.call("dusa_silu_forward", y, x, x.size), 8),
    adamKernel(ctx, 1 << 24),
  ];
}

export function runKernelBench(ctx: Context): { ceilings: { gflops: number; gbps: number }; rows: Row[] } {
  const ceilings = measureCeilings(ctx);
  const rows: Row[] = [];
  for (const kernel of kernelSuite(ctx)) {
    if (kernel.name.startsWith("attention") && !ctx.supports("dusa_attention_forward")) continue;
    const t = timeIt(kernel.run, { sync: () => ctx.sync() });
    const rate = kernel.work / t.median / 1e9;
    const ceiling = kernel.kind === "flops" ? ceilings.gflops : ceilings.gbps;
    rows.push({ kernel: kernel.name, "ms": t.median * 1e3, rate, unit: kernel.kind === "flops" ? "GFLOP/s" : "GB/s", "% of ceiling": (100 * rate) / ceiling });
    for (const t of kernel.setup ?? []) t.free();
  }
  return { ceilings, rows };
}
