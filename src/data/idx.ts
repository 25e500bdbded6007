// The idx format of (Fashion-)MNIST: 2 zero bytes, a type code (0x08 = uint8), the number of dimensions,
// then each dimension as a big-endian uint32, then the data. Files may be gzipped.
import { readFileSync } from "node:fs";
import { DataError, formatShape } from "./errors.ts";
import { gunzipFile, isGzip } from "./gzip.ts";

export interface IdxArray {
  shape: number[];
  data: Uint8Array; // row-major, shape as above
}

const TYPE_NAMES: Record<number, string> = { 0x08: "uint8", 0x09: "int8", 0x0b: "int16", 0x0c: "int32", 0x0d: "float32", 0x0e: "float64" };

export function parseIdx(bytes: Uint8Array, path: string): IdxArray {
  if (isGzip(bytes)) bytes = gunzipFile(bytes, path);
  if (bytes.length < 4) throw new DataError(path, `not an idx file: ${bytes.length} bytes is shorter than the 4-byte magic`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new DataError(path, `not an idx file: magic starts with 0x${hex(bytes[0])}${hex(bytes[1])}, expected 0x0000`);
  const type = bytes[2], ndim = bytes[3];
  if (type !== 0x08) throw new DataError(path, `unsupported idx element type 0x${hex(type)} (${TYPE_NAMES[type] ?? "unknown"}), expected 0x08 (uint8)`);
  if (ndim < 1) throw new DataError(path, "idx header has 0 dimensions");
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) throw new DataError(path, `truncated idx header: ${ndim} dimensions need ${headerBytes} bytes, file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerBytes;
  if (have < size) throw new DataError(path, `truncated: shape ${formatShape(shape)} needs ${size} data bytes, file has ${have}`);
  if (have > size) throw new DataError(path, `${have - size} unexpected trailing bytes after shape ${formatShape(shape)}`);
  return { shape, data: bytes.subarray(headerBytes) };
}

export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new DataError(path, `cannot read idx file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  return parseIdx(bytes, path);
}

const hex = (b: number): string => b.toString(16).padStart(2, "0");
