// Optimizers over a model's Parameters: Adam/AdamW (torch semantics) and SGD with momentum. State is one
// allocation per kind (m and v, tag optim) in the parameter table's layout; updates run over the contiguous
// ranges of trainable parameters. snapshot()/restore() give episodic TTA its reset of parameters and state.
import type { Tensor } from "../native/index.ts";
import type { Parameters } from "../nn/params.ts";

export type OptimizerConfig =
  | { name: "adam" | "adamw"; lr: number; betas: [number, number]; eps: number; weightDecay: number }
  | { name: "sgd"; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean };

type Range = { offset: number; size: number };

export class Optimizer {
  step = 0;
  readonly ranges: Range[];
  #m: Tensor | null = null;
  #v: Tensor | null = null;
  #snapshot: { values: Tensor; m: Tensor | null; v: Tensor | null; step: number } | null = null;

  constructor(readonly params: Parameters, readonly config: OptimizerConfig) {
    this.ranges = [];
    for (const e of params.table.entries) {
      if (!params.trainable(e)) continue;
      const last = this.ranges[this.ranges.length - 1];
      if (last && last.offset + last.size === e.offset) last.size += e.size;
      else this.ranges.push({ offset: e.offset, size: e.size });
    }
    if (this.ranges.length === 0) throw new Error("optimizer: nothing is trainable");
    if (!params.grads) throw new Error("optimizer: the parameters have no gradients (call params.train first)");
    const ctx = params.ctx, n = params.table.total;
    this.#m = ctx.alloc([n], "optim").fill(0);
    if (config.name !== "sgd") this.#v = ctx.alloc([n], "optim").fill(0);
    else if (config.momentum === 0) {
      this.#m.free();
      this.#m = null;
    }
  }

  get trainableCount(): number {
    return this.ranges.reduce((n, r) => n + r.size, 0);
  }

  /** One update from the accumulated gradients, then zeroes them. */
  update(lr = this.config.lr): void {
    const { ctx, values, grads } = { ctx: this.params.ctx, values: this.params.values, grads: this.params.grads! };
    this.step++;
    const c = this.config;
    for (const r of this.ranges) {
      const at = (t: Tensor | null) => (t ? t.slice(r.offset, [r.size]) : null);
      if (c.name === "sgd") {
        ctx.call("dusa_sgd_step", at(values), at(grads), at(this.#m), r.size, lr, c.momentum, c.dampening, c.weightDecay, c.nesterov ? 1 : 0, this.step);
      } else {
        ctx.call("dusa_adam_step", at(values), at(grads), at(this.#m), at(this.#v), r.size, lr, c.betas[0], c.betas[1], c.eps, c.weightDecay, c.name === "adamw" ? 1 : 0, this.step);
      }
    }
    this.params.zeroGrads();
  }

  /** Keeps a copy of the parameters and optimizer state (episodic TTA restores it before each task). */
  snapshot(): void {
    const ctx = this.params.ctx;
    const copy = (t: Tensor | null) => {
      if (!t) return null;
      const c = ctx.alloc([t.size], t.tag);
      ctx.call("dusa_copy_d2d", c, t, t.bytes);
      return c;
    };
    this.#freeSnapshot();
    this.#snapshot = { values: copy(this.params.values)!, m: copy(this.#m), v: copy(this.#v), step: this.step };
  }

  restore(): void {
    const s = this.#snapshot;
    if (!s) throw new Error("optimizer: restore without a snapshot");
    const ctx = this.params.ctx;
    ctx.call("dusa_copy_d2d", this.params.values, s.values, s.values.bytes);
    if (s.m && this.#m) ctx.call("dusa_copy_d2d", this.#m, s.m, s.m.bytes);
    if (s.v && this.#v) ctx.call("dusa_copy_d2d", this.#v, s.v, s.v.bytes);
    this.step = s.step;
    this.params.zeroGrads();
  }

  /** The optimizer state as host arrays (for continual-mode checkpoints). */
  state(): { step: number; m: Float32Array | null; v: Float32Array | null } {
    return { step: this.step, m: this.#m?.readFloat() ?? null, v: this.#v?.readFloat() ?? null };
  }

  load(state: { step: number; m: ArrayLike<number> | null; v: ArrayLike<number> | null }): void {
    this.step = state.step;
    if (state.m && this.#m) this.#m.write(state.m);
    if (state.v && this.#v) this.#v.write(state.v);
  }

  #freeSnapshot(): void {
    if (!this.#snapshot) return;
    this.#snapshot.values.free();
    this.#snapshot.m?.free();
    this.#snapshot.v?.free();
    this.#snapshot = null;
  }

  free(): void {
    this.#freeSnapshot();
    this.#m?.free();
    this.#v?.free();
    this.#m = this.#v = null;
  }
}
