// Analytic FLOP counts per image, from a model's config and input size. A model is a list of its matmul-class ops
// (linear layers, convolutions including depthwise, attention's two T×T products); norms, activations, pooling
// and other elementwise work are not counted — the fvcore/timm and DiT-paper convention, which reproduces the
// published totals (../shared/reference/perf-anchors.md §0). One multiply-add is 2 FLOPs.
// Backward follows what the hand-written backward computes: a weighted op costs one more pass for its input
// gradient unless it is the model's first (nothing asks for the image's gradient) and one more for its weight
// gradient when its weights train (frozen weights cost no weight-gradient GEMM/conv: norm-only mode). Attention's
// products have two activation operands, so both gradients always run: 2× forward. The flash backward's
// recomputation of the scores (+½× attention forward) is not counted: model FLOPs, as in MFU.
import type { ConvNeXtConfig } from "./convnext.ts";
import { sitOutChannels, type SiTConfig } from "./sit.ts";
import { Conv, MidAttention, NormConv, Resnet, UpsampleConv, type Block, type Shape } from "./vae-blocks.ts";
import { decoderBlocks, encoderBlocks, type VAEConfig } from "./vae.ts";

/** One op of a forward pass, per image (per sample for SiT): multiply-adds, and what its backward computes. */
export type FlopOp = { name: string; macs: number; kind: "weighted" | "attention"; inputGrad: boolean };

const weighted = (name: string, macs: number, inputGrad = true): FlopOp => ({ name, macs, kind: "weighted", inputGrad });
const attention = (name: string, macs: number): FlopOp => ({ name, macs, kind: "attention", inputGrad: true });

export const totalMacs = (ops: FlopOp[]): number => ops.reduce((s, o) => s + o.macs, 0);

export function forwardFlops(ops: FlopOp[]): number {
  return 2 * totalMacs(ops);
}

/** FLOPs of the backward of `ops`; `weights`: every weighted op computes its weight gradient (else none does). */
export function backwardFlops(ops: FlopOp[], weights: boolean): number {
  let macs = 0;
  for (const o of ops) macs += o.kind === "attention" ? 2 * o.macs : (o.inputGrad ? o.macs : 0) + (weights ? o.macs : 0);
  return 2 * macs;
}

/** ConvNeXt on (inChans, H, W): stem, downsamples, per block dwconv 7×7 + fc1 + fc2, head fc. */
export function convnextOps(c: ConvNeXtConfig, H: number, W: number): FlopOp[] {
  const p = c.stemPatch, ops: FlopOp[] = [];
  let hw = (H / p) * (W / p);
  ops.push(weighted("stem.0", hw * c.dims[0] * c.inChans * p * p, false)); // the image needs no gradient
  c.depths.forEach((depth, s) => {
    const C = c.dims[s];
    if (s > 0) {
      hw /= 4;
      ops.push(weighted(`stages.${s}.downsample.1`, hw * C * c.dims[s - 1] * 4));
    }
    for (let m = 0; m < depth; m++) {
      const b = `stages.${s}.blocks.${m}`;
      ops.push(weighted(`${b}.conv_dw`, hw * C * 49), weighted(`${b}.mlp.fc1`, hw * C * 4 * C), weighted(`${b}.mlp.fc2`, hw * 4 * C * C));
    }
  });
  ops.push(weighted("head.fc", c.dims[c.dims.length - 1] * c.numClasses));
  return ops;
}

/** SiT/DiT per sample: embedders, per block adaLN + qkv + attention (2·T²·d per head) + proj + MLP, final layer. */
export function sitOps(c: SiTConfig): FlopOp[] {
  const C = c.hidden, p = c.patchSize, T = (c.inputSize / p) ** 2, Hd = Math.round(C * c.mlpRatio);
  const ops: FlopOp[] = [
    weighted("x_embedder.proj", T * c.inChannels * p * p * C, false), // the latents need no gradient in TTA
    weighted("t_embedder.mlp.0", 256 * C, false), // its input is the fixed frequency embedding
    weighted("t_embedder.mlp.2", C * C),
  ];
  for (let i = 0; i < c.depth; i++) {
    const b = `blocks.${i}`;
    ops.push(
      weighted(`${b}.adaLN_modulation.1`, C * 6 * C),
      weighted(`${b}.attn.qkv`, T * C * 3 * C),
      attention(`${b}.attn`, 2 * T * T * C), // per head T²·d for q kᵀ and T²·d for p v; heads × d = C
      weighted(`${b}.attn.proj`, T * C * C),
      weighted(`${b}.mlp.fc1`, T * C * Hd),
      weighted(`${b}.mlp.fc2`, T * Hd * C),
    );
  }
  ops.push(weighted("final_layer.adaLN_modulation.1", C * 2 * C), weighted("final_layer.linear", T * C * p * p * sitOutChannels(c)));
  return ops;
}

/** A conv's multiply-adds: every output pixel sums inC × k × k products per output channel. */
function convMacs(outShape: Shape, inC: number, k: number): number {
  return outShape.H * outShape.W * outShape.C * inC * k * k;
}

function blockOps(b: Block, s: Shape, first: boolean): FlopOp[] {
  const o = b.outShape(s), hw = s.H * s.W, n = b.name;
  if (b instanceof Conv) return [weighted(n, convMacs(o, s.C, b.geometry.k), !first)];
  if (b instanceof UpsampleConv) return [weighted(n, convMacs(o, s.C, 3))];
  if (b instanceof NormConv) return [weighted(n, convMacs(o, s.C, 3))];
  if (b instanceof Resnet) {
    const ops = [weighted(`${n}.conv1`, convMacs(o, s.C, 3)), weighted(`${n}.conv2`, convMacs(o, o.C, 3))];
    if (b.hasShortcut) ops.push(weighted(`${n}.conv_shortcut`, convMacs(o, s.C, 1)));
    return ops;
  }
  if (b instanceof MidAttention) {
    const projections = ["to_q", "to_k", "to_v", "to_out.0"].map((k) => weighted(`${n}.${k}`, hw * s.C * s.C));
    return [...projections, attention(n, 2 * hw * hw * s.C)]; // one head of dimension C over the H·W pixels
  }
  throw new Error(`flops: unknown VAE block ${n}`);
}

function chainOps(blocks: Block[], input: Shape): FlopOp[] {
  const ops: FlopOp[] = [];
  let s = input;
  blocks.forEach((b, i) => {
    ops.push(...blockOps(b, s, i === 0));
    s = b.outShape(s);
  });
  return ops;
}

/** The VAE encoder on (inChannels, H, W) up to DUSA's latent: quant_conv's mean half only, as encodeMean runs it. */
export function vaeEncoderOps(c: VAEConfig, H: number, W: number): FlopOp[] {
  const f = 2 ** (c.blockOut.length - 1), L = c.latentChannels;
  return [...chainOps(encoderBlocks(c), { C: c.inChannels, H, W }), weighted("quant_conv (mean half)", (H / f) * (W / f) * L * 2 * L)];
}

/** post_quant_conv and the decoder on latents (latentChannels, h, w). */
export function vaeDecoderOps(c: VAEConfig, h: number, w: number): FlopOp[] {
  return chainOps(decoderBlocks(c), { C: c.latentChannels, H: h, W: w });
}
