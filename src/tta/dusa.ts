// One DUSA micro-batch (DESIGN §2.1): the task model's top hypotheses are weighted by the softmax of their
// L2-normalised logits, the generative model predicts under each hypothesis from one noised latent per image,
// and the weighted prediction is scored against the target. The task model gets gradient only through the
// weights; the generative model's backward runs only when it is adapted.
// enqueue() issues the whole micro-batch without reading anything back (its random streams are picked by a step index
// in device memory, set before each micro-batch), so it can be recorded as a graph and replayed; collect() then reads
// the results.
import { elementBytes, type Context, type DType, type Tensor, type TensorView } from "../native/index.ts";
import type { ConvNeXt } from "../models/convnext.ts";
import type { SiT } from "../models/sit.ts";
import { ddpmCoefficients } from "./schedule.ts";

type Ptr = TensorView | Tensor | { ptr: number };

/** The frozen VAE as DUSA uses it: posterior mean × scaling factor, (B, latentChannels, h, w). */
export interface LatentEncoder {
  encodeMean(x: Ptr, B: number, H: number, W: number): TensorView;
}

export type DusaSettings = {
  family: "sit" | "dit"; // sit: flow, v = eps − z0, t in [0, 1]; dit: DDPM eps-prediction at integer step t
  topk: number;
  randBudget: number;
  temperature: number;
  t: number;
  loss: { mse: number; normL2: number; cosine: number };
  accumulate: number; // the loss is divided by it (gradients of `accumulate` micro-batches add up to one update)
  adaptTask: boolean;
  adaptAux: boolean;
  seed: number;
};

/**
 * Test hook: use these instead of drawing the classes and the noise (PyTorch-reference parity tests); `capture`
 * returns the noised latents and the generative model's predictions (the explain pictures).
 */
export type Injected = { selected?: ArrayLike<number>; eps?: ArrayLike<number>; capture?: boolean };

/** x_t (B, D) and the prediction under each hypothesis (B·K, D): v for sit, eps for dit. */
export type Captured = { xt: Float32Array; pred: Float32Array };

export type DusaOutput = { logits: TensorView; terms: Float32Array; selected: Int32Array; weights: Float32Array; captured?: Captured };

const SELECT_STREAM = 0x5e1ec7n, NOISE_STREAM = 0x40153n;

export class DusaStep {
  readonly K: number;
  readonly classes: number;
  #buffers = new Map<string, Tensor>();
  #batch = 0;
  #storage: "f32" | "bf16" = "f32";
  #phases: Record<string, number> = {};
  #clock = 0;
  #index: Tensor; // the micro-batch's number in its task, on the device: it picks the random streams
  #logits: TensorView | null = null; // the task model's logits of the last enqueued micro-batch

  /** Milliseconds per phase since the last call: task_fwd, select, vae, gen_fwd, loss, task_bwd, gen_bwd. */
  takePhases(): Record<string, number> {
    const out = this.#phases;
    this.#phases = {};
    return out;
  }

