// Parameters llm.c style: a table of named tensors laid out in one flat block; values, gradients and optimizer
// state are each one allocation of that layout. Roles decide what an adaptation mode trains.
import type { Context, Tensor, TensorView } from "../native/index.ts";
import { formatShape, numel } from "../native/index.ts";

/** weight/bias of linear and conv layers; norm = affine of a normalisation layer; scale = layer scale (gamma);
 * embedding = lookup table; fixed = never trained (sin-cos positional embedding); lora = low-rank adapter. */
export type Role = "weight" | "bias" | "norm" | "scale" | "embedding" | "fixed" | "lora";
export type ParamInfo = { name: string; shape: number[]; offset: number; size: number; role: Role };

export class ParamTable {
  readonly entries: ParamInfo[] = [];
  readonly byName = new Map<string, ParamInfo>();
  total = 0;

  add(name: string, shape: number[], role: Role): ParamInfo {
    if (this.byName.has(name)) throw new Error(`parameter table: duplicate name ${name}`);
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) throw new Error(`parameter table: ${name} has bad shape ${formatShape(shape)}`);
    const info = { name, shape, offset: this.total, size: numel(shape), role };
    this.entries.push(info);
    this.byName.set(name, info);
    this.total += info.size;
    return info;
  }

  get(name: string): ParamInfo {
    const info = this.byName.get(name);
    if (!info) throw new Error(`parameter table: no parameter named ${name}`);
    return info;
  }

  count(filter: (p: ParamInfo) => boolean = () => true): number {
    return this.entries.filter(filter).reduce((n, p) => n + p.size, 0);
  }
}

export type Trainable = (p: ParamInfo) => boolean;
export const trainNone: Trainable = () => false;
export const trainAll: Trainable = (p) => p.role !== "fixed" && p.role !== "embedding" && p.role !== "lora";
export const trainNorm: Trainable = (p) => p.role === "norm";
export const trainLora: Trainable = (p) => p.role === "lora";

/**
 * The values of a table in one `param` allocation (fp32 master weights), on demand its gradients in one `grad`
 * allocation, and in bf16 storage a bf16 shadow of the values (one more `param` allocation) for the ops' weight
 * arguments: `w()` gives the weight as the ops read it, refreshed from the masters by `refreshShadow()`, which each
 * model's forward calls first (so an update or a load is never missed).
 */
export class Parameters {
  readonly values: Tensor;
  grads: Tensor | null = null;
  trainable: Trainable = trainNone;
  #shadow: Tensor | null = null;

  constructor(readonly ctx: Context, readonly table: ParamTable) {
    this.values = ctx.alloc([table.total], "param").fill(0);
  }

  /** The fp32 master value of a parameter (norm weights, biases, scales: the ops' float arguments). */
  p(name: string): TensorView {
    const info = this.table.get(name);
    return this.values.slice(info.offset, info.shape);
  }

  /** A weight as the ops' dusa_act weight arguments read it: the master in fp32 storage, the bf16 shadow in bf16. */
  w(name: string): TensorView {
    if (this.ctx.storage === "f32") return this.p(name);
    if (!this.#shadow) throw new Error(`parameters: ${name} read in bf16 storage before refreshShadow()`);
    const info = this.table.get(name);
    return this.#shadow.slice(info.offset, info.shape);
  }

  /** In bf16 storage, rounds every master value into the shadow (allocated the first time); nothing in fp32. */
  refreshShadow(): void {
    if (this.ctx.storage === "f32") return;
    this.#shadow ??= this.ctx.alloc([this.table.total], "param", "bf16");
    this.ctx.call("dusa_f32_to_bf16", this.#shadow, this.values, this.table.total);
  }

  /** The gradient of a parameter, or null when it is frozen (ops then skip its computation). */
  g(name: string): TensorView | null {
    const info = this.table.get(name);
    if (!this.grads || !this.trainable(info)) return null;
    return this.grads.slice(info.offset, info.shape);
  }

  /** Selects what is trained; allocates (zeroed) gradients the first time anything is. */
  train(trainable: Trainable): void {
    this.trainable = trainable;
    if (!this.grads && this.table.entries.some(trainable)) this.grads = this.ctx.alloc([this.table.total], "grad").fill(0);
  }

  zeroGrads(): void {
    this.grads?.fill(0);
  }

  /** Copies tensors by name; every entry must match its parameter's shape exactly. */
  set(tensors: Iterable<[string, { shape: readonly number[]; data: ArrayLike<number> }]>): void {
    for (const [name, t] of tensors) {
      const info = this.table.get(name);
      if (numel(t.shape) !== info.size || t.shape.length !== info.shape.length || t.shape.some((d, i) => d !== info.shape[i]))
        throw new Error(`parameter ${name}: expected shape ${formatShape(info.shape)}, got ${formatShape(t.shape)}`);
      this.p(name).write(t.data);
    }
  }

  /** Reads every parameter to host memory, by name. */
  get(): Map<string, Float32Array> {
    const all = this.values.read() as Float32Array;
    return new Map(this.table.entries.map((e) => [e.name, all.slice(e.offset, e.offset + e.size)]));
  }

  free(): void {
    this.values.free();
    this.grads?.free();
    this.grads = null;
    this.#shadow?.free();
    this.#shadow = null;
  }
}
