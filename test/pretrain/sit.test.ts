// The SiT trainer (flow matching, label dropout, label-table gradient, EMA), bit-identical resume, the SiT used as a
// classifier, the Euler sampler, and a whole run on a tiny VAE's latents.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors } from "../../src/io/safetensors.ts";
import { classifierPipeline } from "../../src/pretrain/classifier.ts";
import { flowClassify } from "../../src/pretrain/eval.ts";
import { runTraining } from "../../src/pretrain/loop.ts";
import { runPretrain } from "../../src/pretrain/run.ts";
import { sampleEuler } from "../../src/pretrain/sampler.ts";
import { SiTTrainer, sitPipeline, type LatentDataset } from "../../src/pretrain/sit.ts";
import { vaePipeline } from "../../src/pretrain/vae.ts";
import type { VelocityModel } from "../../src/pretrain/velocity.ts";
import { directionalDerivative, expectDirectional } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform } from "../util/random.ts";
import { images, sameBits, scratch } from "./helpers.ts";

const ctx = cpuContext();
const { folder, config: tinyConfig } = scratch("pretrain-sit");
const quiet = { out: { write: () => true }, tty: false };
const D = 4 * 8 * 8;

/** Latents near one prototype per class. */
function prototypes(classes: number, seed: number): Float32Array {
  return normal({ seed, next: mulberry(seed) }, classes * D, 1);
}

