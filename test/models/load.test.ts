// Checkpoints into models: the same ConvNeXt weights under FB, mmpretrain and timm names give the same logits;
// old and new diffusers attention names load the same VAE; problems are listed by name; LoRA adapters and the
// other half of a VAE are allowed automatically.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { loadWeights } from "../../src/models/load.ts";
import { AutoencoderKL } from "../../src/models/vae.ts";
import { expectClose } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, uniform } from "../util/random.ts";

const ctx = cpuContext();
const fixture = (name: string) => join(import.meta.dir, "..", "fixtures", "checkpoints", name);
const convnextConfig = { inChans: 1, numClasses: 3, depths: [1, 1, 2, 1], dims: [2, 4, 4, 8], stemPatch: 2 };

test("ConvNeXt: FB (.pth, {'model'}), mmpretrain (.pth, {'state_dict'}, backbone.*) and timm names give the same model", () => {
  const rng = freshRng();
  const x = ctx.upload(uniform(rng, 2 * 16 * 16), [2, 1, 16, 16]);
  const logits = ["convnext_fb.pth", "convnext_mmpretrain.pth", "convnext_timm.safetensors"].map((file) => {
    const m = new ConvNeXt(ctx, convnextConfig);
    const { report, checkpoint } = loadWeights(m.params, fixture(file), "convnext");
    expect(report.loaded.length).toBe(m.table.entries.length);
    if (file.endsWith(".pth")) expect(checkpoint.unwrapped.length).toBe(1);
    const out = m.forward(x, 2, 16, 16).readFloat();
    m.free();
    return out;
  });
  expectClose("mmpretrain vs FB", logits[1], logits[0], 0);
  expectClose("timm vs FB", logits[2], logits[0], 0);
  x.free();
});

test("VAE encoder: old (query/key/value/proj_attn) and new (to_q/.../to_out.0) attention names load the same weights", () => {
  const config = { inChannels: 1, outChannels: 1, latentChannels: 4, blockOut: [4, 8], layersPerBlock: 1, groups: 2, scalingFactor: 0.18215 };
  const load = (file: string) => {
    const m = new AutoencoderKL(ctx, config, { encoder: true, decoder: false });
    const { report } = loadWeights(m.params, fixture(file), "vae");
    expect(report.missing).toEqual([]);
    const values = m.params.values.readFloat();
    m.free();
    return values;
  };
  expectClose("old vs new names", load("vae_encoder_old_names.pt"), load("vae_encoder.safetensors"), 0);
});

test("a mismatched checkpoint fails with every problem key named; allowed patterns pass", () => {
  const m = new ConvNeXt(ctx, { ...convnextConfig, numClasses: 5 });
  expect(() => loadWeights(m.params, fixture("convnext_timm.safetensors"), "convnext")).toThrow(/head\.fc\.weight.*\[5, 8\].*\[3, 8\]|head\.fc\.weight/);
  m.free();
  const wider = new ConvNeXt(ctx, { ...convnextConfig, depths: [1, 1, 3, 1] });
  expect(() => loadWeights(wider.params, fixture("convnext_timm.safetensors"), "convnext")).toThrow(/missing.*stages\.2\.blocks\.2/s);
  const { report } = loadWeights(wider.params, fixture("convnext_timm.safetensors"), "convnext", { allowMissing: ["stages.2.blocks.2"] });
  expect(report.allowedMissing.length).toBe(9);
  wider.free();
});

test("LoRA adapters need not be in the checkpoint", () => {
  const m = new ConvNeXt(ctx, convnextConfig, { lora: { rank: 2, alpha: 4, patterns: ["mlp"] } });
  const { report } = loadWeights(m.params, fixture("convnext_timm.safetensors"), "convnext");
  expect(report.allowedMissing.every((n) => /lora_[AB]$/.test(n))).toBe(true);
  expect(report.allowedMissing.length).toBe(2 * m.loraLayers.length);
  m.free();
});
