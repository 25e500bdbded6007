// The analytic FLOP counter against hand counts of small configs and against the published totals
// (conventions and sources: ../shared/reference/perf-anchors.md §0, §1, §8).
import { expect, test } from "bun:test";
import type { ConvNeXtConfig } from "../../src/models/convnext.ts";
import { backwardFlops, convnextOps, forwardFlops, sitOps, totalMacs, vaeDecoderOps, vaeEncoderOps } from "../../src/models/flops.ts";
import { loadPreset, type ModelPreset } from "../../src/models/presets.ts";
import type { SiTConfig } from "../../src/models/sit.ts";
import type { VAEConfig } from "../../src/models/vae.ts";
import { stepFlopsPerImage, type StepModels } from "../../src/tta/flops.ts";

const preset = <F extends "convnext" | "vae">(name: string, family: F) => {
  const p = loadPreset(name);
  if (p.family !== family) throw new Error(name);
  return p as Extract<ModelPreset, { family: F }>;
};
const generative = (name: string): SiTConfig => {
  const p = loadPreset(name);
  if (p.family !== "sit" && p.family !== "dit") throw new Error(name);
  return p.config;
};

test("convnext, two one-block stages on 1x8x8: counted by hand", () => {
  const c: ConvNeXtConfig = { inChans: 1, numClasses: 3, depths: [1, 1], dims: [4, 8], stemPatch: 2 };
  const stem = 4 * 4 * 4 * (1 * 2 * 2); // 4x4 outputs x 4 channels x (1 channel x 2x2 taps) = 256
  const block0 = 16 * 4 * 49 + 2 * (16 * 4 * 16); // 4x4, C 4: dwconv 7x7 3136; fc1 and fc2 1024 each
  const down1 = 2 * 2 * 8 * (4 * 2 * 2); // 2x2 outputs x 8 channels x (4 channels x 2x2 taps) = 512
  const block1 = 4 * 8 * 49 + 2 * (4 * 8 * 32); // 2x2, C 8: dwconv 1568; fc1 and fc2 1024 each
  const head = 8 * 3;
  const macs = stem + block0 + down1 + block1 + head;
  expect(macs).toBe(9592);
  const ops = convnextOps(c, 8, 8);
  expect(totalMacs(ops)).toBe(macs);
  expect(forwardFlops(ops)).toBe(2 * 9592);
  // all parameters: the stem computes only its weight gradient (no image gradient); every other op dx and dW
  expect(backwardFlops(ops, true)).toBe(2 * (stem + 2 * (macs - stem)));
  // norm-only: dx of every op but the stem, no weight gradient anywhere
  expect(backwardFlops(ops, false)).toBe(2 * (macs - stem));
});

test("sit, one block over 4 tokens of width 8, 2 heads: counted by hand", () => {
  const c: SiTConfig = { inputSize: 4, patchSize: 2, inChannels: 4, hidden: 8, depth: 1, heads: 2, mlpRatio: 4, numClasses: 3, learnSigma: false };
  const T = 4, C = 8, hd = 4;
  const xEmbed = T * (4 * 2 * 2) * C; // 512
  const tEmbed0 = 256 * C, tEmbed2 = C * C; // 2048, 64
  const adaLN = C * 6 * C; // 384, once per sample
  const qkv = T * C * 3 * C; // 768
  const attn = 2 * (T * T * hd + T * T * hd); // 2 heads x (q kᵀ + p v) = 256
  const proj = T * C * C; // 256
  const mlp = 2 * T * C * 4 * C; // 2048
  const final = C * 2 * C + T * C * (2 * 2 * 4); // adaLN 128 + linear 512
  const macs = xEmbed + tEmbed0 + tEmbed2 + adaLN + qkv + attn + proj + mlp + final;
  expect(macs).toBe(6976);
  const ops = sitOps(c);
  expect(totalMacs(ops)).toBe(macs);
  // weights train: x_embedder and t_embedder.mlp.0 compute only dW (their inputs need no gradient), the rest 2x
  expect(backwardFlops(ops, true)).toBe(2 * (xEmbed + tEmbed0 + 2 * (macs - xEmbed - tEmbed0)));
  // DiT: 8 output channels double the final linear
  expect(totalMacs(sitOps({ ...c, learnSigma: true }))).toBe(macs + T * C * 16);
});

