// TTA methods behind one interface: source (no adaptation), tent (mean softmax entropy, norm-only), dusa.
// step() returns the predictions made before the micro-batch's update (online accuracy); an update happens every
// `accumulate` micro-batches; a non-finite loss skips the update and is counted.
import type { Context, DType, Tensor } from "../native/index.ts";
import type { ConvNeXt } from "../models/convnext.ts";
import type { SiT } from "../models/sit.ts";
import { trainAll, trainLora, trainNone, trainNorm, type Trainable } from "../nn/params.ts";
import { DusaStep, type DusaSettings, type LatentEncoder } from "./dusa.ts";
import { Optimizer, type OptimizerConfig } from "./optimizer.ts";
import { StepGraphs, type GraphMode } from "./step-graphs.ts";

export type AdaptMode = "all" | "norm" | "lora" | "none";
export const trainableFor: Record<AdaptMode, Trainable> = { all: trainAll, norm: trainNorm, lora: trainLora, none: trainNone };

export type MicroBatch = { task: Tensor; aux: Tensor | null; B: number; H: number; W: number; auxSize: number };
export type StepResult = { predictions: Int32Array; loss: number | null; finite: boolean; updated: boolean };

export interface Method {
  readonly name: string;
  /** milliseconds per phase since the last takePhases() */
  takePhases(): Record<string, number>;
  step(batch: MicroBatch, index: number): StepResult;
  /** episodic TTA: parameters and optimizer state back to the snapshot taken at construction */
  reset(): void;
  /** things the run's log should say, once (e.g. graphs turned off after a failed recording) */
  takeNotes?(): string[];
  /** continual-mode checkpoints: what must be saved to resume */
  trainables(): { model: string; values: Tensor; optimizer: Optimizer | null }[];
  free(): void;
}

/** Phase times; on a device backend each phase waits for its kernels, so the time is theirs, not their launch's. */
class Phases {
  #ms: Record<string, number> = {};
  constructor(readonly ctx: Context) {}
  time<T>(phase: string, fn: () => T): T {
    if (this.ctx.recording) return fn(); // recording runs nothing; the replay is timed as a whole
    const t0 = performance.now();
    const out = fn();
    if (this.ctx.backend !== "cpu") this.ctx.sync();
    this.#ms[phase] = (this.#ms[phase] ?? 0) + performance.now() - t0;
    return out;
  }
  add(phase: string, ms: number): void {
    this.#ms[phase] = (this.#ms[phase] ?? 0) + ms;
  }
  take(): Record<string, number> {
    const out = this.#ms;
    this.#ms = {};
    return out;
  }
}

function argmax(ctx: Context, logits: { ptr: number }, B: number, C: number, out: Tensor): Int32Array {
  ctx.call("dusa_argmax", out, logits, B, C);
  return (out.read() as Int32Array).slice(0, B);
}

