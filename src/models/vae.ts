// diffusers AutoencoderKL (SD-VAE and the tiny Fashion-MNIST VAE) on the kernel library, with diffusers' current
// parameter names (to_q/to_k/to_v/to_out.0; src/io/rename.ts maps the old query/key/value/proj_attn). f = 2^(blocks-1).
//   encoder: conv_in -> down_blocks.i (layersPerBlock resnets; downsampler on all but the last) -> mid_block
//            (resnet, attention, resnet) -> conv_norm_out + SiLU -> conv_out (2L) -> quant_conv (1x1)
//   moments: mean = first L channels, logvar = last L clamped to [-30, 20]; DUSA's latent = mean * scalingFactor
//   decoder: post_quant_conv(z / scalingFactor) -> conv_in -> mid_block -> up_blocks.i over reversed blockOut
//            (layersPerBlock + 1 resnets; upsampler on all but the last) -> conv_norm_out + SiLU -> conv_out
import { elementBytes, type Context, type TensorView } from "../native/index.ts";
import type { Arena } from "../nn/arena.ts";
import { ParamTable, Parameters } from "../nn/params.ts";
import { Chain, Conv, MidAttention, NormConv, Resnet, UpsampleConv, conv1x1, conv3x3, downsample, type Block, type Ptr } from "./vae-blocks.ts";

export type VAEConfig = {
  inChannels: number;
  outChannels: number;
  latentChannels: number;
  blockOut: number[];
  layersPerBlock: number;
  groups: number;
  scalingFactor: number;
};
export type VAEParts = { encoder: boolean; decoder: boolean };

export const vaePresets = {
  // scalingFactor is set from the trained VAE's latent std (1 / std); 1 until then
  "vae-tiny-fm": { inChannels: 1, outChannels: 1, latentChannels: 4, blockOut: [32, 64, 64], layersPerBlock: 1, groups: 8, scalingFactor: 1 },
  "sd-vae": { inChannels: 3, outChannels: 3, latentChannels: 4, blockOut: [128, 256, 512, 512], layersPerBlock: 2, groups: 32, scalingFactor: 0.18215 },
} satisfies Record<string, VAEConfig>;

const LOGVAR_MIN = -30, LOGVAR_MAX = 20; // DiagonalGaussianDistribution's clamp
const both: VAEParts = { encoder: true, decoder: true };

export function vaeDownFactor(c: VAEConfig): number {
  return 2 ** (c.blockOut.length - 1);
}

function midBlocks(prefix: string, C: number): Block[] {
  return [new Resnet(`${prefix}.resnets.0`, C, C), new MidAttention(`${prefix}.attentions.0`, C), new Resnet(`${prefix}.resnets.1`, C, C)];
}

/** The encoder up to conv_out (2L channels); quant_conv is the model's head. */
export function encoderBlocks(c: VAEConfig): Block[] {
  const blocks: Block[] = [new Conv("encoder.conv_in", c.inChannels, c.blockOut[0], conv3x3)];
  let C = c.blockOut[0];
  c.blockOut.forEach((out, i) => {
    for (let j = 0; j < c.layersPerBlock; j++) blocks.push(new Resnet(`encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? C : out, out));
    C = out;
    if (i < c.blockOut.length - 1) blocks.push(new Conv(`encoder.down_blocks.${i}.downsamplers.0.conv`, C, C, downsample));
  });
  blocks.push(...midBlocks("encoder.mid_block", C), new NormConv("encoder.conv_norm_out", "encoder.conv_out", C, 2 * c.latentChannels));
  return blocks;
}

/** post_quant_conv and the decoder; the input is z / scalingFactor. */
export function decoderBlocks(c: VAEConfig): Block[] {
  const L = c.latentChannels, reversed = [...c.blockOut].reverse();
  let C = reversed[0];
  const blocks: Block[] = [new Conv("post_quant_conv", L, L, conv1x1), new Conv("decoder.conv_in", L, C, conv3x3), ...midBlocks("decoder.mid_block", C)];
  reversed.forEach((out, i) => {
    for (let j = 0; j <= c.layersPerBlock; j++) blocks.push(new Resnet(`decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? C : out, out));
    C = out;
    if (i < reversed.length - 1) blocks.push(new UpsampleConv(`decoder.up_blocks.${i}.upsamplers.0.conv`, C));
  });
  blocks.push(new NormConv("decoder.conv_norm_out", "decoder.conv_out", C, c.outChannels));
  return blocks;
}

/** encoder.* and quant_conv.*, then post_quant_conv.* and decoder.*, as selected. */
export function vaeParamTable(c: VAEConfig, parts: VAEParts = both): ParamTable {
  const t = new ParamTable();
  if (parts.encoder) {
    for (const b of encoderBlocks(c)) b.addParams(t);
    const M = 2 * c.latentChannels;
    t.add("quant_conv.weight", [M, M, 1, 1], "weight");
    t.add("quant_conv.bias", [M], "bias");
  }
  if (parts.decoder) for (const b of decoderBlocks(c)) b.addParams(t);
  return t;
}

