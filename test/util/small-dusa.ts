// Small random DUSA models (a 16×16 one-channel ConvNeXt, VAE and SiT) for method-level tests that need real
// shapes but run in a second on the CPU reference kernels.
import { ConvNeXt, type ConvNeXtConfig } from "../../src/models/convnext.ts";
import { SiT, type SiTConfig } from "../../src/models/sit.ts";
import { AutoencoderKL, type VAEConfig } from "../../src/models/vae.ts";
import type { Context } from "../../src/native/index.ts";
import { normal, type Rng } from "./random.ts";

export const SMALL = {
  task: { inChans: 1, numClasses: 10, depths: [1, 1, 1, 1], dims: [8, 8, 16, 16], stemPatch: 2 } as ConvNeXtConfig,
  vae: { inChannels: 1, outChannels: 1, latentChannels: 4, blockOut: [8, 16, 16], layersPerBlock: 1, groups: 4, scalingFactor: 0.5 } as VAEConfig,
  gen: { inputSize: 4, patchSize: 2, inChannels: 4, hidden: 32, depth: 2, heads: 4, mlpRatio: 4, numClasses: 10, learnSigma: false } as SiTConfig,
  size: 16,
};

/** The three models with N(0, σ) weights drawn from rng (the SiT keeps its sin-cos position table). */
export function smallDusaModels(ctx: Context, rng: Rng) {
  const task = new ConvNeXt(ctx, SMALL.task);
  task.params.values.write(normal(rng, task.table.total, 0.3));
  const vae = new AutoencoderKL(ctx, SMALL.vae, { encoder: true, decoder: false });
  vae.params.values.write(normal(rng, vae.table.total, 0.1));
  const gen = new SiT(ctx, SMALL.gen);
  const pos = gen.params.p("pos_embed").read();
  gen.params.values.write(normal(rng, gen.table.total, 0.1));
  gen.params.p("pos_embed").write(pos);
  return { task, vae, gen };
}
