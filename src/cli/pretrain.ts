// bun run pretrain <classifier|vae|sit> — train the tiny Fashion-MNIST models of DESIGN §3 on the kernel library,
// checkpointing every epoch (and every few minutes), resumable after an interruption, then evaluate the weights and
// write them with their config and metrics: <out>/<model>.safetensors, <out>/<model>.json (+ sit-samples.png).
import { cac } from "cac";
import { openContext, parseDevice, type Context } from "../native/index.ts";
import { classifierPipeline } from "../pretrain/classifier.ts";
import { DEFAULTS, isModelName, MODEL_NAMES, pretrainConfig, type ConfigOverrides, type ModelName, type PretrainConfig } from "../pretrain/config.ts";
import type { Pipeline, RunOptions } from "../pretrain/run.ts";
import { runPretrain } from "../pretrain/run.ts";
import { sitPipeline } from "../pretrain/sit.ts";
import { vaePipeline } from "../pretrain/vae.ts";
import { INTERRUPTED_EXIT_CODE, onInterrupt } from "../report/interrupt.ts";

class UsageError extends Error {}

type Options = {
  epochs?: string; batch?: string; lr?: string; seed?: string; out: string; resume?: boolean; fresh?: boolean; limit?: string;
  evalLimit?: string; evalOnly?: boolean; threads?: string; device?: string; checkpointMinutes: string; vae?: string; classifier?: string; cfg?: string;
  sampleSteps?: string;
};

function integer(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0)) throw new UsageError(`--${name} must be a positive number, got '${value}'`);
  return n;
}

function pipelineFor(ctx: Context, config: PretrainConfig, o: RunOptions): Pipeline<unknown> {
  const m = config.model;
  return (m === "classifier" ? classifierPipeline(ctx, config, o) : m === "vae" ? vaePipeline(ctx, config, o) : sitPipeline(ctx, config, o)) as Pipeline<unknown>;
}

async function main(model: string, o: Options): Promise<number> {
  if (!isModelName(model)) throw new UsageError(`unknown model '${model}': one of ${MODEL_NAMES.join(", ")}`);
  const overrides: ConfigOverrides = {
    epochs: integer("epochs", o.epochs), batch: integer("batch", o.batch), lr: positive("lr", o.lr), seed: integer("seed", o.seed, 0),
    limit: integer("limit", o.limit), evalLimit: integer("eval-limit", o.evalLimit),
  };
  if (o.resume && o.fresh) throw new UsageError("--resume and --fresh contradict each other");
  const config = pretrainConfig(model as ModelName, overrides);
  config.sit.cfgScale = positive("cfg", o.cfg) ?? config.sit.cfgScale;
  config.sit.sampleSteps = integer("sample-steps", o.sampleSteps) ?? config.sit.sampleSteps;
  const threads = integer("threads", o.threads) ?? 0;
  let device;
  try {
    device = parseDevice(o.device);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const ctx = openContext(device, threads);
  const interrupt = onInterrupt();
  try {
    const options: RunOptions = {
      out: o.out, resume: Boolean(o.resume), fresh: Boolean(o.fresh), evalOnly: Boolean(o.evalOnly), interrupt,
      checkpointSeconds: 60 * positive("checkpoint-minutes", o.checkpointMinutes)!, vaeWeights: o.vae, classifierWeights: o.classifier,
    };
    const outcome = await runPretrain(config, pipelineFor(ctx, config, options), options);
    if (outcome.status === "interrupted") {
      console.error(`${model}: stopped; state saved in ${outcome.checkpoint}. To continue: bun run pretrain ${model} --resume${o.out !== "weights" ? ` --out ${o.out}` : ""}`);
      return INTERRUPTED_EXIT_CODE;
    }
    console.log(`${model}: ${outcome.weights}  ${JSON.stringify(outcome.report.metrics)}`);
    return 0;
  } finally {
    interrupt.dispose();
    ctx.destroy();
  }
}

const d = DEFAULTS;
const cli = cac("bun run pretrain");
cli
  .command("<model>", `Train a tiny Fashion-MNIST model: ${MODEL_NAMES.join(" | ")}`)
  .option("--epochs <n>", `epochs (default: classifier ${d.classifier.epochs}, vae ${d.vae.epochs}, sit ${d.sit.epochs})`)
  .option("--batch <n>", `batch size (default: classifier ${d.classifier.batch}, vae ${d.vae.batch}, sit ${d.sit.batch})`)
  .option("--lr <x>", `peak learning rate (default: classifier ${d.classifier.lr}, vae ${d.vae.lr}, sit ${d.sit.lr})`)
  .option("--seed <n>", "seed of every random stream (init, order, augmentation, noise, dropout)")
  .option("--out <dir>", "folder of the weights, reports and .checkpoints/", { default: "weights" })
  .option("--resume", "continue from <out>/.checkpoints/<model>/state.safetensors")
  .option("--fresh", "start over even though a checkpoint exists")
  .option("--limit <n>", "train on the first N training images (quick runs)")
  .option("--eval-limit <n>", "evaluate on the first N test images")
  .option("--eval-only", "evaluate <out>/<model>.safetensors again, no training")
  .option("--threads <n>", "CPU threads (default: all cores)")
  .option("--device <d>", "auto (cuda when a GPU and the CUDA library are there, else cpu) | cpu | cuda", { default: "auto" })
  .option("--checkpoint-minutes <x>", "also checkpoint inside an epoch this often", { default: "5" })
  .option("--vae <file>", "sit: the VAE whose latents it learns (default <out>/vae.safetensors)")
  .option("--classifier <file>", "sit: scores the samples (default <out>/classifier.safetensors, when present)")
  .option("--cfg <s>", `sit: classifier-free guidance scale of the samples, 1 = none (default ${d.sit.sit.cfgScale})`)
  .option("--sample-steps <n>", `sit: Euler steps of the samples (default ${d.sit.sit.sampleSteps})`)
  .example("bun run pretrain classifier")
  .example("bun run pretrain vae --limit 2048 --epochs 1 --out /tmp/smoke")
  .example("bun run pretrain sit --resume")
  .action(async (model: string, o: Options) => {
    process.exitCode = await main(model, o);
  });
cli.help();

try {
  cli.parse(process.argv, { run: false });
  await cli.runMatchedCommand();
} catch (e) {
  const usage = e instanceof UsageError || (e as Error).name === "CACError";
  console.error(`pretrain: ${(e as Error).message}`);
  process.exit(usage ? 2 : 1);
}
