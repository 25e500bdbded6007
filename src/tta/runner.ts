// The episodic / continual runner: for each (corruption, severity) task, stream its images through the method,
// score the predictions made before each update (and the unadapted model's on the same images), append the
// result atomically, and write the report. Episodic resets parameters and optimizer state before every task;
// continual never resets and saves its state at every task boundary so a run can resume.
import { runTasks, type Config } from "../config/index.ts";
import { createLoader } from "../data/loader.ts";
import type { AuxTransform, TaskTransform } from "../data/transforms.ts";
import { readSafetensors, writeSafetensorsSync } from "../io/safetensors.ts";
import { describeDevice, openContext, type Context, type Tensor } from "../native/index.ts";
import { INTERRUPTED_EXIT_CODE, letSignalsIn, onInterrupt, PhaseClock, Progress, resumeHint, RunDir, taskResult, type TaskResult } from "../report/index.ts";
import { buildRun, type Built } from "./build.ts";
import { Explainer, firstImages, type ExplainInputs, type Hypotheses } from "./explain.ts";
import { renderExplainFigure } from "../report/explain-figure.ts";
import type { MicroBatch } from "./methods.ts";
import { openTask } from "./task-data.ts";

export type RunOutcome = { path: string; results: TaskResult[]; exitCode: number };

function transforms(config: Config): { task: TaskTransform; aux: AuxTransform } {
  const t = config.data.task_transform;
  return {
    task: {
      resize: t.resize ?? undefined, interpolation: t.interpolation, centerCrop: t.center_crop ?? undefined, pad: t.pad ?? undefined,
      channels: t.channels as 1 | 3, mean: t.mean, std: t.std,
    },
    aux: { size: config.data.aux_transform.size },
  };
}

/** Device buffers for a micro-batch, reallocated only when the batch shape changes. */
/** The batch's images on the device in the storage dtype (uploaded as fp32, then cast on the device for bf16). */
class BatchTensors {
  #tensors = new Map<string, Tensor>();
  constructor(readonly ctx: Context) {}
  #fit(name: string, shape: number[], dtype: "f32" | "bf16"): Tensor {
    const t = this.#tensors.get(name);
    if (t && t.size === shape.reduce((a, b) => a * b, 1)) return t;
    t?.free();
    const fresh = this.ctx.alloc(shape, "data", dtype);
    this.#tensors.set(name, fresh);
    return fresh;
  }
  #put(name: string, data: Float32Array, shape: number[]): Tensor {
    const f32 = this.#fit(`${name}.f32`, shape, "f32").write(data);
    if (this.ctx.storage === "f32") return f32;
    const stored = this.#fit(name, shape, "bf16");
    this.ctx.call("dusa_f32_to_bf16", stored, f32, f32.size);
    return stored;
  }
  upload(task: Float32Array, taskShape: number[], aux: Float32Array | undefined, auxShape: number[] | undefined): MicroBatch {
    const taskTensor = this.#put("task", task, taskShape);
    const auxTensor = aux && auxShape ? this.#put("aux", aux, auxShape) : null;
    const [B, , H, W] = taskShape;
    return { task: taskTensor, aux: auxTensor, B, H, W, auxSize: auxShape ? auxShape[2] : 0 };
  }
  free(): void {
    for (const t of this.#tensors.values()) t.free();
    this.#tensors.clear();
  }
}

function saveContinualState(path: string, built: Built): void {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const meta: Record<string, string> = {};
  for (const t of built.method.trainables()) {
    tensors[`${t.model}.values`] = { shape: [t.values.size], data: t.values.readFloat() };
    const s = t.optimizer?.state();
    if (s?.m) tensors[`${t.model}.m`] = { shape: [s.m.length], data: s.m };
    if (s?.v) tensors[`${t.model}.v`] = { shape: [s.v.length], data: s.v };
    meta[`${t.model}.step`] = String(s?.step ?? 0);
  }
  writeSafetensorsSync(path, tensors, meta);
}

function loadContinualState(path: string, built: Built): void {
  const file = readSafetensors(path);
  for (const t of built.method.trainables()) {
    const values = file.tensors.get(`${t.model}.values`);
    if (!values || values.data.length !== t.values.size) throw new Error(`${path}: no state for the ${t.model} model of this size`);
    t.values.write(values.data);
    t.optimizer?.load({ step: Number(file.metadata[`${t.model}.step`] ?? 0), m: file.tensors.get(`${t.model}.m`)?.data ?? null, v: file.tensors.get(`${t.model}.v`)?.data ?? null });
  }
}

