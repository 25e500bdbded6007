// safetensors read and write: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw little-endian data.
// Reads F32, F16, BF16, I32, I64 (to Float32Array / Int32Array); writes F32 and I32.
import { readFileSync } from "node:fs";

export type StoredTensor = { dtype: string; shape: number[]; data: Float32Array | Int32Array };
export type SafetensorsFile = { tensors: Map<string, StoredTensor>; metadata: Record<string, string> };

export class CheckpointError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "CheckpointError";
  }
}

const dtypeBytes: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decode(file: string, name: string, dtype: string, bytes: Uint8Array, count: number): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case "BF16": {
      const words = new Uint32Array(count);
      for (let i = 0; i < count; i++) words[i] = view.getUint16(i * 2, true) << 16;
      return new Float32Array(words.buffer);
    }
    case "I32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case "I64": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) throw new CheckpointError(file, `tensor '${name}': I64 value ${v} does not fit int32`);
        out[i] = Number(v);
      }
      return out;
    }
  }
  throw new CheckpointError(file, `tensor '${name}': unsupported dtype ${dtype} (F32, F16, BF16, I32, I64)`);
}

export function parseSafetensors(file: string, buffer: Uint8Array): SafetensorsFile {
  if (buffer.byteLength < 8) throw new CheckpointError(file, `truncated: ${buffer.byteLength} bytes, no header`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > buffer.byteLength - 8) throw new CheckpointError(file, `truncated or not safetensors: header of ${headerLength} bytes in a ${buffer.byteLength}-byte file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(buffer.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new CheckpointError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const width = dtypeBytes[dtype];
    if (!width) throw new CheckpointError(file, `tensor '${name}': unsupported dtype ${dtype} (F32, F16, BF16, I32, I64)`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = data_offsets;
    if (end - begin !== count * width)
      throw new CheckpointError(file, `tensor '${name}': shape [${shape}] of ${dtype} needs ${count * width} bytes, offsets give ${end - begin}`);
    if (dataStart + end > buffer.byteLength)
      throw new CheckpointError(file, `truncated: tensor '${name}' ends at byte ${dataStart + end}, file has ${buffer.byteLength}`);
    tensors.set(name, { dtype, shape, data: decode(file, name, dtype, buffer.subarray(dataStart + begin, dataStart + end), count) });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  let buffer: Uint8Array;
  try {
    buffer = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(path, `cannot read (${(e as Error).message})`);
  }
  return parseSafetensors(path, buffer);
}

export function encodeSafetensors(tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array }>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.data instanceof Float32Array ? "F32" : "I32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export async function writeSafetensors(path: string, tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array }>, metadata: Record<string, string> = {}): Promise<void> {
  await Bun.write(path, encodeSafetensors(tensors, metadata));
}