type Options = { training?: boolean };
type Moments = { mean: TensorView; logvar: TensorView };

export class AutoencoderKL {
  readonly table: ParamTable;
  readonly params: Parameters;
  readonly downFactor: number;
  readonly #encoderBlocks: Block[];
  readonly #decoderBlocks: Block[];
  #encoder: Chain | null = null;
  #decoder: Chain | null = null;
  #features: TensorView | null = null; // the last encode's conv_out output (B, 2L, h, w): quant_conv's input
  #head: "mean" | "moments" | null = null; // what the last encode returned

  constructor(readonly ctx: Context, readonly config: VAEConfig, readonly parts: VAEParts = both) {
    const c = config;
    if (!c.blockOut.length) throw new Error("vae: blockOut is empty");
    for (const C of c.blockOut) if (C % c.groups) throw new Error(`vae: ${C} channels are not divisible into ${c.groups} groups`);
    if (!(c.scalingFactor > 0)) throw new Error(`vae: scalingFactor must be > 0, got ${c.scalingFactor}`);
    this.table = vaeParamTable(c, parts);
    this.params = new Parameters(ctx, this.table);
    this.downFactor = vaeDownFactor(c);
    this.#encoderBlocks = parts.encoder ? encoderBlocks(c) : [];
    this.#decoderBlocks = parts.decoder ? decoderBlocks(c) : [];
  }

