// Strided views (torch's storage offset + strides) made contiguous.
import { numelOf, type TensorData } from "./tensor.ts";

// Row-major contiguous, ignoring the strides of size-1 dims (torch does the same).
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

// The index of the last element the view reaches (offset for an empty or 0-d view).
export function lastIndexOf(offset: number, shape: readonly number[], stride: readonly number[]): number {
  return shape.reduce((last, size, d) => last + (size - 1) * stride[d], offset);
}

// Copies the view (offset, shape, stride) of `source` into a new contiguous array of the same type.
export function gatherStrided<T extends TensorData>(source: T, offset: number, shape: readonly number[], stride: readonly number[]): T {
  const n = numelOf(shape);
  const out = (source instanceof Float32Array ? new Float32Array(n) : new Int32Array(n)) as T;
  if (n === 0) return out;
  const rank = shape.length;
  if (rank === 0) {
    out[0] = source[offset];
    return out;
  }
  const inner = shape[rank - 1], innerStride = stride[rank - 1];
  const index = new Array<number>(rank).fill(0);
  let base = offset;
  for (let o = 0; o < n; o += inner) {
    for (let i = 0; i < inner; i++) out[o + i] = source[base + i * innerStride];
    for (let d = rank - 2; d >= 0; d--) {
      base += stride[d];
      if (++index[d] < shape[d]) break;
      base -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
