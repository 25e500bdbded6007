// The VAE against diffusers-structured PyTorch (test/golden/ref_models/vae.py, make_models.py): encoder latents and
// moments (forward only in the fixtures), decoder images, dz and every decoder parameter gradient; and the SD-VAE
// table against PyTorch's state-dict keys, name for name.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AutoencoderKL, vaeParamTable, vaePresets, type VAEConfig } from "../../src/models/vae.ts";
import { trainAll } from "../../src/nn/params.ts";
import { expectClose } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { goldenParams, loadGolden, type Golden } from "../util/golden.ts";

const ctx = cpuContext();
const FORWARD_TOL = 1e-4, GRAD_TOL = 1e-3;

function configOf(g: Golden): VAEConfig {
  const c = JSON.parse(g.__metadata.config);
  return {
    inChannels: c.in_channels, outChannels: c.out_channels, latentChannels: c.latent_channels, blockOut: c.block_out_channels,
    layersPerBlock: c.layers_per_block, groups: c.norm_num_groups, scalingFactor: c.scaling_factor,
  };
}

/** The first L channels of each image of (B, 2L, h, w). */
function channels(a: Float32Array, B: number, L: number, hw: number, first: number): Float32Array {
  const out = new Float32Array(B * L * hw);
  for (let b = 0; b < B; b++) out.set(a.subarray((b * 2 * L + first) * hw, (b * 2 * L + first + L) * hw), b * L * hw);
  return out;
}

describe("encoder vs PyTorch", () => {
  for (const name of ["vae_encoder_narrow", "vae_encoder_sd"])
    for (const training of [false, true])
      test(`${name}, ${training ? "training" : "forward-only"} plan`, () => {
        const g = loadGolden(`model_${name}`), c = configOf(g);
        const m = new AutoencoderKL(ctx, c, { encoder: true, decoder: false });
        m.params.set(goldenParams(g));
        expect(goldenParams(g).length).toBe(m.table.entries.length);
        const [B, , H, W] = g.__shapes.x, L = c.latentChannels, hw = (H * W) / m.downFactor ** 2;
        const x = ctx.upload(g.x, g.__shapes.x);
        expectClose("latent", m.encodeMean(x, B, H, W, { training }).readFloat(), g.out, FORWARD_TOL);
        const { mean, logvar } = m.encodeMoments(x, B, H, W, { training });
        const moments = g.moments as Float32Array;
        expectClose("mean", mean.readFloat(), channels(moments, B, L, hw, 0), FORWARD_TOL);
        expectClose("logvar", logvar.readFloat(), channels(moments, B, L, hw, L).map((v) => Math.min(Math.max(v, -30), 20)), FORWARD_TOL);
        x.free();
        m.free();
      });
});

test("decoder vs PyTorch: images, dz and every parameter gradient", () => {
  const g = loadGolden("model_vae_decoder_narrow"), c = configOf(g);
  const m = new AutoencoderKL(ctx, c, { encoder: false, decoder: true });
  m.params.set(goldenParams(g));
  expect(goldenParams(g).length).toBe(m.table.entries.length);
  m.params.train(trainAll);
  const [B, , h, w] = g.__shapes.z;
  const z = ctx.upload(g.z, g.__shapes.z), dout = ctx.upload(g.dout, g.__shapes.dout), dz = ctx.alloc(g.__shapes.z);
  expectClose("images", m.decode(z, B, h, w).readFloat(), g.out, FORWARD_TOL);
  m.decodeBackward(dout, dz);
  expectClose("dz", dz.readFloat(), g.dz, GRAD_TOL);
  const grads = m.params.grads!.readFloat();
  for (const e of m.table.entries) expectClose(`grad ${e.name}`, grads.subarray(e.offset, e.offset + e.size), g[`grad.${e.name}`], GRAD_TOL);
  for (const t of [z, dout, dz]) t.free();
  m.free();
});

test("SD-VAE parameter table = diffusers' state-dict keys and shapes (248 tensors)", () => {
  const file = JSON.parse(readFileSync(join(import.meta.dir, "..", "golden", "data", "model_keys_sd_vae.json"), "utf8"));
  const byName = (k: [string, number[]][]) => [...k].sort((a, b) => a[0].localeCompare(b[0]));
  const ours = vaeParamTable(vaePresets["sd-vae"]).entries.map((e) => [e.name, e.shape] as [string, number[]]);
  expect(byName(ours)).toEqual(byName(file.keys));
  expect(ours.length).toBe(file.num_tensors);
});