class Scratch {
  #tensors = new Map<string, Tensor>();
  constructor(readonly ctx: Context) {}
  get(name: string, shape: number[], dtype: DType = "f32"): Tensor {
    const t = this.#tensors.get(name);
    if (t && t.size === shape.reduce((a, b) => a * b, 1) && t.dtype === dtype) return t;
    t?.free();
    const fresh = this.ctx.alloc(shape, "act", dtype);
    this.#tensors.set(name, fresh);
    return fresh;
  }
  free(): void {
    for (const t of this.#tensors.values()) t.free();
    this.#tensors.clear();
  }
}

export class SourceMethod implements Method {
  readonly name = "source";
  #phases: Phases;
  #scratch: Scratch;
  constructor(readonly ctx: Context, readonly task: ConvNeXt) {
    this.#phases = new Phases(ctx);
    this.#scratch = new Scratch(ctx);
    task.params.train(trainNone);
  }
  takePhases() {
    return this.#phases.take();
  }
  step(b: MicroBatch, _index = 0): StepResult {
    const C = this.task.config.numClasses;
    const logits = this.#phases.time("task_fwd", () => this.task.forward(b.task, b.B, b.H, b.W));
    return { predictions: argmax(this.ctx, logits, b.B, C, this.#scratch.get("pred", [b.B], "i32")), loss: null, finite: true, updated: false };
  }
  reset(): void {}
  trainables() {
    return [];
  }
  free(): void {
    this.#scratch.free();
  }
}

/**
 * Counts micro-batches towards an update and discards accumulated gradients after a non-finite loss. A step issues
 * its device work in one function (forward, loss, backward, and the update gated on the device by the loss being
 * finite) that runs eagerly or as a recorded graph (StepGraphs), then reads its results.
 */
abstract class Adapting implements Method {
  abstract readonly name: string;
  protected phases: Phases;
  protected scratch: Scratch;
  readonly graphs: StepGraphs;
  #pending = 0; // finite micro-batches since the last update
  #noted = false;

  constructor(readonly ctx: Context, readonly accumulate: number, protected optimizers: { model: string; optimizer: Optimizer; lr: number }[], readonly gradClip: number | null = null, graph: GraphMode = "off") {
    this.phases = new Phases(ctx);
    this.scratch = new Scratch(ctx);
    for (const o of optimizers) o.optimizer.snapshot();
    this.graphs = new StepGraphs(ctx, graph, gradClip !== null ? "grad_clip reads the gradient norm on the host" : null);
  }

  takePhases() {
    return this.phases.take();
  }

  takeNotes(): string[] {
    if (this.#noted || !this.graphs.note) return [];
    this.#noted = true;
    return [this.graphs.note];
  }

  abstract step(b: MicroBatch, index: number): StepResult;

  /** Runs a step's device work eagerly or as a graph; the replay's wall time is the phase "graph". */
  protected runStep(key: string, enqueue: () => void): "eager" | "graph" {
    const t0 = performance.now();
    const how = this.graphs.run(key, enqueue);
    if (how === "eager") return "eager";
    this.phases.add("graph", performance.now() - t0);
    return "graph";
  }

  /** Whether the next micro-batch ends an accumulation (its step updates when its loss is finite). */
  protected get updatesNext(): boolean {
    return this.#pending + 1 >= this.accumulate;
  }

  /** The update of a step whose finiteness the device knows (gate: int32 [1]); recordable when there is no clipping. */
  protected enqueueUpdate(gate: Tensor): void {
    this.phases.time("optimizer", () => {
      if (this.gradClip !== null) this.#clip(this.gradClip);
      for (const o of this.optimizers) o.optimizer.update(o.lr, gate);
    });
  }

  /** After a step that issued its own gated update when `updates`: the host's count of the accumulation. */
  protected settle(finite: boolean, updates: boolean): boolean {
    if (!finite) {
      if (!updates) for (const o of this.optimizers) o.optimizer.params.zeroGrads(); // an update zeroed them already
      this.#pending = 0;
      return false;
    }
    if (updates) {
      this.#pending = 0;
      return true;
    }
    this.#pending++;
    return false;
  }

  /** torch.nn.utils.clip_grad_norm_ over every trained parameter (frozen gradients are zero, so whole buffers do). */
  #clip(maxNorm: number): void {
    const norm = new Float32Array(1);
    let sumSquares = 0;
    for (const o of this.optimizers) {
      const g = o.optimizer.params.grads!;
      this.ctx.call("dusa_l2_norm", norm, g, g.size);
      sumSquares += norm[0] * norm[0];
    }
    const total = Math.sqrt(sumSquares);
    for (const o of this.optimizers) {
      const g = o.optimizer.params.grads!;
      this.ctx.call("dusa_clip_by_norm", g, g.size, maxNorm, total);
    }
  }

  reset(): void {
    for (const o of this.optimizers) o.optimizer.restore();
    this.#pending = 0;
  }

  trainables() {
    return this.optimizers.map((o) => ({ model: o.model, values: o.optimizer.params.values, optimizer: o.optimizer }));
  }

  free(): void {
    this.graphs.free();
    this.scratch.free();
    for (const o of this.optimizers) o.optimizer.free();
  }
}

export class TentMethod extends Adapting {
  readonly name = "tent";
  constructor(ctx: Context, readonly task: ConvNeXt, optimizer: OptimizerConfig, accumulate: number, gradClip: number | null = null, graph: GraphMode = "off") {
    task.params.train(trainNorm);
    super(ctx, accumulate, [{ model: "task", optimizer: new Optimizer(task.params, optimizer), lr: optimizer.lr }], gradClip, graph);
  }

  /** Mean softmax entropy of the predictions, its backward always (a non-finite loss is gated out of the update). */
  step(b: MicroBatch, _index = 0): StepResult {
    const { ctx, task } = this, C = task.config.numClasses, updates = this.updatesNext;
    const pred = this.scratch.get("pred", [b.B], "i32"), loss = this.scratch.get("loss", [1]), finite = this.scratch.get("finite", [1], "i32");
    const dlogits = this.scratch.get("dlogits", [b.B, C], ctx.storage);
    const enqueue = () => {
      const logits = this.phases.time("task_fwd", () => task.forward(b.task, b.B, b.H, b.W));
      ctx.call("dusa_argmax", pred, logits, b.B, C);
      this.phases.time("loss", () => {
        ctx.call("dusa_entropy_forward", loss, logits, b.B, C);
        ctx.call("dusa_entropy_backward", dlogits, logits, b.B, C, 1 / this.accumulate);
      });
      ctx.call("dusa_all_finite", finite, loss, 1);
      this.phases.time("task_bwd", () => task.backward(dlogits));
      if (updates) this.enqueueUpdate(finite);
    };
    this.runStep(`${b.B}x${b.H}x${b.W}/${b.task.ptr}/${ctx.storage}/${updates ? "update" : "accumulate"}`, enqueue);
    const value = loss.readFloat()[0], isFinite = Number.isFinite(value);
    return { predictions: (pred.read() as Int32Array).slice(0, b.B), loss: value, finite: isFinite, updated: this.settle(isFinite, updates) };
  }
}

export type DusaMethodOptions = {
  settings: DusaSettings;
  adaptTask: AdaptMode;
  taskOptimizer: OptimizerConfig;
  auxOptimizer: OptimizerConfig;
  gradClip?: number | null;
  graph?: GraphMode;
};

export class DusaMethod extends Adapting {
  readonly name = "dusa";
  readonly dusa: DusaStep;
  constructor(ctx: Context, readonly task: ConvNeXt, vae: LatentEncoder, readonly gen: SiT, o: DusaMethodOptions) {
    task.params.train(trainableFor[o.adaptTask]);
    gen.params.train(o.settings.adaptAux ? trainAll : trainNone);
    const optimizers: { model: string; optimizer: Optimizer; lr: number }[] = [];
    if (o.adaptTask !== "none") optimizers.push({ model: "task", optimizer: new Optimizer(task.params, o.taskOptimizer), lr: o.taskOptimizer.lr });
    if (o.settings.adaptAux) optimizers.push({ model: "generative", optimizer: new Optimizer(gen.params, o.auxOptimizer), lr: o.auxOptimizer.lr });
    super(ctx, o.settings.accumulate, optimizers, o.gradClip ?? null, o.graph ?? "off");
    this.dusa = new DusaStep(ctx, task, vae, gen, { ...o.settings, adaptTask: o.adaptTask !== "none" });
  }

  /**
   * One micro-batch: the DUSA step, the predictions made before its update, and (when it ends an accumulation) the
   * update, gated on the device by the loss being finite, so the whole step can be one graph replay.
   */
  step(b: MicroBatch, index: number): StepResult {
    const aux = b.aux;
    if (!aux) throw new Error("dusa: the batch has no aux (VAE) input");
    const { ctx, dusa } = this, C = this.task.config.numClasses, updates = this.updatesNext;
    const pred = this.scratch.get("pred", [b.B], "i32");
    const enqueue = () => {
      dusa.enqueue(b.task, aux, b.B, b.H, b.W, b.auxSize);
      ctx.call("dusa_argmax", pred, dusa.logits, b.B, C);
      const gate = dusa.enqueueFinite();
      if (updates) this.enqueueUpdate(gate);
    };
    dusa.setIndex(index);
    const key = `${b.B}x${b.H}x${b.W}/${b.auxSize}/${b.task.ptr}/${aux.ptr}/${ctx.storage}/${updates ? "update" : "accumulate"}`;
    if (this.runStep(key, enqueue) === "eager") for (const [phase, ms] of Object.entries(dusa.takePhases())) this.phases.add(phase, ms);
    const out = dusa.collect();
    const predictions = (pred.read() as Int32Array).slice(0, b.B);
    const finite = out.terms.every(Number.isFinite);
    return { predictions, loss: out.terms[0], finite, updated: this.settle(finite, updates) };
  }

  free(): void {
    super.free();
    this.dusa.free();
  }
}
