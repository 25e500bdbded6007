// AutoencoderKL on the kernel library: diffusers' parameter counts and names, encoder and decoder backward vs
// directional finite differences (parameters and inputs, the logvar clamp), forward-only plan = training plan,
// activation memory, and shape errors. Parity with PyTorch: vae.golden.test.ts.
import { describe, expect, test } from "bun:test";
import { loadPreset } from "../../src/models/presets.ts";
import { AutoencoderKL, vaeParamTable, vaePresets, type VAEConfig } from "../../src/models/vae.ts";
import type { Context } from "../../src/native/index.ts";
import { trainAll, trainNorm, type ParamTable, type Trainable } from "../../src/nn/params.ts";
import { directionalDerivative, dot, expectClose, expectDirectional } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { loadGolden } from "../util/golden.ts";
import { freshRng, normal, uniform, type Rng } from "../util/random.ts";

const ctx = cpuContext();
const sd = vaePresets["sd-vae"], tiny = vaePresets["vae-tiny-fm"];
// narrow: shortcuts in encoder down_blocks.1 (8 -> 16) and decoder up_blocks.2 (16 -> 8); f = 4
const narrow: VAEConfig = { inChannels: 2, outChannels: 2, latentChannels: 4, blockOut: [8, 16, 16], layersPerBlock: 1, groups: 4, scalingFactor: 0.5 };
const [B, H] = [2, 16];

/** Weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1²), norm weights 1 + N(0, 0.1²) (as the golden fixtures). */
function randomParams(rng: Rng, table: ParamTable): Float32Array {
  const theta = new Float32Array(table.total);
  for (const e of table.entries) {
    const fanIn = e.size / e.shape[0];
    const values = normal(rng, e.size, e.role === "weight" ? 1 / Math.sqrt(fanIn) : 0.1);
    if (e.role === "norm" && e.name.endsWith(".weight")) values.forEach((v, i) => (values[i] = 1 + v));
    theta.set(values, e.offset);
  }
  return theta;
}

function directionOver(rng: Rng, table: ParamTable, trainable: Trainable): Float32Array {
  const v = new Float32Array(table.total);
  for (const e of table.entries) if (trainable(e)) v.set(uniform(rng, e.size), e.offset);
  return v;
}

function model(c: Context, rng: Rng, parts = { encoder: true, decoder: true }): AutoencoderKL {
  const m = new AutoencoderKL(c, narrow, parts);
  m.params.values.write(randomParams(rng, m.table));
  return m;
}

describe("parameter tables", () => {
  test("SD-VAE encoder has 34,163,592 parameters + 72 for quant_conv in 108 tensors; the whole VAE 83,653,863", () => {
    const t = vaeParamTable(sd, { encoder: true, decoder: false });
    expect(t.count((e) => e.name.startsWith("encoder."))).toBe(34_163_592);
    expect(t.count((e) => e.name.startsWith("quant_conv."))).toBe(72);
    expect(t.entries.length).toBe(108);
    expect(vaeParamTable(sd).total).toBe(83_653_863);
    expect(t.get("encoder.mid_block.attentions.0.to_out.0.weight").shape).toEqual([512, 512]);
    expect(t.get("encoder.down_blocks.1.resnets.0.conv_shortcut.weight").shape).toEqual([256, 128, 1, 1]);
    expect(t.get("encoder.down_blocks.2.downsamplers.0.conv.weight").shape).toEqual([512, 512, 3, 3]);
    expect(t.byName.has("encoder.down_blocks.3.downsamplers.0.conv.weight")).toBe(false);
    expect(t.get("encoder.conv_out.weight").shape).toEqual([8, 512, 3, 3]);
    const d = vaeParamTable(sd, { encoder: false, decoder: true });
    expect(d.get("decoder.up_blocks.3.resnets.2.conv2.weight").shape).toEqual([128, 128, 3, 3]);
    expect(d.get("decoder.up_blocks.2.resnets.0.conv_shortcut.weight").shape).toEqual([256, 512, 1, 1]);
    expect(d.byName.has("decoder.up_blocks.3.upsamplers.0.conv.weight")).toBe(false);
  });

  test("counts agree with PyTorch's (model_param_counts) for SD-VAE and the tiny preset", () => {
    const counts = loadGolden("model_param_counts");
    const count = (name: string) => (counts[name] as Float32Array | Int32Array)[0];
    for (const [name, c] of [["sd_vae", sd], ["vae_tiny_fm", tiny]] as const) {
      const t = vaeParamTable(c);
      for (const part of ["encoder", "quant_conv", "decoder", "post_quant_conv"]) expect(t.count((e) => e.name.startsWith(`${part}.`))).toBe(count(`${name}_${part}`));
    }
  });

  test("presets match configs/model", () => {
    for (const [name, c] of Object.entries(vaePresets)) {
      const p = loadPreset(name);
      if (p.family !== "vae") throw new Error(`${name} is not a VAE preset`);
      expect(p.config).toEqual(c);
    }
  });
});