test("vae encoder and decoder, two levels (8, 16) on 1x4x4, latent 2: counted by hand", () => {
  const c: VAEConfig = { inChannels: 1, outChannels: 1, latentChannels: 2, blockOut: [8, 16], layersPerBlock: 1, groups: 4, scalingFactor: 1 };
  const conv = (pixels: number, outC: number, inC: number, k: number) => pixels * outC * inC * k * k;
  const mid = 2 * 2 * conv(4, 16, 16, 3) + 4 * (4 * 16 * 16) + 2 * 4 * 4 * 16; // 2 resnets at 2x2; q, k, v, out; scores and values
  const encoder =
    conv(16, 8, 1, 3) + // conv_in
    2 * conv(16, 8, 8, 3) + // level 0 resnet
    conv(4, 8, 8, 3) + // downsampler: 4x4 -> 2x2
    conv(4, 16, 8, 3) + conv(4, 16, 16, 3) + conv(4, 16, 8, 1) + // level 1 resnet 8 -> 16 with its 1x1 shortcut
    mid +
    conv(4, 4, 16, 3) + // conv_out to 2L channels
    conv(4, 2, 4, 1); // quant_conv, the mean half
  expect(encoder).toBe(80032);
  expect(totalMacs(vaeEncoderOps(c, 4, 4))).toBe(encoder);
  const decoder =
    conv(4, 2, 2, 1) + conv(4, 16, 2, 3) + mid + // post_quant_conv, conv_in, mid block
    2 * 2 * conv(4, 16, 16, 3) + conv(16, 16, 16, 3) + // up block 0: 2 resnets at 2x2, then the upsampler's conv at 4x4
    conv(16, 8, 16, 3) + conv(16, 8, 8, 3) + conv(16, 8, 16, 1) + 2 * conv(16, 8, 8, 3) + // up block 1: 16 -> 8 (+ shortcut), 8 -> 8
    conv(16, 1, 8, 3); // conv_out
  expect(decoder).toBe(165648);
  expect(totalMacs(vaeDecoderOps(c, 2, 2))).toBe(decoder);
});

test("full-size models reproduce the published GMACs (vision papers' 'GFLOPs' count a multiply-add once)", () => {
  const G = 1e9;
  // timm results/benchmark-*.csv infer_gmacs for convnext_large at 224: 34.4
  expect(Math.abs(totalMacs(convnextOps(preset("convnext-large", "convnext").config, 224, 224)) / G - 34.4)).toBeLessThan(0.05);
  // DiT paper Table 4 and the DiT / SiT READMEs: DiT-XL/2 (= SiT-XL/2 backbone) at 256: 118.6 Gflops, counted as MACs (DiT issue #14)
  expect(Math.abs(totalMacs(sitOps(generative("dit-xl-2"))) / G - 118.6)).toBeLessThan(0.05);
  expect(Math.abs(totalMacs(sitOps(generative("sit-xl-2"))) / G - 118.6)).toBeLessThan(0.05);
  // no published figure: perf-anchors.md §1 computed 136.4 GMACs for the SD-VAE encoder at 256
  expect(Math.abs(totalMacs(vaeEncoderOps(preset("sd-vae", "vae").config, 256, 256)) / G - 136.4)).toBeLessThan(0.05);
});

function stepModels(names: [string, string, string], taskSize: number, auxSize: number): StepModels {
  return { task: preset(names[0], "convnext").config, taskSize, vae: preset(names[1], "vae").config, auxSize, gen: generative(names[2]), K: 6 };
}

test("step FLOPs per image of the tiny models (K = 6): source, tent and the three dusa variants", () => {
  const m = stepModels(["convnext-tiny-fm", "vae-tiny-fm", "sit-tiny-fm"], 32, 32);
  const task = totalMacs(convnextOps(m.task, 32, 32)), vae = totalMacs(vaeEncoderOps(m.vae, 32, 32)), gen = totalMacs(sitOps(m.gen));
  expect([task, vae, gen]).toEqual([24_285_696, 54_593_536, 79_036_416]);
  const total = (kind: Parameters<typeof stepFlopsPerImage>[1]) => stepFlopsPerImage(m, kind).total;
  expect(total({ method: "source" })).toBe(48_571_392);
  expect(total({ method: "tent" })).toBe(97_077_248);
  const allAux = stepFlopsPerImage(m, { method: "dusa", adaptTask: "all", adaptAux: true });
  expect(allAux).toEqual({ task_fwd: 2 * task, task_bwd: 97_077_248, vae: 2 * vae, gen_fwd: 6 * 2 * gen, gen_bwd: 1_895_301_120, total: 3_098_573_824 });
  expect(total({ method: "dusa", adaptTask: "norm", adaptAux: true })).toBe(3_050_002_432);
  expect(total({ method: "dusa", adaptTask: "all", adaptAux: false })).toBe(1_203_272_704);
  expect(total({ method: "dusa", adaptTask: "none", adaptAux: false })).toBe(2 * task + 2 * vae + 6 * 2 * gen);
  // the issue's ≈ 3.1 GFLOP per image for the tiny step with both models adapted
  expect(Math.abs(allAux.total / 1e9 - 3.1)).toBeLessThan(0.05);
  expect(() => total({ method: "dusa", adaptTask: "lora", adaptAux: false })).toThrow("low-rank");
});

test("full-size DUSA step (ConvNeXt-L norm-only + SD-VAE + 6 x SiT-XL/2 fwd+bwd) is perf-anchors §8's 4.68 TFLOP", () => {
  const m = stepModels(["convnext-large", "sd-vae", "sit-xl-2"], 224, 256);
  const f = stepFlopsPerImage(m, { method: "dusa", adaptTask: "norm", adaptAux: true });
  expect(Math.abs(f.total / 4.68e12 - 1)).toBeLessThan(1e-3);
  expect(Math.abs(f.gen_fwd + f.gen_bwd - 4269.6e9) / 4269.6e9).toBeLessThan(1e-3); // 6 x 3 x 237.2 GFLOP
});
