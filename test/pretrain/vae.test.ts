// The VAE trainer: its gradient through the reparameterised sample and the KL term, the reconstruction error
// falling, and the scaling factor (1 / latent std over the training images) in the weights' metadata.
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { Batch } from "../../src/data/loader.ts";
import { readSafetensors } from "../../src/io/safetensors.ts";
import { loadWeights } from "../../src/models/load.ts";
import { AutoencoderKL } from "../../src/models/vae.ts";
import { elementStats, encodeLatents } from "../../src/pretrain/latents.ts";
import { runTraining } from "../../src/pretrain/loop.ts";
import { runPretrain } from "../../src/pretrain/run.ts";
import { VaeTrainer, vaePipeline, vaePresetConfig } from "../../src/pretrain/vae.ts";
import { directionalDerivative, expectDirectional } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, uniform } from "../util/random.ts";
import { images, scratch } from "./helpers.ts";

const ctx = cpuContext();
const { folder, config: tinyConfig } = scratch("pretrain-vae");
const quiet = { out: { write: () => true }, tty: false };

for (const klWeight of [0, 20]) // without the KL (all through the sample), and with a large one
  test(`the step's gradient (decoder, sample z = mean + σ·eps, KL β = ${klWeight}) agrees with finite differences of its loss`, async () => {
    const rng = freshRng();
    const trainer = new VaeTrainer(ctx, tinyConfig("vae", { batch: 4 }, { vae: { klWeight } }), images(8));
    let batch: Batch | undefined;
    for await (const b of trainer.batches(0, 0)) {
      batch = b;
      break;
    }
    const P = trainer.vae.params;
    P.zeroGrads();
    trainer.step(batch!, 3);
    const grad = P.grads!.readFloat(), theta = P.values.readFloat();
    const loss = () => trainer.step(batch!, 3); // same step: same eps
    // every parameter; then only the mean half of quant_conv, then only its logvar half (gradient through σ and the KL)
    const all = uniform(rng, theta.length), meanHead = new Float32Array(theta.length), logvarHead = new Float32Array(theta.length);
    for (const name of ["quant_conv.weight", "quant_conv.bias"]) {
      const e = P.table.get(name);
      meanHead.set(uniform(rng, e.size / 2), e.offset);
      logvarHead.set(uniform(rng, e.size / 2), e.offset + e.size / 2);
    }
    for (const [label, dir] of [["all parameters", all], ["mean head", meanHead], ["logvar head", logvarHead]] as const) {
      const numeric = directionalDerivative(loss, theta, dir, (a) => P.values.write(a), 1e-3);
      expectDirectional(`vae step, ${label}`, numeric, grad.map((g, i) => (dir[i] ? g : 0)), dir, 2e-2, rng.seed);
    }
    trainer.free();
  }, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one

test("the reconstruction error falls", async () => {
  const config = tinyConfig("vae", { epochs: 6, batch: 16, lr: 3e-3 });
  const trainer = new VaeTrainer(ctx, config, images(64));
  const result = await runTraining(trainer, { checkpointFile: join(folder(), "state.safetensors"), resume: false, checkpointSeconds: 1e9, progress: quiet });
  const losses = result.state.history.map((r) => r.loss);
  expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
  trainer.free();
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one

test("the weights carry scaling_factor = 1 / std of the training latents, and the test PSNR", async () => {
  const out = folder(), config = tinyConfig("vae", { epochs: 1, batch: 16 });
  const train = images(32), options = { out, trainSource: train, testSource: images(20), progress: quiet, log: () => {} };
  const done = await runPretrain(config, vaePipeline(ctx, config, options), options);
  if (done.status !== "done") throw new Error("interrupted");
  const file = join(out, "vae.safetensors"), { metadata } = readSafetensors(file);
  const encoder = new AutoencoderKL(ctx, { ...vaePresetConfig(config.preset), scalingFactor: 1 }, { encoder: true, decoder: false });
  loadWeights(encoder.params, file, "vae");
  const { std } = elementStats((await encodeLatents(ctx, encoder, train)).mean);
  expect(Number(metadata.scaling_factor)).toBeCloseTo(1 / std, 5);
  expect(done.report.metrics.scaling_factor).toBe(Number(metadata.scaling_factor));
  expect(done.report.metrics.test_images).toBe(20);
  expect(Number.isFinite(done.report.metrics.test_psnr as number)).toBe(true);
  encoder.free();
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one
