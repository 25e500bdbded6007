// Conversions between stored little-endian tensor bytes and host arrays (Float32Array / Int32Array).
// Aligned F32 and I32 bytes are returned as zero-copy views; everything else is converted into a new array.
// F32 -> F16 / BF16 rounds to nearest even, like PyTorch's .half() / .bfloat16().
import { CheckpointError } from "./checkpoint-error.ts";
import { dtypeBytes, isFloatDtype, type StoredDtype, type TensorData } from "./tensor.ts";

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let halfTable: Float32Array | undefined;

// All 65536 F16 values as F32 (256 KB, built on first use).
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
    if (exponent === 0) halfTable[h] = sign * 2 ** -24 * fraction;
    else if (exponent === 31) halfTable[h] = fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else halfTable[h] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return halfTable;
}

export const halfBitsToFloat = (bits: number): number => halfToFloatTable()[bits & 0xffff];

// A view of `bytes` as `Type`, copying into fresh (aligned) memory only when the bytes are misaligned.
function alignedView<T>(bytes: Uint8Array, width: number, make: (buffer: ArrayBuffer, offset: number, length: number) => T): T {
  const count = bytes.byteLength / width;
  if (bytes.byteOffset % width === 0) return make(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  return make(new Uint8Array(bytes).buffer, 0, count); // a copy (Buffer.slice would not copy)
}

// Decodes `count` elements of `dtype` from `bytes` (exactly count * width bytes); errors name the file and tensor.
export function decodeTensorBytes(file: string, tensor: string, dtype: StoredDtype, bytes: Uint8Array, count: number): TensorData {
  const fail = (detail: string) => new CheckpointError(file, `tensor '${tensor}': ${detail}`);
  if (!littleEndianHost) throw fail("big-endian hosts are not supported (checkpoints are little-endian)");
  if (bytes.byteLength !== count * dtypeBytes[dtype]) throw fail(`${count} ${dtype} elements need ${count * dtypeBytes[dtype]} bytes, got ${bytes.byteLength}`);
  switch (dtype) {
    case "F32":
      return alignedView(bytes, 4, (b, o, n) => new Float32Array(b, o, n));
    case "I32":
      return alignedView(bytes, 4, (b, o, n) => new Int32Array(b, o, n));
    case "F16": {
      const table = halfToFloatTable(), half = alignedView(bytes, 2, (b, o, n) => new Uint16Array(b, o, n));
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[half[i]];
      return out;
    }
    case "BF16": {
      const half = alignedView(bytes, 2, (b, o, n) => new Uint16Array(b, o, n));
      const words = new Uint32Array(count);
      for (let i = 0; i < count; i++) words[i] = half[i] << 16;
      return new Float32Array(words.buffer);
    }
    case "F64":
      return Float32Array.from(alignedView(bytes, 8, (b, o, n) => new Float64Array(b, o, n)));
    case "I64": {
      const pairs = alignedView(bytes, 8, (b, o, n) => new Int32Array(b, o, 2 * n));
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const low = pairs[2 * i], high = pairs[2 * i + 1];
        if (high !== low >> 31) {
          const value = (BigInt(high) << 32n) | BigInt(low >>> 0);
          throw fail(`I64 element ${i} = ${value} does not fit in int32`);
        }
        out[i] = low;
      }
      return out;
    }
    case "I16":
      return Int32Array.from(alignedView(bytes, 2, (b, o, n) => new Int16Array(b, o, n)));
    case "I8":
      return Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, count));
    case "U8":
    case "BOOL":
      return Int32Array.from(bytes.subarray(0, count));
  }
}

const scratchBits = new Uint32Array(1), scratchFloat = new Float32Array(scratchBits.buffer);

function floatToHalfBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000, abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0);
  if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520 rounds to infinity
  if (abs >= 0x38800000) {
    const rebiased = abs - 0x38000000; // exponent bias 127 -> 15
    return sign | ((rebiased + 0xfff + ((rebiased >>> 13) & 1)) >>> 13);
  }
  if (abs <= 0x33000000) return sign; // <= 2^-25 rounds to zero
  scratchBits[0] = abs;
  const scaled = scratchFloat[0] * 2 ** 24; // in units of the smallest subnormal, exact in f64
  let units = Math.floor(scaled);
  const rest = scaled - units;
  if (rest > 0.5 || (rest === 0.5 && units % 2 === 1)) units++;
  return sign | units;
}

function floatToBFloat16Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

const intRanges: Partial<Record<StoredDtype, [number, number]>> = { I16: [-32768, 32767], I8: [-128, 127], U8: [0, 255], BOOL: [0, 1] };

// Encodes host data as little-endian bytes of `dtype`. F32 data written as F32 (and I32 as I32) is not copied.
export function encodeTensorBytes(file: string, tensor: string, dtype: StoredDtype, data: TensorData): Uint8Array {
  const fail = (detail: string) => new CheckpointError(file, `tensor '${tensor}': ${detail}`);
  if (!littleEndianHost) throw fail("big-endian hosts are not supported (checkpoints are little-endian)");
  const floatData = data instanceof Float32Array;
  if (floatData !== isFloatDtype(dtype)) throw fail(`cannot store ${floatData ? "float" : "integer"} data as ${dtype}`);
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case "F32":
    case "I32":
      return bytesOf(data);
    case "F16":
    case "BF16": {
      const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
      const out = new Uint16Array(data.length);
      const convert = dtype === "F16" ? floatToHalfBits : floatToBFloat16Bits;
      for (let i = 0; i < data.length; i++) out[i] = convert(bits[i]);
      return bytesOf(out);
    }
    case "F64":
      return bytesOf(Float64Array.from(data));
    case "I64": {
      const out = new Int32Array(2 * data.length);
      for (let i = 0; i < data.length; i++) {
        out[2 * i] = data[i];
        out[2 * i + 1] = data[i] >> 31;
      }
      return bytesOf(out);
    }
    default: {
      const [low, high] = intRanges[dtype]!;
      const out = dtype === "I16" ? new Int16Array(data.length) : dtype === "I8" ? new Int8Array(data.length) : new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) {
        if (data[i] < low || data[i] > high) throw fail(`element ${i} = ${data[i]} does not fit ${dtype}`);
        out[i] = data[i];
      }
      return bytesOf(out);
    }
  }
}
