// The models in bf16 storage (activations and weight shadows bf16; master weights, their gradients and the saved
// statistics fp32) against the same models in fp32 storage on the CPU backend (the mode's reference): outputs, input
// gradients and every parameter gradient within the bounds bf16 rounding allows.
import { afterEach, expect, test } from "bun:test";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { SiT, type SiTConfig } from "../../src/models/sit.ts";
import { AutoencoderKL, type VAEConfig } from "../../src/models/vae.ts";
import { toBf16 } from "../../src/native/index.ts";
import { trainAll } from "../../src/nn/params.ts";
import { relErr } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, integers, normal, uniform } from "../util/random.ts";

const ctx = cpuContext();
afterEach(() => {
  ctx.storage = "f32";
});

/** Relative errors of bf16 against fp32 within (1e-4, bound): near, and really rounded (the storage was bf16). */
function expectBf16Errors(errs: Record<string, number>, seed: number, bound = 2e-2): void {
  for (const [name, err] of Object.entries(errs)) {
    expect([name, err < bound, err, seed]).toEqual([name, true, err, seed]);
    expect([name, err > 1e-4, seed]).toEqual([name, true, seed]);
  }
}

test("ConvNeXt: logits, input and parameter gradients near fp32; the same argmax", () => {
  const rng = freshRng();
  const config = { inChans: 1, numClasses: 10, depths: [1, 1, 2, 1], dims: [16, 32, 32, 64], stemPatch: 2 };
  const [B, H] = [8, 16];
  const m = new ConvNeXt(ctx, config);
  m.params.values.write(normal(rng, m.table.total, 0.2));
  m.params.train(trainAll);
  const X = uniform(rng, B * H * H), G = normal(rng, B * 10);
  const run = (storage: "f32" | "bf16") => {
    ctx.storage = storage;
    const up = (a: Float32Array, shape: number[]) => (storage === "bf16" ? ctx.upload(toBf16(a), shape) : ctx.upload(a, shape));
    const x = up(X, [B, 1, H, H]), g = up(G, [B, 10]);
    const dx = ctx.alloc([B, 1, H, H], "act", storage);
    m.params.zeroGrads();
    const logits = m.forward(x, B, H, H).readValues();
    m.backward(g, dx);
    const out = { logits, dx: dx.readValues(), grads: m.params.grads!.readFloat() };
    for (const t of [x, g, dx]) t.free();
    return out;
  };
  const f32 = run("f32"), bf16 = run("bf16");
  // measured 3e-3 .. 8e-3 over seeds (each op rounds its output once; 5 blocks deep); bounds 2e-2
  const errs = { logits: relErr(bf16.logits, f32.logits), dx: relErr(bf16.dx, f32.dx), grads: relErr(bf16.grads, f32.grads) };
  expectBf16Errors(errs, rng.seed);
  const argmax = (l: Float32Array, b: number) => l.subarray(b * 10, b * 10 + 10).reduce((best, v, i, a) => (v > a[best] ? i : best), 0);
  let same = 0;
  for (let b = 0; b < B; b++) if (argmax(bf16.logits, b) === argmax(f32.logits, b)) same++;
  expect(same).toBeGreaterThanOrEqual(B - 1);
  m.free();
});

