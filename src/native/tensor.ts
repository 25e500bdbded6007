// A device buffer with a shape, dtype and memory tag, owned by a Context. Freed explicitly; any use after
// free throws (guard) instead of touching released memory.
import { toArrayBuffer } from "bun:ffi";
import type { Context } from "./context.ts";
import { fromBf16 } from "./bf16.ts";

export type Tag = "param" | "grad" | "optim" | "act" | "workspace" | "data";
export const tags: readonly Tag[] = ["param", "grad", "optim", "act", "workspace", "data"];
// bf16 tensors hold raw bits (the high half of a float32); on the host they are Uint16Array.
export type DType = "f32" | "i32" | "bf16";
export type HostArray = Float32Array | Int32Array | Uint16Array;

export const elementBytes = (dtype: DType): number => (dtype === "bf16" ? 2 : 4);

function hostArray(dtype: DType, size: number): HostArray {
  return dtype === "f32" ? new Float32Array(size) : dtype === "i32" ? new Int32Array(size) : new Uint16Array(size);
}

function hostCopy(dtype: DType, data: ArrayLike<number>, describe: () => string): HostArray {
  if (dtype === "f32") return Float32Array.from(data);
  if (dtype === "i32") return Int32Array.from(data);
  if (!(data instanceof Uint16Array)) throw new Error(`dusa: ${describe()} takes bf16 bits as a Uint16Array (convert with dusa_f32_to_bf16)`);
  return data;
}

function viewOf(dtype: DType, buffer: ArrayBuffer): HostArray {
  return dtype === "f32" ? new Float32Array(buffer) : dtype === "i32" ? new Int32Array(buffer) : new Uint16Array(buffer);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(",")})`;
}

export class Tensor {
  #ptr: number;
  readonly size: number;

  constructor(readonly ctx: Context, ptr: number, readonly shape: readonly number[], readonly dtype: DType, readonly tag: Tag) {
    this.#ptr = ptr;
    this.size = numel(shape);
  }

  get ptr(): number {
    if (this.#ptr === 0) throw new Error(`dusa: use of a freed tensor ${this.describe()}`);
    return this.#ptr;
  }

  get freed(): boolean {
    return this.#ptr === 0;
  }

  get bytes(): number {
    return this.size * elementBytes(this.dtype);
  }

  describe(): string {
    return `${this.dtype}${formatShape(this.shape)}[${this.tag}]`;
  }

  /** Copies the tensor to a new host array. */
  read(): HostArray {
    const host = hostArray(this.dtype, this.size);
    this.ctx.call("dusa_copy_d2h", host, this, this.bytes);
    return host;
  }

  readFloat(): Float32Array {
    if (this.dtype !== "f32") throw new Error(`dusa: readFloat on ${this.describe()}`);
    return this.read() as Float32Array;
  }

  /** The values as float32: f32 as stored, bf16 widened (exact); int tensors refused. */
  readValues(): Float32Array {
    if (this.dtype === "i32") throw new Error(`dusa: readValues on ${this.describe()}`);
    const data = this.read();
    return data instanceof Uint16Array ? fromBf16(data) : (data as Float32Array);
  }

  write(data: ArrayLike<number>): this {
    if (data.length !== this.size) throw new Error(`dusa: writing ${data.length} values into ${this.describe()}`);
    const host = hostCopy(this.dtype, data, () => this.describe());
    this.ctx.call("dusa_copy_h2d", this, host, this.bytes);
    return this;
  }

  /** A sub-tensor of `shape` starting `offset` elements in (no allocation); guarded by this tensor. */
  slice(offset: number, shape: readonly number[]): TensorView {
    const size = numel(shape);
    if (offset < 0 || offset + size > this.size) throw new Error(`dusa: slice [${offset}, ${offset + size}) outside ${this.describe()}`);
    return new TensorView(this, offset, shape);
  }

  /** Zero-copy view of the memory (CPU backend only); invalid after free. */
  hostView(): HostArray {
    if (this.ctx.backend !== "cpu") throw new Error("dusa: view() needs host memory (cpu backend)");
    return viewOf(this.dtype, toArrayBuffer(this.ptr, 0, this.bytes));
  }

  fill(value: number): this {
    if (this.dtype === "bf16") throw new Error(`dusa: fill on ${this.describe()} (dusa_fill writes float32)`);
    this.ctx.call("dusa_fill", this, value, this.size);
    return this;
  }

  free(): void {
    if (this.#ptr === 0) return;
    if (this.ctx.recording) this.ctx.call("dusa_free", this.#ptr); // refused with the recording's error; the tensor stays live
    const ptr = this.#ptr;
    this.#ptr = 0;
    this.ctx.release(this, ptr);
  }

  /** Called by the context when it is destroyed: the memory is gone with it. */
  invalidate(): void {
    this.#ptr = 0;
  }
}

/** A window into a Tensor (a parameter inside the flat parameter block, an activation inside the arena). */
export class TensorView {
  readonly size: number;
  constructor(readonly base: Tensor, readonly offset: number, readonly shape: readonly number[]) {
    this.size = numel(shape);
  }

  get ptr(): number {
    return this.base.ptr + this.offset * elementBytes(this.base.dtype);
  }

  get freed(): boolean {
    return this.base.freed;
  }

  read(): HostArray {
    const host = hostArray(this.base.dtype, this.size);
    this.base.ctx.call("dusa_copy_d2h", host, this, this.size * elementBytes(this.base.dtype));
    return host;
  }

  readFloat(): Float32Array {
    if (this.base.dtype !== "f32") throw new Error(`dusa: readFloat on an ${this.base.dtype} view`);
    return this.read() as Float32Array;
  }

  /** The values as float32: f32 as stored, bf16 widened (exact); int views refused. */
  readValues(): Float32Array {
    if (this.base.dtype === "i32") throw new Error("dusa: readValues on an i32 view");
    const data = this.read();
    return data instanceof Uint16Array ? fromBf16(data) : (data as Float32Array);
  }

  write(data: ArrayLike<number>): this {
    if (data.length !== this.size) throw new Error(`dusa: writing ${data.length} values into a view of shape ${formatShape(this.shape)}`);
    const host = hostCopy(this.base.dtype, data, () => `a ${this.base.dtype} view of shape ${formatShape(this.shape)}`);
    this.base.ctx.call("dusa_copy_h2d", this, host, this.size * elementBytes(this.base.dtype));
    return this;
  }
}