  /**
   * Plans the encoder for images (B, inChannels, H, W). A training plan keeps activations for backward; a
   * forward-only plan (the frozen TTA encoder) runs in three shared buffers.
   */
  planEncoder(B: number, H: number, W: number, training: boolean): Chain {
    if (!this.parts.encoder) throw new Error("vae: this model was built without an encoder");
    const c = this.config, f = this.downFactor, input = { C: c.inChannels, H, W };
    checkBatch(B, H, W);
    if (H % f || W % f) throw new Error(`vae: input ${H}x${W} is not divisible by the downsampling factor ${f}`);
    if (this.#encoder?.matches(B, input, training)) return this.#encoder;
    this.#encoder?.free();
    this.#encoder = null;
    const latent = [B, c.latentChannels, H / f, W / f];
    this.#encoder = new Chain(this.ctx, this.params, c.groups, this.#encoderBlocks, B, input, training, (a: Arena) => {
      for (const k of ["mean", "logvar.raw", "logvar"]) a.reserve(k, latent);
      if (!training) return;
      for (const k of ["head.dmean", "head.dlogvar"]) a.reserve(k, latent);
      for (const k of ["head.dx", "head.dx2"]) a.reserve(k, [B, 2 * c.latentChannels, H / f, W / f]);
    });
    return this.#encoder;
  }

  /** Plans the decoder for latents (B, latentChannels, h, w). */
  planDecoder(B: number, h: number, w: number, training: boolean): Chain {
    if (!this.parts.decoder) throw new Error("vae: this model was built without a decoder");
    const input = { C: this.config.latentChannels, H: h, W: w };
    checkBatch(B, h, w);
    if (this.#decoder?.matches(B, input, training)) return this.#decoder;
    this.#decoder?.free();
    this.#decoder = null;
    this.#decoder = new Chain(this.ctx, this.params, this.config.groups, this.#decoderBlocks, B, input, training, (a: Arena) => a.reserve("z.unscaled", [B, input.C, h, w]));
    return this.#decoder;
  }

  /** Activation bytes of the current plans (encoder and decoder). */
  get activationBytes(): number {
    return (this.#encoder?.activationBytes ?? 0) + (this.#decoder?.activationBytes ?? 0);
  }

  /** DUSA's latent: the posterior mean times scalingFactor, (B, L, H/f, W/f), for images x (B, inChannels, H, W). */
  encodeMean(x: Ptr, B: number, H: number, W: number, options: Options = {}): TensorView {
    const chain = this.#encode(x, B, H, W, options);
    const mean = chain.run.arena.get("mean");
    this.#quantHalf(0, mean, chain);
    this.ctx.call("dusa_scale_copy", mean, mean, this.config.scalingFactor, mean.size);
    this.#head = "mean";
    return mean;
  }

  /** The posterior's mean (unscaled) and logvar (clamped to [-30, 20]), each (B, L, H/f, W/f). */
  encodeMoments(x: Ptr, B: number, H: number, W: number, options: Options = {}): Moments {
    if (this.ctx.storage !== "f32") throw new Error("vae: encodeMoments (pretraining) runs in fp32 storage only");
    const chain = this.#encode(x, B, H, W, options), A = (n: string) => chain.run.arena.get(n);
    this.#quantHalf(0, A("mean"), chain);
    this.#quantHalf(1, A("logvar.raw"), chain);
    A("logvar").write(A("logvar.raw").readFloat().map((v) => Math.min(Math.max(v, LOGVAR_MIN), LOGVAR_MAX)));
    this.#head = "moments";
    return { mean: A("mean"), logvar: A("logvar") };
  }

  /**
   * Backward of the last training encode: dmean is the gradient of the returned mean (of the scaled latent after
   * encodeMean), dlogvar of the returned logvar (encodeMoments only; null = 0). Parameter gradients accumulate;
   * dx (optional) receives d(images). The images must still hold the forward's values.
   */
  encodeBackward(dmean: Ptr, dlogvar: Ptr | null = null, dx: Ptr | null = null): void {
    const chain = this.#encoder, head = this.#head;
    if (!chain?.training || !head) throw new Error("vae: encodeBackward needs a training encode first");
    if (dlogvar && head === "mean") throw new Error("vae: the last encode was encodeMean, which has no logvar");
    const { ctx } = this, A = (n: string) => chain.run.arena.get(n), n = A("mean").size;
    let dm = dmean;
    if (head === "mean") {
      dm = A("head.dmean");
      ctx.call("dusa_scale_copy", dm, dmean, this.config.scalingFactor, n);
    }
    this.#quantHalfBackward(0, A("head.dx"), dm, chain);
    if (dlogvar) {
      const raw = A("logvar.raw").readFloat(), d = new Float32Array(n);
      ctx.call("dusa_copy_d2h", d, dlogvar, n * 4);
      A("head.dlogvar").write(d.map((v, i) => (raw[i] >= LOGVAR_MIN && raw[i] <= LOGVAR_MAX ? v : 0))); // clamp passes the gradient inside [min, max]
      this.#quantHalfBackward(1, A("head.dx2"), A("head.dlogvar"), chain);
      ctx.call("dusa_add", A("head.dx"), A("head.dx"), A("head.dx2"), A("head.dx").size);
    }
    chain.backward(A("head.dx"), dx);
  }

  /** Images (B, outChannels, h f, w f) for scaled latents z (B, L, h, w): decoder(post_quant_conv(z / scalingFactor)). */
  decode(z: Ptr, B: number, h: number, w: number, options: Options = {}): TensorView {
    const chain = this.planDecoder(B, h, w, options.training ?? this.params.grads !== null);
    const unscaled = chain.run.arena.get("z.unscaled");
    this.params.refreshShadow();
    this.ctx.call("dusa_scale_copy", unscaled, z, 1 / this.config.scalingFactor, unscaled.size);
    return chain.forward(unscaled);
  }

  /** Backward of the last training decode from dout: parameter gradients accumulate; dz (optional) = d(z). */
  decodeBackward(dout: Ptr, dz: Ptr | null = null): void {
    const chain = this.#decoder;
    if (!chain?.training) throw new Error("vae: decodeBackward needs a training decode first");
    chain.backward(dout, dz);
    if (dz) this.ctx.call("dusa_scale_copy", dz, dz, 1 / this.config.scalingFactor, chain.run.arena.get("z.unscaled").size);
  }

  free(): void {
    this.#encoder?.free();
    this.#decoder?.free();
    this.#encoder = this.#decoder = null;
    this.params.free();
  }

  #encode(x: Ptr, B: number, H: number, W: number, options: Options): Chain {
    const chain = this.planEncoder(B, H, W, options.training ?? this.params.grads !== null);
    this.params.refreshShadow();
    this.#head = null;
    this.#features = chain.forward(x);
    return chain;
  }

  // quant_conv is a 1x1 conv over 2L channels whose output channels [0, L) are the mean and [L, 2L) the logvar:
  // each half is a 1x1 conv with half of the weight rows and biases, writing (B, L, h, w) directly.
  #quantHalf(half: 0 | 1, out: Ptr, chain: Chain): void {
    const L = this.config.latentChannels, { H, W } = chain.output, P = this.params;
    const w = halfOf(P.w("quant_conv.weight"), half), b = halfOf(P.p("quant_conv.bias"), half);
    this.ctx.call("dusa_conv2d_forward", out, this.#features, w, b, chain.B, 2 * L, H, W, L, 1, 1, 1, 1, 0, 0, 0, 0);
  }

  #quantHalfBackward(half: 0 | 1, dx: Ptr, dout: Ptr, chain: Chain): void {
    const L = this.config.latentChannels, { H, W } = chain.output, P = this.params;
    const dw = halfOf(P.g("quant_conv.weight"), half), db = halfOf(P.g("quant_conv.bias"), half);
    this.ctx.call("dusa_conv2d_backward", dx, dw, db, dout, this.#features, halfOf(P.w("quant_conv.weight"), half), chain.B, 2 * L, H, W, L, 1, 1, 1, 1, 0, 0, 0, 0);
  }
}

function halfOf(v: TensorView | null, half: 0 | 1): number | null {
  return v ? v.ptr + half * (v.size / 2) * elementBytes(v.base.dtype) : null;
}

function checkBatch(B: number, H: number, W: number): void {
  for (const [name, v] of [["batch", B], ["height", H], ["width", W]] as const)
    if (!Number.isInteger(v) || v <= 0) throw new Error(`vae: ${name} must be a positive integer, got ${v}`);
}