describe("backward agrees with directional finite differences", () => {
  test("encodeMoments: d(mean), d(logvar) with one logvar channel clamped at 20", () => {
    const rng = freshRng();
    const m = model(ctx, rng, { encoder: true, decoder: false });
    const bias = m.params.p("quant_conv.bias"), b = bias.readFloat();
    b[narrow.latentChannels] = 100; // logvar channel 0 saturates: its gradient must not reach the parameters
    bias.write(b);
    m.params.train(trainAll);
    const x = ctx.upload(uniform(rng, B * 2 * H * H), [B, 2, H, H]);
    const n = B * 4 * (H / 4) ** 2, Gm = normal(rng, n), Gl = normal(rng, n);
    const gm = ctx.upload(Gm, [B, 4, H / 4, H / 4]), gl = ctx.upload(Gl, [B, 4, H / 4, H / 4]);
    const loss = () => {
      const { mean, logvar } = m.encodeMoments(x, B, H, H);
      return dot(mean.readFloat(), Gm) + dot(logvar.readFloat(), Gl);
    };
    loss();
    expect(m.encodeMoments(x, B, H, H).logvar.readFloat().subarray(0, (H / 4) ** 2).every((v) => v === 20)).toBe(true);
    const dx = ctx.alloc([B, 2, H, H]);
    m.encodeBackward(gm, gl, dx);
    const theta = m.params.values.readFloat(), grad = m.params.grads!.readFloat(), v = directionOver(rng, m.table, trainAll);
    expectDirectional("params", directionalDerivative(loss, theta, v, (a) => m.params.values.write(a)), grad, v, 1e-2, rng.seed);
    const xs = x.readFloat(), u = uniform(rng, xs.length);
    expectDirectional("images", directionalDerivative(loss, xs, u, (a) => x.write(a)), dx.readFloat(), u, 1e-2, rng.seed);
    for (const t of [x, gm, gl, dx]) t.free();
    m.free();
  });

  test("encodeMean: the scaled latent", () => {
    const rng = freshRng();
    const m = model(ctx, rng, { encoder: true, decoder: false });
    m.params.train(trainAll);
    const x = ctx.upload(uniform(rng, B * 2 * H * H), [B, 2, H, H]);
    const G = normal(rng, B * 4 * (H / 4) ** 2), g = ctx.upload(G, [B, 4, H / 4, H / 4]);
    const loss = () => dot(m.encodeMean(x, B, H, H).readFloat(), G);
    loss();
    const dx = ctx.alloc([B, 2, H, H]);
    m.encodeBackward(g, null, dx);
    const theta = m.params.values.readFloat(), grad = m.params.grads!.readFloat(), v = directionOver(rng, m.table, trainAll);
    expectDirectional("params", directionalDerivative(loss, theta, v, (a) => m.params.values.write(a)), grad, v, 1e-2, rng.seed);
    const xs = x.readFloat(), u = uniform(rng, xs.length);
    expectDirectional("images", directionalDerivative(loss, xs, u, (a) => x.write(a)), dx.readFloat(), u, 1e-2, rng.seed);
    for (const t of [x, g, dx]) t.free();
    m.free();
  });

  test("encodeMean is the moments' mean times scalingFactor, forward and backward", () => {
    const rng = freshRng();
    const m = model(ctx, rng, { encoder: true, decoder: false });
    m.params.train(trainAll);
    const x = ctx.upload(uniform(rng, B * 2 * H * H), [B, 2, H, H]);
    const G = normal(rng, B * 4 * (H / 4) ** 2), shape = [B, 4, H / 4, H / 4];
    const g = ctx.upload(G, shape), gScaled = ctx.upload(G.map((v) => v * narrow.scalingFactor), shape);
    const dx = ctx.alloc(x.shape);
    const gradients = (encode: () => Float32Array, backward: () => void) => {
      m.params.zeroGrads();
      const out = encode();
      backward();
      return { out, params: m.params.grads!.readFloat(), dx: dx.readFloat() };
    };
    const latent = gradients(() => m.encodeMean(x, B, H, H).readFloat(), () => m.encodeBackward(g, null, dx));
    const moments = gradients(() => m.encodeMoments(x, B, H, H).mean.readFloat(), () => m.encodeBackward(gScaled, null, dx));
    expectClose("latent", latent.out, moments.out.map((v) => v * narrow.scalingFactor), 1e-6);
    expectClose("parameter gradients", latent.params, moments.params, 1e-6);
    expectClose("image gradient", latent.dx, moments.dx, 1e-6);
    for (const t of [x, g, gScaled, dx]) t.free();
    m.free();
  });

  for (const [mode, trainable] of [["all", trainAll], ["norm", trainNorm]] as [string, Trainable][])
    test(`decode, ${mode} parameters (the encoder's stay untouched)`, () => {
      const rng = freshRng();
      const m = model(ctx, rng);
      m.params.train(trainable);
      const h = 4, z = ctx.upload(normal(rng, B * 4 * h * h), [B, 4, h, h]);
      const G = normal(rng, B * 2 * H * H), g = ctx.upload(G, [B, 2, H, H]);
      const loss = () => dot(m.decode(z, B, h, h).readFloat(), G);
      loss();
      const dz = ctx.alloc([B, 4, h, h]);
      m.decodeBackward(g, dz);
      const theta = m.params.values.readFloat(), grad = m.params.grads!.readFloat();
      const decoderOnly: Trainable = (e) => trainable(e) && !e.name.startsWith("encoder.") && !e.name.startsWith("quant_conv.");
      for (const e of m.table.entries) if (!decoderOnly(e)) expect(grad.subarray(e.offset, e.offset + e.size).every((v) => v === 0)).toBe(true);
      const v = directionOver(rng, m.table, decoderOnly);
      expectDirectional("params", directionalDerivative(loss, theta, v, (a) => m.params.values.write(a)), grad, v, 1e-2, rng.seed);
      const zs = z.readFloat(), u = uniform(rng, zs.length);
      expectDirectional("latents", directionalDerivative(loss, zs, u, (a) => z.write(a)), dz.readFloat(), u, 1e-2, rng.seed);
      for (const t of [z, g, dz]) t.free();
      m.free();
    });
});

