// A device buffer with a shape, dtype and memory tag, owned by a Context. Freed explicitly; any use after
// free throws (guard) instead of touching released memory.
import { toArrayBuffer } from "bun:ffi";
import type { Context } from "./context.ts";

export type Tag = "param" | "grad" | "optim" | "act" | "workspace" | "data";
export const tags: readonly Tag[] = ["param", "grad", "optim", "act", "workspace", "data"];
export type DType = "f32" | "i32";
export type HostArray = Float32Array | Int32Array;

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
    return this.size * 4;
  }

  describe(): string {
    return `${this.dtype}${formatShape(this.shape)}[${this.tag}]`;
  }

  /** Copies the tensor to a new host array. */
  read(): HostArray {
    const host = this.dtype === "f32" ? new Float32Array(this.size) : new Int32Array(this.size);
    this.ctx.call("dusa_copy_d2h", host, this, this.bytes);
    return host;
  }

  readFloat(): Float32Array {
    if (this.dtype !== "f32") throw new Error(`dusa: readFloat on ${this.describe()}`);
    return this.read() as Float32Array;
  }

  write(data: ArrayLike<number>): this {
    if (data.length !== this.size) throw new Error(`dusa: writing ${data.length} values into ${this.describe()}`);
    const host = this.dtype === "f32" ? Float32Array.from(data) : Int32Array.from(data);
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
    const buffer = toArrayBuffer(this.ptr, 0, this.bytes);
    return this.dtype === "f32" ? new Float32Array(buffer) : new Int32Array(buffer);
  }

  fill(value: number): this {
    this.ctx.call("dusa_fill", this, value, this.size);
    return this;
  }

  free(): void {
    if (this.#ptr === 0) return;
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
    return this.base.ptr + this.offset * 4;
  }

  get freed(): boolean {
    return this.base.freed;
  }

  read(): HostArray {
    const host = this.base.dtype === "f32" ? new Float32Array(this.size) : new Int32Array(this.size);
    this.base.ctx.call("dusa_copy_d2h", host, this, this.size * 4);
    return host;
  }

  readFloat(): Float32Array {
    if (this.base.dtype !== "f32") throw new Error(`dusa: readFloat on an ${this.base.dtype} view`);
    return this.read() as Float32Array;
  }

  write(data: ArrayLike<number>): this {
    if (data.length !== this.size) throw new Error(`dusa: writing ${data.length} values into a view of shape ${formatShape(this.shape)}`);
    const host = this.base.dtype === "f32" ? Float32Array.from(data) : Int32Array.from(data);
    this.base.ctx.call("dusa_copy_h2d", this, host, this.size * 4);
    return this;
  }
}