  #lap(phase: string): void {
    if (this.ctx.recording) return;
    if (this.ctx.backend !== "cpu") this.ctx.sync(); // a device phase ends when its kernels do
    const now = performance.now();
    this.#phases[phase] = (this.#phases[phase] ?? 0) + now - this.#clock;
    this.#clock = now;
  }

  constructor(readonly ctx: Context, readonly task: ConvNeXt, readonly vae: LatentEncoder, readonly gen: SiT, readonly settings: DusaSettings) {
    const s = settings;
    this.K = s.topk + s.randBudget;
    this.classes = task.config.numClasses;
    if (s.topk < 1 || s.randBudget < 0 || this.K > this.classes) throw new Error(`dusa: topk ${s.topk} + rand_budget ${s.randBudget} must be between 1 and the ${this.classes} classes`);
    if (gen.config.numClasses !== this.classes) throw new Error(`dusa: the generative model has ${gen.config.numClasses} classes, the task model ${this.classes}`);
    if (s.family === "dit" && !gen.config.learnSigma) throw new Error("dusa: family dit needs a DiT (learn_sigma, 8 output channels)");
    if (s.family === "sit" && gen.config.learnSigma) throw new Error("dusa: family sit needs a SiT (4 output channels), got a DiT");
    this.#index = ctx.alloc([1], "act", "i32").fill(0);
  }

  /** A buffer of this batch size, in the storage dtype unless said (saved norms, class ids and the fp32 noise). */
  #buf(name: string, shape: number[], dtype: DType = this.ctx.storage): Tensor {
    let t = this.#buffers.get(name);
    if (!t) {
      t = this.ctx.alloc(shape, "act", dtype);
      this.#buffers.set(name, t);
    }
    return t;
  }

  /**
   * The DUSA head — normalise, select, weights, the loss and their backward, over B x C and B·K x D values — runs in
   * fp32 in either storage (on widened copies in bf16), as autocast keeps softmax and losses in fp32: its small
   * gradients come out of heavy cancellation (normalise, softmax), which bf16 storage of them would swamp.
   */
  #head(fn: () => void): void {
    const storage = this.ctx.storage;
    if (storage === "f32") return fn();
    this.ctx.storage = "f32";
    try {
      fn();
    } finally {
      this.ctx.storage = storage;
    }
  }

  /** A storage-dtype value as fp32: itself in fp32 storage, a widened copy in bf16. */
  #widened(name: string, t: Tensor | TensorView, shape: number[]): Tensor | TensorView {
    if (this.ctx.storage === "f32") return t;
    const wide = this.#buf(name, shape, "f32");
    this.ctx.call("dusa_bf16_to_f32", wide, t, wide.size);
    return wide;
  }

  /** The value of an fp32 buffer in the storage dtype: itself in fp32, a bf16 cast of it otherwise. */
  #stored(name: string, f32: Tensor): Tensor {
    if (this.ctx.storage === "f32") return f32;
    const t = this.#buf(name, [...f32.shape]);
    this.ctx.call("dusa_f32_to_bf16", t, f32, f32.size);
    return t;
  }

  #plan(B: number): void {
    if (this.#batch === B && this.#storage === this.ctx.storage) return;
    this.#storage = this.ctx.storage;
    for (const t of this.#buffers.values()) t.free();
    this.#buffers.clear();
    this.#batch = B;
  }

  /**
   * Forward and backward of one micro-batch. xTask (B, C, H, W) normalised for the task model; xAux (B, C', auxSize,
   * auxSize) in [-1, 1] at the VAE's resolution. `step` numbers the micro-batch in its task (it picks the random streams).
   * Gradients accumulate into the trainable parameters; the caller updates every `accumulate` micro-batches.
   */
  run(xTask: Ptr, xAux: Ptr, B: number, H: number, W: number, auxSize: number, step: number, inject: Injected = {}): DusaOutput {
    this.setIndex(step);
    const captured = this.enqueue(xTask, xAux, B, H, W, auxSize, inject);
    return { ...this.collect(), captured };
  }

  /** Sets the step index (the micro-batch's number in its task) that the next enqueue, or replay of one, uses. */
  setIndex(step: number): void {
    this.#index.write([step]);
  }

  /** The loss terms {total, mse, norm_l2, cosine} of the last micro-batch, on the device. */
  #terms(): Tensor {
    return this.#buf("terms", [4], "f32");
  }

  /**
   * Issues one micro-batch (see run) at the step index set by setIndex, reading nothing back; the first call for a
   * batch size allocates its buffers, later ones can be recorded into a graph. Results: collect().
   * `inject` is for tests and pictures (it reads and writes the host, so it cannot be recorded).
   */
  enqueue(xTask: Ptr, xAux: Ptr, B: number, H: number, W: number, auxSize: number, inject: Injected = {}): Captured | undefined {
    const { ctx, task, gen, settings: s, K, classes: C } = this;
    this.#plan(B);
    const g = gen.config, S = g.inputSize, lat = g.inChannels, D = lat * S * S, BK = B * K;
    const outC = g.learnSigma ? 2 * lat : lat;

    // 1-4: task forward, normalised logits, class selection, weights (the head: fp32, see #head)
    this.#clock = performance.now();
    const logits = task.forward(xTask, B, H, W);
    this.#lap("task_fwd");
    const logits32 = this.#widened("logits.f32", logits, [B, C]);
    const normed = this.#buf("normed", [B, C], "f32"), norm = this.#buf("norm", [B], "f32");
    const selected = this.#buf("selected", [B, K], "i32");
    const wlog = this.#buf("wlog", [B, K], "f32"), w = this.#buf("w", [B, K], "f32");
    this.#head(() => {
      ctx.call("dusa_l2norm_forward", normed, norm, logits32, B, C, 1e-12);
      if (inject.selected) selected.write(inject.selected);
      else ctx.call("dusa_select_classes_indexed", selected, normed, logits32, B, C, s.topk, s.randBudget, s.temperature, BigInt(s.seed) ^ SELECT_STREAM, 0, this.#index, K * B);
      ctx.call("dusa_gather_forward", wlog, normed, selected, B, C, K);
      ctx.call("dusa_softmax_forward", w, wlog, B, K, 1);
    });
    this.#lap("select");

    // 5-6: latent, one noise and one time per image, the noised latent and the target
    const z0 = this.vae.encodeMean(xAux, B, auxSize, auxSize);
    this.#lap("vae");
    // the noise and its mixing with the latent in fp32 (the latent widened in bf16 storage), then stored
    const eps = this.#buf("eps", [B, D], "f32"), xt32 = this.#buf("xt.f32", [B, D], "f32"), target32 = this.#buf("target.f32", [B, D], "f32");
    if (inject.eps) eps.write(inject.eps);
    else ctx.call("dusa_rng_normal_indexed", eps, B * D, BigInt(s.seed) ^ NOISE_STREAM, 0, this.#index, Math.ceil((B * D) / 4), 0, 1);
    const [a, b] = s.family === "sit" ? [1 - s.t, s.t] : ddpmCoefficients(s.t);
    const z32 = ctx.storage === "f32" ? z0 : this.#buf("z0.f32", [B, D], "f32");
    if (z32 !== z0) ctx.call("dusa_bf16_to_f32", z32, z0, B * D);
    ctx.call("dusa_copy_d2d", xt32, z32, B * D * 4);
    ctx.call("dusa_scale", xt32, a, B * D);
    ctx.call("dusa_axpy", xt32, eps, b, B * D);
    ctx.call("dusa_copy_d2d", target32, eps, B * D * 4);
    if (s.family === "sit") ctx.call("dusa_axpy", target32, z32, -1, B * D); // v = eps − z0
    const xt = this.#stored("xt", xt32), E = elementBytes(ctx.storage);

    // 7: the generative model on B·K samples: x_t repeated, labels = the selected classes, same t
    const xtRep = this.#buf("xt_rep", [BK, lat, S, S]), tRep = this.#buf("t_rep", [BK], "f32").fill(s.t);
    for (let i = 0; i < B; i++) for (let k = 0; k < K; k++) ctx.call("dusa_copy_d2d", xtRep.slice((i * K + k) * D, [D]), xt.slice(i * D, [D]), D * E);
    const pred = gen.forward(xtRep, tRep, selected, BK, { training: s.adaptAux });
    let p: Tensor | TensorView = pred;
    if (outC !== lat) {
      // DiT: the first 4 of 8 channels are the eps prediction (the rest is the learned sigma)
      const eps4 = this.#buf("pred_eps", [BK, D]);
      for (let n = 0; n < BK; n++) ctx.call("dusa_copy_d2d", eps4.slice(n * D, [D]), pred.base.slice(pred.offset + n * outC * S * S, [D]), D * E);
      p = eps4;
    }
    this.#lap("gen_fwd");
    const captured = inject.capture ? { xt: xt.readValues(), pred: p.readValues() } : undefined;

    // 8: loss and its gradients to the weights and (when the generative model adapts) to every prediction
    const terms = this.#terms();
    const p32 = this.#widened("pred.f32", p, [BK, D]);
    const dw = this.#buf("dw", [B, K], "f32");
    const dp32 = s.adaptAux ? this.#buf("dp.f32", [BK, D], "f32") : null;
    this.#head(() => ctx.call("dusa_flow_loss", terms, dw, dp32, w, p32, target32, B, K, D, s.loss.mse, s.loss.normL2, s.loss.cosine, 1 / s.accumulate));
    this.#lap("loss");

    // 9: backward — task model through the weights only; generative model only when adapted
    if (s.adaptTask) {
      const dwlog = this.#buf("dwlog", [B, K], "f32"), dnormed = this.#buf("dnormed", [B, C], "f32"), dlogits32 = this.#buf("dlogits.f32", [B, C], "f32");
      this.#head(() => {
        ctx.call("dusa_softmax_backward", dwlog, dw, w, B, K, 1);
        ctx.call("dusa_gather_backward", dnormed, dwlog, selected, B, C, K);
        ctx.call("dusa_l2norm_backward", dlogits32, dnormed, logits32, norm, B, C, 1e-12);
      });
      task.backward(this.#stored("dlogits", dlogits32));
      this.#lap("task_bwd");
    }
    if (s.adaptAux && dp32) {
      const dp = this.#stored("dp", dp32);
      let dpred: Ptr = dp;
      if (outC !== lat) {
        const full = this.#zeroed("dpred", [BK, outC, S, S]); // the sigma half of each prediction gets no gradient
        for (let n = 0; n < BK; n++) ctx.call("dusa_copy_d2d", full.slice(n * outC * S * S, [D]), dp.slice(n * D, [D]), D * E);
        dpred = full;
      }
      gen.backward(dpred);
      this.#lap("gen_bwd");
    }
    this.#logits = logits;
    return captured;
  }

  /** The task model's logits of the last enqueued micro-batch (a device view, valid until the next one). */
  get logits(): TensorView {
    if (!this.#logits) throw new Error("dusa: no micro-batch has been enqueued");
    return this.#logits;
  }

  /** The last enqueued micro-batch's results: its logits (on the device), loss terms, selections and weights. */
  collect(): DusaOutput {
    const logits = this.logits, terms = this.#terms().readFloat();
    return { logits, terms, selected: this.#buffers.get("selected")!.read() as Int32Array, weights: this.#buffers.get("w")!.readValues() };
  }

  /** Issues the finiteness test of the last micro-batch's loss terms: a device int32 [1], 1 when all are finite. */
  enqueueFinite(): Tensor {
    const flag = this.#buf("finite", [1], "i32");
    this.ctx.call("dusa_all_finite", flag, this.#terms(), 4);
    return flag;
  }

  /** A storage-dtype buffer zeroed when allocated: only parts of it are ever written. */
  #zeroed(name: string, shape: number[]): Tensor {
    const fresh = !this.#buffers.has(name);
    const t = this.#buf(name, shape);
    if (fresh) t.write(t.dtype === "bf16" ? new Uint16Array(t.size) : new Float32Array(t.size));
    return t;
  }

  free(): void {
    for (const t of this.#buffers.values()) t.free();
    this.#buffers.clear();
    this.#batch = 0;
    this.#index.free();
  }
}