test("a forward-only plan (three shared buffers) computes what the training plan does, in less memory", () => {
  const rng = freshRng();
  const m = model(ctx, rng);
  const x = ctx.upload(uniform(rng, B * 2 * H * H), [B, 2, H, H]), z = ctx.upload(normal(rng, B * 16), [B, 4, 2, 2]);
  const read = (training: boolean) => {
    const latent = Array.from(m.encodeMean(x, B, H, H, { training }).read());
    const { mean, logvar } = m.encodeMoments(x, B, H, H, { training });
    const images = Array.from(m.decode(z, B, 2, 2, { training }).read());
    return { latent, mean: Array.from(mean.read()), logvar: Array.from(logvar.read()), images, bytes: m.activationBytes };
  };
  const trained = read(true), frozen = read(false);
  expect(frozen.latent).toEqual(trained.latent);
  expect(frozen.mean).toEqual(trained.mean);
  expect(frozen.logvar).toEqual(trained.logvar);
  expect(frozen.images).toEqual(trained.images);
  expect(frozen.bytes).toBeLessThan(trained.bytes / 2);
  x.free();
  z.free();
  m.free();
});

test("forward-only activation memory is three buffers of the largest activation", () => {
  const m = new AutoencoderKL(ctx, tiny, { encoder: true, decoder: false });
  m.planEncoder(1, 32, 32, false);
  const largest = 32 * 32 * 32 * 4; // conv_in output (32, 32, 32) in bytes
  expect(m.activationBytes).toBeGreaterThanOrEqual(3 * largest);
  expect(m.activationBytes).toBeLessThan(3.05 * largest);
  m.free();
});

describe("errors", () => {
  const m = new AutoencoderKL(ctx, narrow, { encoder: true, decoder: false });
  test("images not divisible by the downsampling factor", () => {
    expect(() => m.encodeMean({ ptr: 0 }, 1, 18, 16)).toThrow("vae: input 18x16 is not divisible by the downsampling factor 4");
    expect(() => m.encodeMean({ ptr: 0 }, 1, 16, 14)).toThrow("not divisible by the downsampling factor 4");
    expect(() => m.encodeMean({ ptr: 0 }, 0, 16, 16)).toThrow("vae: batch must be a positive integer, got 0");
  });
  test("channels that GroupNorm cannot split, a missing part, backward without a training forward", () => {
    expect(() => new AutoencoderKL(ctx, { ...narrow, blockOut: [8, 18] })).toThrow("vae: 18 channels are not divisible into 4 groups");
    expect(() => m.decode({ ptr: 0 }, 1, 4, 4)).toThrow("vae: this model was built without a decoder");
    expect(() => m.encodeBackward({ ptr: 0 })).toThrow("vae: encodeBackward needs a training encode first");
    const x = ctx.zeros([1, 2, 16, 16]);
    m.encodeMean(x, 1, 16, 16, { training: true });
    expect(() => m.encodeBackward(x, x)).toThrow("the last encode was encodeMean, which has no logvar");
    m.encodeMean(x, 1, 16, 16, { training: false });
    expect(() => m.encodeBackward(x)).toThrow("vae: encodeBackward needs a training encode first");
    x.free();
  });
});
