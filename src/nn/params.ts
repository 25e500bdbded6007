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

/** The values of a table in one `param` allocation, and on demand its gradients in one `grad` allocation. */
export class Parameters {
  readonly values: Tensor;
  grads: Tensor | null = null;
  trainable: Trainable = trainNone;

  constructor(readonly ctx: Context, readonly table: ParamTable) {
    this.values = ctx.alloc([table.total], "param").fill(0);
  }

  p(name: string): TensorView {
    const info = this.table.get(name);
    return this.values.slice(info.offset, info.shape);
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
  }
}
