// A tensor as read from (or written to) a checkpoint: its stored dtype, shape and host data. Floating dtypes decode
// to Float32Array, integer and bool dtypes to Int32Array. `data` is decoded on first access and may be a zero-copy
// view of a memory-mapped file that other tensors share: treat it as read-only (copy before modifying).
export type StoredDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";
export type TensorData = Float32Array | Int32Array;

export type StoredTensor = {
  readonly dtype: StoredDtype;
  readonly shape: number[];
  readonly data: TensorData;
};

export const STORED_DTYPES: readonly StoredDtype[] = ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"];

export const dtypeBytes: Record<StoredDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export const isFloatDtype = (dtype: StoredDtype): boolean => dtype === "F32" || dtype === "F16" || dtype === "BF16" || dtype === "F64";

export const isStoredDtype = (value: unknown): value is StoredDtype => typeof value === "string" && (STORED_DTYPES as readonly string[]).includes(value);

export const numelOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const formatShape = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

// A tensor whose data is decoded (and cached) the first time it is read.
export function lazyTensor(dtype: StoredDtype, shape: number[], decode: () => TensorData): StoredTensor {
  let data: TensorData | undefined;
  return {
    dtype,
    shape,
    get data() {
      return (data ??= decode());
    },
  };
}
