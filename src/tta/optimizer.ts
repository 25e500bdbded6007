// Optimizers over a model's Parameters: Adam/AdamW (torch semantics) and SGD with momentum. Updates run over the
// contiguous ranges of trainable parameters; the state is one allocation per kind (m and v, tag optim) holding
// those ranges packed end to end, so frozen parameters cost no state. snapshot()/restore() give episodic TTA its
// reset: a packed copy of the trainable values, and of m and v only after an update (before one they are zero).
// The update count lives on the device (the *_counted ops read it), so an update can be recorded into a graph and
// skipped there by a gate (a non-finite loss) without the host knowing beforehand.
import type { Tensor } from "../native/index.ts";
import type { Parameters } from "../nn/params.ts";

export type OptimizerConfig =
  | { name: "adam" | "adamw"; lr: number; betas: [number, number]; eps: number; weightDecay: number }
  | { name: "sgd"; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean };

type Range = { offset: number; size: number; packed: number }; // offset in the parameter table, offset in the state

export class Optimizer {
  readonly ranges: Range[];
  #count: Tensor;
  #m: Tensor | null = null;
  #v: Tensor | null = null;
  #snapshot: { values: Tensor; m: Tensor | null; v: Tensor | null; step: number } | null = null;

  constructor(readonly params: Parameters, readonly config: OptimizerConfig) {
    this.ranges = [];
    for (const e of params.table.entries) {
      if (!params.trainable(e)) continue;
      const last = this.ranges[this.ranges.length - 1];
      if (last && last.offset + last.size === e.offset) last.size += e.size;
      else this.ranges.push({ offset: e.offset, size: e.size, packed: last ? last.packed + last.size : 0 });
    }
    if (this.ranges.length === 0) throw new Error("optimizer: nothing is trainable");
    if (!params.grads) throw new Error("optimizer: the parameters have no gradients (call params.train first)");
    const ctx = params.ctx, n = this.trainableCount;
    this.#count = ctx.alloc([1], "optim", "i32").fill(0);
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

  /** Updates made so far (read from the device). */
  get step(): number {
    return (this.#count.read() as Int32Array)[0];
  }

  set step(n: number) {
    this.#count.write([n]);
  }

  /**
   * One update from the accumulated gradients, then zeroes them. With a gate (a device int32, e.g. dusa_all_finite
   * of the loss), a zero gate leaves parameters, state and the count as they were; the gradients are zeroed either way.
   * Nothing here reads the device, so the update can be recorded into a graph.
   */
  update(lr = this.config.lr, gate: Tensor | null = null): void {
    const { ctx, values, grads } = { ctx: this.params.ctx, values: this.params.values, grads: this.params.grads! };
    const c = this.config, count = this.#count;
    for (const r of this.ranges) {
      const at = (t: Tensor) => t.slice(r.offset, [r.size]), state = (t: Tensor | null) => (t ? t.slice(r.packed, [r.size]) : null);
      if (c.name === "sgd") {
        ctx.call("dusa_sgd_step_counted", at(values), at(grads), state(this.#m), r.size, lr, c.momentum, c.dampening, c.weightDecay, c.nesterov ? 1 : 0, count, gate);
      } else {
        ctx.call("dusa_adam_step_counted", at(values), at(grads), state(this.#m), state(this.#v), r.size, lr, c.betas[0], c.betas[1], c.eps, c.weightDecay, c.name === "adamw" ? 1 : 0, count, gate);
      }
    }
    ctx.call("dusa_counter_add", count, 1, gate);
    this.params.zeroGrads();
  }

  /** Copies the trainable ranges between the parameter table's layout and a packed buffer. */
  #copyRanges(direction: "pack" | "unpack", packed: Tensor): void {
    const ctx = this.params.ctx, table = this.params.values;
    for (const r of this.ranges) {
      const [dst, src] = direction === "pack" ? [packed.slice(r.packed, [r.size]), table.slice(r.offset, [r.size])] : [table.slice(r.offset, [r.size]), packed.slice(r.packed, [r.size])];
      ctx.call("dusa_copy_d2d", dst, src, r.size * 4);
    }
  }

  /** Keeps a copy of the trainable parameters and the optimizer state (episodic TTA restores it before each task). */
  snapshot(): void {
    const ctx = this.params.ctx;
    this.#freeSnapshot();
    const values = ctx.alloc([this.trainableCount], "param");
    this.#copyRanges("pack", values);
    const step = this.step;
    const copy = (t: Tensor | null) => {
      if (!t || step === 0) return null; // before the first update m and v are all zero
      const c = ctx.alloc([t.size], t.tag);
      ctx.call("dusa_copy_d2d", c, t, t.bytes);
      return c;
    };
    this.#snapshot = { values, m: copy(this.#m), v: copy(this.#v), step };
  }

  restore(): void {
    const s = this.#snapshot;
    if (!s) throw new Error("optimizer: restore without a snapshot");
    const ctx = this.params.ctx;
    this.#copyRanges("unpack", s.values);
    for (const [state, saved] of [[this.#m, s.m], [this.#v, s.v]] as const) {
      if (!state) continue;
      if (saved) ctx.call("dusa_copy_d2d", state, saved, saved.bytes);
      else state.fill(0);
    }
    this.step = s.step;
    this.params.zeroGrads();
  }

  /** The optimizer state as host arrays, the trainable ranges packed (for checkpoints). */
  state(): { step: number; m: Float32Array | null; v: Float32Array | null } {
    return { step: this.step, m: this.#m?.readFloat() ?? null, v: this.#v?.readFloat() ?? null };
  }

  /** Loads state() output; arrays in the parameter table's full layout (older checkpoints) are accepted too. */
  load(state: { step: number; m: ArrayLike<number> | null; v: ArrayLike<number> | null }): void {
    this.step = state.step;
    for (const [name, t, data] of [["m", this.#m, state.m], ["v", this.#v, state.v]] as const) {
      if (!t || !data) continue;
      t.write(this.#packed(name, data));
    }
  }

  #packed(name: string, data: ArrayLike<number>): ArrayLike<number> {
    const n = this.trainableCount, total = this.params.table.total;
    if (data.length === n) return data;
    if (data.length !== total) throw new Error(`optimizer: state '${name}' has ${data.length} values; expected ${n} (the trainable parameters) or ${total} (the whole parameter table)`);
    const packed = new Float32Array(n);
    for (const r of this.ranges) for (let i = 0; i < r.size; i++) packed[r.packed + i] = data[r.offset + i];
    return packed;
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
    this.#count.free();
  }
}