function mulberry(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function dataset(count: number, seed: number): LatentDataset {
  const protos = prototypes(10, seed), noise = normal({ seed: seed + 1, next: mulberry(seed + 1) }, count * D, 0.1);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
  const z = new Float32Array(count * D);
  for (let i = 0; i < count; i++) for (let d = 0; d < D; d++) z[i * D + d] = protos[labels[i] * D + d] + noise[i * D + d];
  return { z, logvar: new Float32Array(count * D).fill(-6), labels, count, dims: D, scalingFactor: 1 };
}

test("the flow loss falls", async () => {
  const trainer = new SiTTrainer(ctx, tinyConfig("sit", { epochs: 30, batch: 32, lr: 1e-2 }), dataset(128, 1));
  const result = await runTraining(trainer, { checkpointFile: join(folder(), "state.safetensors"), resume: false, checkpointSeconds: 1e9, progress: quiet });
  const losses = result.state.history.map((r) => r.loss);
  expect(losses[losses.length - 1]).toBeLessThan(0.8 * losses[0]); // ≈ 2 (= E|eps − z0|² at a zero prediction) → ≈ 1.4
  trainer.free();
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one

test("the step's gradient, the label table's included (which SiT.backward leaves to the trainer), agrees with finite differences", async () => {
  const rng = freshRng();
  const config = tinyConfig("sit", { batch: 8 }, {});
  config.sit = { ...config.sit, labelDropout: 0.5, latentNoise: true };
  const trainer = new SiTTrainer(ctx, config, dataset(16, 2));
  const P = trainer.sit.params, batch = Int32Array.from([0, 3, 5, 7, 9, 11, 12, 15]);
  // adaLN-Zero starts every gate and the final layer at zero; move off that point so every path carries gradient
  const theta0 = P.values.readFloat().map((v, i) => v + 0.05 * normal(rng, 1)[0] * (P.table.entries.some((e) => e.role !== "fixed" && i >= e.offset && i < e.offset + e.size) ? 1 : 0));
  P.values.write(theta0);
  P.zeroGrads();
  trainer.step(batch, 4);
  const grad = P.grads!.readFloat();
  const table = P.table.get("y_embedder.embedding_table.weight");
  expect(grad.subarray(table.offset, table.offset + table.size).some((g) => g !== 0)).toBe(true);
  const loss = () => trainer.step(batch, 4);
  const labelsOnly = new Float32Array(theta0.length);
  labelsOnly.set(uniform(rng, table.size), table.offset);
  const all = new Float32Array(theta0.length);
  for (const e of P.table.entries) if (e.role !== "fixed") all.set(uniform(rng, e.size), e.offset);
  for (const [label, dir] of [["label table", labelsOnly], ["all trained", all]] as const) {
    const numeric = directionalDerivative(loss, theta0, dir, (a) => P.values.write(a), 1e-2);
    expectDirectional(`sit step, ${label}`, numeric, grad.map((g, i) => (dir[i] ? g : 0)), dir, 2e-2, rng.seed);
  }
  trainer.free();
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one

test("checkpoint → resume continues bit for bit, EMA included", async () => {
  const dir = folder(), config = tinyConfig("sit", { epochs: 2, batch: 16, seed: 3 });
  const data = dataset(64, 4);
  const run = async (file: string, stops: number[]) => {
    for (const [i, stop] of stops.entries()) {
      const trainer = new SiTTrainer(ctx, config, data);
      await runTraining(trainer, { checkpointFile: file, resume: i > 0, stopAfterSteps: stop, checkpointSeconds: 1e9, progress: quiet });
      trainer.free();
    }
    return readSafetensors(file).tensors;
  };
  const straight = await run(join(dir, "a.safetensors"), [Infinity]), interrupted = await run(join(dir, "b.safetensors"), [2, 3, Infinity]);
  for (const key of ["params", "optimizer.m", "optimizer.v", "ema.shadow"]) expect(sameBits(interrupted.get(key)!.data, straight.get(key)!.data)).toBe(true);
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one

/** The exact velocity of data concentrated at prototype p_y: v = (x − p_y) / t (the null class's prototype is 0). */
function idealVelocity(protos: Float32Array): VelocityModel & { calls: number } {
  const model = {
    classes: 10, dims: D, calls: 0,
    predict(x: Float32Array, t: Float32Array, y: Int32Array, n: number) {
      model.calls++;
      const v = new Float32Array(n * D);
      for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) v[i * D + d] = (x[i * D + d] - (y[i] < 10 ? protos[y[i] * D + d] : 0)) / t[i];
      return v;
    },
  };
  return model;
}

test("the SiT as a classifier: with the exact velocity of each class, every image goes to its own class", () => {
  const protos = prototypes(10, 5), labels = Int32Array.from({ length: 30 }, (_, i) => (i * 7) % 10);
  const z0 = new Float32Array(30 * D);
  labels.forEach((l, i) => z0.set(protos.subarray(l * D, (l + 1) * D), i * D));
  const r = flowClassify(idealVelocity(protos), z0, labels, [0.1, 0.25, 0.5, 0.75], 0, 7);
  expect(r.accuracy).toBe(100);
  expect(Array.from(r.predictions)).toEqual(Array.from(labels));
  expect(r.perTime.map((p) => p.accuracy)).toEqual([100, 100, 100, 100]);
});

test("the Euler sampler: (n, D) latents; the exact field lands on the prototypes, guidance s on s·prototype", () => {
  const protos = prototypes(10, 6), labels = Int32Array.from([0, 3, 3, 9]), model = idealVelocity(protos);
  for (const cfgScale of [1, 2]) {
    const z = sampleEuler(model, labels, { steps: 8, cfgScale, seed: 1 });
    expect(z.length).toBe(labels.length * D);
    labels.forEach((l, i) => {
      for (let d = 0; d < D; d += 17) expect(z[i * D + d]).toBeCloseTo(cfgScale * protos[l * D + d], 4);
    });
  }
  expect(model.calls).toBe(16); // guided runs batch the conditional and unconditional halves in one call
});

test("a whole run on a tiny VAE's latents: EMA weights, the sample sheet, the metrics, the cached latents", async () => {
  const out = folder(), logs: string[] = [];
  const options = { out, trainSource: images(32), testSource: images(12), progress: quiet, log: (m: string) => void logs.push(m) };
  const vaeConfig = tinyConfig("vae", { epochs: 1, batch: 16 }), classifierConfig = tinyConfig("classifier", { epochs: 1, batch: 16 });
  await runPretrain(vaeConfig, vaePipeline(ctx, vaeConfig, options), options);
  await runPretrain(classifierConfig, classifierPipeline(ctx, classifierConfig, options), options); // scores the samples
  const config = tinyConfig("sit", { epochs: 1, batch: 16 });
  config.sit = { ...config.sit, samplesPerClass: 2, sampleSteps: 4, classifyImages: 6 };
  const done = await runPretrain(config, sitPipeline(ctx, config, options), options);
  if (done.status !== "done") throw new Error("interrupted");
  const { metadata } = readSafetensors(join(out, "sit.safetensors"));
  expect(metadata.ema).toBe("true");
  expect(metadata.vae_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(Number(metadata.vae_scaling_factor)).toBeGreaterThan(0);
  expect(existsSync(join(out, "sit-samples.png"))).toBe(true);
  expect(existsSync(join(out, ".checkpoints", "sit", "latents.safetensors"))).toBe(true);
  const m = done.report.metrics;
  expect(m.flow_classifier_images).toBe(6);
  expect(m.samples_per_class).toBe(2);
  expect(m.sample_accuracy).toBeGreaterThanOrEqual(0);
  expect(m.sample_classifier).toBe("classifier.safetensors");
  const encodes = logs.filter((l) => l.includes("encoding")).length;
  await runPretrain(config, sitPipeline(ctx, config, options), { ...options, fresh: true });
  expect(logs.filter((l) => l.includes("encoding")).length).toBe(encodes); // the second run read the cache
}, 120_000); // compute-heavy: seconds on a quiet 2-core machine, far more on a shared one