export async function runTta(config: Config, sources: readonly string[] = []): Promise<RunOutcome> {
  const started = performance.now();
  const ctx = openContext(config.device, config.threads);
  ctx.storage = config.storage;
  const built = buildRun(ctx, config);
  const run = config.resume ? RunDir.open(config.resume, config) : RunDir.create(config, { sources });
  const plan = run.resumePlan(runTasks(config), config.mode);
  if (plan.checkpoint) loadContinualState(plan.checkpoint.path, built);
  const interrupt = onInterrupt();
  const progress = new Progress({ totalTasks: plan.pending.length });
  for (const note of built.notes) progress.log(note);
  const clock = new PhaseClock(ctx.backend === "cpu" ? undefined : () => ctx.sync());
  const { task: taskTransform, aux: auxTransform } = transforms(config);
  const tensors = new BatchTensors(ctx);
  const sourcePred = ctx.alloc([config.data.batch_size], "act", "i32");
  const results: TaskResult[] = [];
  const usesAux = config.method.name === "dusa";
  const explainer = config.explain > 0 ? new Explainer(ctx, built, config) : null;
  let stopped = false;

  for (const [index, task] of plan.pending.entries()) {
    if (config.mode === "episodic") built.method.reset();
    const t0 = performance.now();
    const { source, shuffled } = await openTask(config, task);
    clock.add("data", performance.now() - t0);
    const loader = createLoader(source, {
      batchSize: config.data.batch_size, task: taskTransform, aux: usesAux ? auxTransform : undefined,
      shuffle: shuffled ? false : config.data.shuffle, seed: config.seed, limit: shuffled ? undefined : config.data.limit ?? undefined,
      prefetch: config.data.prefetch, workers: config.data.workers, skipBad: config.data.skip_bad,
    });
    const total = config.fast_dev_run ? Math.min(config.data.batch_size, loader.order.length) : loader.order.length;
    progress.startTask(task.name, total);
    const stats = { n: 0, correct: 0, sourceCorrect: 0, loss: 0, lossSteps: 0, bad: 0, consecutiveBad: 0, step: 0 };
    const taskStart = performance.now();
    let explained: { inputs: ExplainInputs; before: Hypotheses } | null = null;
    let waitStart = performance.now();
    for await (const batch of loader) {
      clock.add("data", performance.now() - waitStart);
      if (explainer && !explained) {
        const inputs = firstImages(batch, config.explain);
        explained = { inputs, before: clock.time("explain", () => explainer.hypotheses(inputs)) };
      }
      const stepStart = performance.now();
      const mb = tensors.upload(batch.task, batch.taskShape, batch.aux, batch.auxShape);
      const r = built.method.step(mb, stats.step);
      for (const [phase, ms] of Object.entries(built.method.takePhases())) clock.add(phase, ms);
      for (const note of built.method.takeNotes?.() ?? []) progress.log(note);
      const B = mb.B;
      let correct = 0;
      for (let i = 0; i < B; i++) if (r.predictions[i] === batch.labels[i]) correct++;
      if (built.source) {
        const logits = clock.time("source_fwd", () => built.source!.forward(mb.task, B, mb.H, mb.W));
        ctx.call("dusa_argmax", sourcePred, logits, B, built.source.config.numClasses);
        const sp = sourcePred.read();
        for (let i = 0; i < B; i++) if (sp[i] === batch.labels[i]) stats.sourceCorrect++;
      }
      stats.n += B;
      stats.correct += correct;
      if (r.loss !== null && r.finite) {
        stats.loss += r.loss;
        stats.lossSteps++;
      }
      stats.consecutiveBad = r.finite ? 0 : stats.consecutiveBad + 1;
      if (!r.finite) stats.bad++;
      const seconds = (performance.now() - stepStart) / 1000;
      run.appendMetrics({ task: task.name, step: stats.step, images: B, loss: r.loss, accuracy: (100 * correct) / B, images_per_sec: B / seconds, updated: r.updated });
      progress.update(stats.n, stats.correct);
      stats.step++;
      await letSignalsIn();
      if (stats.consecutiveBad > config.max_bad_steps) {
        progress.log(`${task.name}: ${stats.consecutiveBad} non-finite losses in a row (max_bad_steps ${config.max_bad_steps}): task stopped`);
        break;
      }
      if (config.fast_dev_run || interrupt.requested) break;
      waitStart = performance.now();
    }
    loader.close();
    if (interrupt.requested && !config.fast_dev_run) {
      stopped = true;
      break;
    }
    if (explainer && explained) {
      const after = clock.time("explain", () => explainer.hypotheses(explained!.inputs));
      const { inputs, before } = explained, per = inputs.aux.length / inputs.auxShape[0];
      const images = inputs.labels.map((label, i) => ({ input: inputs.aux.subarray(i * per, (i + 1) * per), inputShape: inputs.auxShape.slice(1), label }));
      const file = run.explainPath(task.name);
      await renderExplainFigure(file, { title: `${task.name}: ${config.method.name} (adapt.task=${config.method.adapt.task}, adapt.aux=${config.method.adapt.aux}), ${stats.n} images adapted on`, classNames: source.classNames, images, before, after });
      progress.log(`explain: ${file}`);
    }
    const k = plan.finished.length + index;
    if (config.mode === "continual") saveContinualState(run.checkpointPath(k), built);
    const result = taskResult({
      task: task.name, corruption: task.corruption, severity: task.severity, n: stats.n, correct: stats.correct,
      sourceAccuracy: built.source && stats.n ? (100 * stats.sourceCorrect) / stats.n : undefined,
      loss: stats.lossSteps ? stats.loss / stats.lossSteps : undefined, badSteps: stats.bad, seconds: (performance.now() - taskStart) / 1000,
    });
    run.appendResult(result);
    if (config.mode === "continual") run.pruneCheckpoints(k);
    results.push(result);
    progress.endTask(result);
    if (interrupt.requested) {
      stopped = true;
      break;
    }
  }
  progress.close();
  const memory = ctx.memory();
  const peakBytes = Object.fromEntries(Object.entries(memory).map(([tag, m]) => [tag, m.peak]));
  await run.finish({ profile: { phases: clock.phases, peakBytes, device: describeDevice(ctx), seconds: (performance.now() - started) / 1000 } });
  interrupt.dispose();
  explainer?.free();
  tensors.free();
  sourcePred.free();
  built.free();
  ctx.destroy();
  if (stopped) console.error(resumeHint(run.path));
  return { path: run.path, results, exitCode: stopped ? INTERRUPTED_EXIT_CODE : 0 };
}

