// The training loop every trainer shares: epochs of full batches, the cosine learning rate per step, the
// optimizer and EMA updates, progress, and checkpoints — after every epoch, every `checkpointSeconds` inside one,
// and when asked to stop (Ctrl-C / SIGTERM) — from which a resumed run continues bit for bit.
import { trainingKeys, type PretrainConfig } from "./config.ts";
import { emptyRunning, loadTrainingState, saveTrainingState, type EpochRecord, type TrainedParts, type TrainingState } from "./checkpoint.ts";
import { TrainProgress, type TrainProgressOptions } from "./progress.ts";
import { cosineLr, type CosineSchedule } from "./schedule.ts";
import { letSignalsIn } from "../report/interrupt.ts";

export interface Trainer<B> {
  readonly config: PretrainConfig;
  readonly parts: TrainedParts;
  readonly batchesPerEpoch: number;
  /** The batches of an epoch from batch `from` on. */
  batches(epoch: number, from: number): AsyncIterable<B>;
  /** Forward and backward of one batch; gradients accumulate into the parameters'. `step` (global, 0-based) keys
   * the batch's random streams. Returns the loss. */
  step(batch: B, step: number): number;
}

export type LoopOptions = {
  checkpointFile: string;
  resume: boolean;
  checkpointSeconds?: number; // default 300
  stopAfterSteps?: number; // stop and checkpoint after this many steps of this call (an interruption, for tests)
  interrupt?: { readonly requested: boolean };
  progress?: TrainProgressOptions;
};


export type LoopResult = { completed: boolean; state: TrainingState; steps: number };

export function schedule(config: PretrainConfig, batchesPerEpoch: number): CosineSchedule {
  return { base: config.lr, min: config.minLr, warmup: config.warmup, total: config.epochs * batchesPerEpoch };
}

/** Fails naming every setting that differs between a checkpoint's config and this run's. */
export function checkResumable(file: string, saved: PretrainConfig, wanted: PretrainConfig): void {
  const a = trainingKeys(saved), b = trainingKeys(wanted);
  const differ = Object.keys({ ...a, ...b }).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  if (differ.length)
    throw new Error(`${file} was made with ${differ.map((k) => `${k} ${JSON.stringify(a[k])}`).join(", ")}; this run asks for ${differ.map((k) => `${k} ${JSON.stringify(b[k])}`).join(", ")} (resume with the same settings, or start afresh with --fresh)`);
}

export async function runTraining<B>(trainer: Trainer<B>, o: LoopOptions): Promise<LoopResult> {
  const c = trainer.config, { optimizer, ema } = trainer.parts, perEpoch = trainer.batchesPerEpoch;
  if (perEpoch < 1) throw new Error(`pretrain ${c.model}: fewer training images than one batch of ${c.batch}`);
  let state: TrainingState = { position: { epoch: 0, batch: 0, step: 0 }, history: [], running: emptyRunning(), config: c };
  if (o.resume) {
    state = loadTrainingState(o.checkpointFile, trainer.parts);
    checkResumable(o.checkpointFile, state.config, c);
    state.config = c;
  }
  const sched = schedule(c, perEpoch), total = sched.total;
  const progress = new TrainProgress(c.model, c.epochs, total, o.progress);
  const save = (s: TrainingState) => saveTrainingState(o.checkpointFile, trainer.parts, s);
  let { epoch, batch, step } = state.position;
  if (o.resume && epoch < c.epochs) progress.log(`${c.model}: resuming at epoch ${epoch + 1}/${c.epochs}, batch ${batch}/${perEpoch} (step ${step} of ${total})`);
  progress.start(step, perEpoch);
  let steps = 0, lastSave = performance.now();
  for (; epoch < c.epochs; epoch++) {
    const running = batch > 0 ? state.running : emptyRunning();
    let clock = performance.now();
    const lap = () => {
      const now = performance.now();
      running.seconds += (now - clock) / 1000;
      clock = now;
    };
    for await (const b of trainer.batches(epoch, batch)) {
      const lr = cosineLr(step, sched);
      const loss = trainer.step(b, step);
      if (!Number.isFinite(loss)) throw new Error(`pretrain ${c.model}: loss ${loss} at epoch ${epoch + 1}, batch ${batch} (step ${step}); the last checkpoint is ${o.checkpointFile}`);
      optimizer.update(lr);
      ema?.update();
      step++, batch++, steps++;
      running.lossSum += loss;
      running.batches++;
      running.images += c.batch;
      progress.update(epoch, batch, step, c.batch, running.lossSum / running.batches, lr);
      await letSignalsIn();
      const stop = o.interrupt?.requested || (o.stopAfterSteps !== undefined && steps >= o.stopAfterSteps);
      if (stop || performance.now() - lastSave > (o.checkpointSeconds ?? 300) * 1000) {
        lap();
        state = { ...state, position: { epoch, batch, step }, running };
        save(state);
        lastSave = performance.now();
        if (stop) {
          progress.close();
          return { completed: false, state, steps };
        }
      }
    }
    lap();
    const record: EpochRecord = { epoch, loss: running.lossSum / running.batches, imagesPerSec: running.images / running.seconds, seconds: running.seconds };
    state = { ...state, position: { epoch: epoch + 1, batch: 0, step }, history: [...state.history, record], running: emptyRunning() };
    save(state);
    lastSave = performance.now();
    progress.endEpoch(record);
    batch = 0;
  }
  progress.close();
  return { completed: true, state, steps };
}
