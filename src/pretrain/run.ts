// One pretraining run from start to finish: train (fresh, or resumed from the checkpoint), write the weights,
// evaluate them as written (F16 weights are evaluated as F16), and record config, history and metrics in the
// weights' metadata and in <model>.json. --eval-only skips to the evaluation of an existing weights file.
import { existsSync } from "node:fs";
import { basename } from "node:path";
import type { ArraySource } from "../data/source.ts";
import { duration, rate } from "../report/format.ts";
import { reportedConfig, withEvalSettings, type PretrainConfig } from "./config.ts";
import { runTraining, type Trainer } from "./loop.ts";
import { addMetadata, checkpointDir, ensureDir, readWeightsMetadata, reportFile, stateFile, summarise, weightsFile, writeReport, type PretrainReport, type TrainingSummary } from "./outputs.ts";
import type { TrainProgressOptions } from "./progress.ts";

export type RunOptions = {
  out: string; // the folder of the weights (default weights/)
  resume?: boolean;
  fresh?: boolean; // start over even though a checkpoint exists
  evalOnly?: boolean;
  checkpointSeconds?: number;
  stopAfterSteps?: number; // tests: stop (and checkpoint) after this many steps
  interrupt?: { readonly requested: boolean };
  progress?: TrainProgressOptions;
  log?: (message: string) => void;
  trainSource?: ArraySource; // instead of the Fashion-MNIST training set (tests)
  testSource?: ArraySource; // instead of the Fashion-MNIST test set (tests)
  vaeWeights?: string; // sit: the VAE (default <out>/vae.safetensors)
  classifierWeights?: string; // sit: scores the samples when present (default <out>/classifier.safetensors)
};

export type TrainerHandle<B> = Trainer<B> & { free(): void };

export interface Pipeline<B> {
  trainer(): Promise<TrainerHandle<B>>;
  /** Writes the trained weights (with `metadata` and whatever the model adds, such as the VAE's scaling factor). */
  exportWeights(trainer: TrainerHandle<B>, file: string, metadata: Record<string, string>): Promise<void>;
  evaluate(file: string, config: PretrainConfig): Promise<Record<string, unknown>>;
}

export type PretrainOutcome =
  | { status: "done"; weights: string; report: PretrainReport; checkpoint: string }
  | { status: "interrupted"; checkpoint: string };

export async function runPretrain<B>(config: PretrainConfig, pipeline: Pipeline<B>, o: RunOptions): Promise<PretrainOutcome> {
  const model = config.model, weights = weightsFile(o.out, model), checkpoint = stateFile(o.out, model);
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  let training: TrainingSummary | null = null, reported = config;
  if (!o.evalOnly) {
    ensureDir(checkpointDir(o.out, model));
    const exists = existsSync(checkpoint);
    if (o.resume && !exists) throw new Error(`${checkpoint}: no checkpoint to resume; run without --resume`);
    if (!o.resume && exists && !o.fresh) throw new Error(`${checkpoint} exists: continue that run with --resume, or start over with --fresh`);
    const trainer = await pipeline.trainer();
    try {
      const result = await runTraining(trainer, {
        checkpointFile: checkpoint, resume: Boolean(o.resume), checkpointSeconds: o.checkpointSeconds, stopAfterSteps: o.stopAfterSteps,
        interrupt: o.interrupt, progress: o.progress,
      });
      if (!result.completed) return { status: "interrupted", checkpoint };
      training = summarise(result.state.history);
      log(`${model}: ${config.epochs} epochs in ${duration(training.seconds)} (${rate(training.imagesPerSec)} img/s); writing ${weights}`);
      await pipeline.exportWeights(trainer, weights, { model: config.preset, trainer: model, config: JSON.stringify(reportedConfig(config)), training: JSON.stringify(training) });
    } finally {
      trainer.free();
    }
  } else {
    if (!existsSync(weights)) throw new Error(`${weights}: no weights to evaluate; train them first (bun run pretrain ${model})`);
    const metadata = readWeightsMetadata(weights);
    if (metadata.trainer !== model) throw new Error(`${weights}: holds a '${metadata.trainer}' model, not '${model}'`);
    training = metadata.training ? (JSON.parse(metadata.training) as TrainingSummary) : null;
    if (metadata.config) reported = withEvalSettings(JSON.parse(metadata.config) as Partial<PretrainConfig>, config);
  }
  log(`${model}: evaluating ${weights}`);
  const metrics = await pipeline.evaluate(weights, reported);
  addMetadata(weights, { metrics: JSON.stringify(metrics) });
  const report: PretrainReport = { model, preset: reported.preset, weights: basename(weights), created: new Date().toISOString(), config: reportedConfig(reported), training, metrics };
  writeReport(reportFile(o.out, model), report);
  return { status: "done", weights, report, checkpoint };
}