test("SiT and DiT: prediction, latent and parameter gradients near fp32", () => {
  for (const learnSigma of [false, true]) {
    const rng = freshRng();
    const cfg: SiTConfig = { inputSize: 8, patchSize: 2, inChannels: 4, hidden: 64, depth: 3, heads: 4, mlpRatio: 4, numClasses: 10, learnSigma };
    const m = new SiT(ctx, cfg);
    const pos = m.params.p("pos_embed").read();
    m.params.values.write(normal(rng, m.table.total, 0.1));
    m.params.p("pos_embed").write(pos);
    m.params.train(trainAll);
    const N = 6, out = learnSigma ? 8 : 4;
    const X = normal(rng, N * 4 * 64), G = normal(rng, N * out * 64);
    const t = ctx.upload(learnSigma ? Float32Array.from([3, 100, 999, 0, 500, 250]) : uniform(rng, N, 0, 1), [N]);
    const y = ctx.upload(Int32Array.from([...integers(rng, N - 1, 10), 10]), [N], "data");
    const run = (storage: "f32" | "bf16") => {
      ctx.storage = storage;
      const up = (a: Float32Array, shape: number[]) => (storage === "bf16" ? ctx.upload(toBf16(a), shape) : ctx.upload(a, shape));
      const x = up(X, [N, 4, 8, 8]), g = up(G, [N, out, 8, 8]);
      const dx = ctx.alloc([N, 4, 8, 8], "act", storage);
      m.params.zeroGrads();
      const pred = m.forward(x, t, y, N).readValues();
      m.backward(g, dx);
      const r = { pred, dx: dx.readValues(), grads: m.params.grads!.readFloat() };
      for (const tt of [x, g, dx]) tt.free();
      return r;
    };
    const f32 = run("f32"), bf16 = run("bf16");
    const errs = { pred: relErr(bf16.pred, f32.pred), dx: relErr(bf16.dx, f32.dx), grads: relErr(bf16.grads, f32.grads) };
    expectBf16Errors(errs, rng.seed);
    ctx.storage = "f32";
    t.free();
    y.free();
    m.free();
  }
});

test("VAE: scaled latent, decoded images and their gradients near fp32", () => {
  const rng = freshRng();
  const c: VAEConfig = { inChannels: 2, outChannels: 2, latentChannels: 4, blockOut: [8, 16, 16], layersPerBlock: 1, groups: 4, scalingFactor: 0.5 };
  const m = new AutoencoderKL(ctx, c);
  const theta = new Float32Array(m.table.total);
  for (const e of m.table.entries) {
    const v = normal(rng, e.size, e.role === "weight" ? 1 / Math.sqrt(e.size / e.shape[0]) : 0.1);
    if (e.role === "norm" && e.name.endsWith(".weight")) v.forEach((x, i) => (v[i] = 1 + x));
    theta.set(v, e.offset);
  }
  m.params.values.write(theta);
  m.params.train(trainAll);
  const [B, H, h] = [3, 16, 4];
  const X = uniform(rng, B * 2 * H * H), Z = normal(rng, B * 4 * h * h), Gz = normal(rng, B * 4 * h * h), Gx = normal(rng, B * 2 * H * H);
  const run = (storage: "f32" | "bf16") => {
    ctx.storage = storage;
    const up = (a: Float32Array, shape: number[]) => (storage === "bf16" ? ctx.upload(toBf16(a), shape) : ctx.upload(a, shape));
    const x = up(X, [B, 2, H, H]), gz = up(Gz, [B, 4, h, h]), gx = up(Gx, [B, 2, H, H]);
    const dx = ctx.alloc([B, 2, H, H], "act", storage), dz = ctx.alloc([B, 4, h, h], "act", storage);
    m.params.zeroGrads();
    const zView = m.encodeMean(x, B, H, H);
    const z = zView.readValues();
    m.encodeBackward(gz, null, dx);
    const zCopy = up(Z, [B, 4, h, h]); // the decoder's own input: the same values in both runs
    const images = m.decode(zCopy, B, h, h).readValues();
    m.decodeBackward(gx, dz);
    const r = { z, images, dx: dx.readValues(), dz: dz.readValues(), grads: m.params.grads!.readFloat() };
    for (const t of [x, gz, gx, dx, dz, zCopy]) t.free();
    return r;
  };
  const f32 = run("f32"), bf16 = run("bf16");
  const errs = Object.fromEntries((["z", "images", "dx", "dz", "grads"] as const).map((k) => [k, relErr(bf16[k], f32[k])]));
  // measured 0.8 .. 2.2e-2: about 25 rounded ops per direction, GroupNorm over 4 channels of 4x4 pixels
  expectBf16Errors(errs, rng.seed, 5e-2);
  ctx.storage = "f32";
  m.free();
});
