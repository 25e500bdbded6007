// safetensors read and write: an 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the data section,
// which the tensors tile exactly (no overlaps, no gaps, nothing after the last tensor).
// Reading maps the file and decodes each tensor on first access (aligned F32 / I32: zero-copy views).
// Writing streams tensor by tensor into a temporary file that then replaces the target.
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { CheckpointError } from "./checkpoint-error.ts";
import { decodeTensorBytes, encodeTensorBytes } from "./dtype.ts";
import { memorySource, openFile, type ByteSource, type ReadOptions } from "./mapped-file.ts";
import { dtypeBytes, isStoredDtype, lazyTensor, numelOf, STORED_DTYPES, type StoredDtype, type StoredTensor, type TensorData } from "./tensor.ts";

export { CheckpointError } from "./checkpoint-error.ts";
export type { StoredDtype, StoredTensor, TensorData } from "./tensor.ts";

export type SafetensorsFile = { tensors: Map<string, StoredTensor>; metadata: Record<string, string> };

// A tensor to write: stored as `dtype` (default F32 for Float32Array data, I32 for Int32Array data).
export type TensorToWrite = { readonly shape: readonly number[]; readonly data: TensorData; readonly dtype?: StoredDtype };
export type TensorsToWrite = Map<string, TensorToWrite> | Record<string, TensorToWrite>;
export type Metadata = Record<string, string | number | boolean>;

export const MAX_HEADER_BYTES = 100_000_000;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

type Entry = { name: string; dtype: StoredDtype; shape: number[]; begin: number; end: number };

function parseEntry(file: string, name: string, value: unknown): Entry {
  const bad = (detail: string) => new CheckpointError(file, `tensor '${name}': ${detail}`);
  if (!isPlainObject(value)) throw bad("header entry is not an object");
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isStoredDtype(dtype)) throw bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${STORED_DTYPES.join(", ")})`);
  if (!Array.isArray(shape)) throw bad(`shape ${JSON.stringify(shape)} is not an array`);
  if (!shape.every(isCount)) throw bad(`shape ${JSON.stringify(shape)} must hold non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1])
    throw bad(`data_offsets ${JSON.stringify(offsets)} must be [begin, end] with 0 <= begin <= end`);
  const numel = numelOf(shape);
  const [begin, end] = offsets as [number, number];
  if (!Number.isSafeInteger(numel * dtypeBytes[dtype]) || end - begin !== numel * dtypeBytes[dtype])
    throw bad(`shape [${shape}] of ${dtype} needs ${numel * dtypeBytes[dtype]} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`);
  return { name, dtype, shape: shape as number[], begin, end };
}

function parseHeader(source: ByteSource): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  const file = source.file;
  if (source.size < 8) throw new CheckpointError(file, `truncated: ${source.size} bytes, safetensors starts with an 8-byte header length`);
  const head = source.bytes(0, 8);
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)
    throw new CheckpointError(file, "is a PyTorch zip checkpoint, not safetensors (read it with loadCheckpoint or readTorchCheckpoint)");
  const headerLength = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES))
    throw new CheckpointError(file, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES / 1e6} MB limit (corrupt file or not safetensors)`);
  const dataStart = 8 + Number(headerLength);
  if (dataStart > source.size) throw new CheckpointError(file, `truncated: the header needs ${dataStart} bytes, the file has ${source.size}`);
  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(source.bytes(8, dataStart - 8));
    if (!text.startsWith("{")) throw new Error("the header does not start with '{'");
    header = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw new CheckpointError(file, "header is not a JSON object");
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name !== "__metadata__") {
      entries.push(parseEntry(file, name, value));
      continue;
    }
    if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === "string"))
      throw new CheckpointError(file, "__metadata__ must map strings to strings");
    Object.assign(metadata, value);
  }
  return { entries, metadata, dataStart };
}

// Tensors must tile the data section: sorted by offset, each starts where the previous one ends.
function checkTiling(file: string, entries: Entry[], dataLength: number, fileLength: number): void {
  for (const e of entries)
    if (e.end > dataLength)
      throw new CheckpointError(file, `truncated: tensor '${e.name}' ends at byte ${e.end} of the data section, which has ${dataLength} bytes (file: ${fileLength} bytes)`);
  let previous: Entry | undefined;
  for (const e of entries) {
    const at = previous?.end ?? 0;
    if (e.begin < at) throw new CheckpointError(file, `tensors '${previous!.name}' [${previous!.begin}, ${previous!.end}) and '${e.name}' [${e.begin}, ${e.end}) overlap`);
    if (e.begin > at) throw new CheckpointError(file, `data bytes [${at}, ${e.begin}) before tensor '${e.name}' belong to no tensor`);
    previous = e;
  }
  const covered = previous?.end ?? 0;
  if (covered !== dataLength) throw new CheckpointError(file, `${dataLength - covered} bytes after the last tensor belong to no tensor`);
}

export function readSafetensorsSource(source: ByteSource): SafetensorsFile {
  const { entries, metadata, dataStart } = parseHeader(source);
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkTiling(source.file, entries, source.size - dataStart, source.size);
  const tensors = new Map<string, StoredTensor>();
  for (const e of entries)
    tensors.set(e.name, lazyTensor(e.dtype, e.shape, () => decodeTensorBytes(source.file, e.name, e.dtype, source.bytes(dataStart + e.begin, e.end - e.begin), numelOf(e.shape))));
  return { tensors, metadata };
}

export function parseSafetensors(file: string, buffer: Uint8Array): SafetensorsFile {
  return readSafetensorsSource(memorySource(file, buffer));
}

export function readSafetensors(path: string, options: ReadOptions = {}): SafetensorsFile {
  return readSafetensorsSource(openFile(path, options));
}

type Planned = { name: string; tensor: TensorToWrite; dtype: StoredDtype; byteLength: number };

function planSafetensors(file: string, tensors: TensorsToWrite, metadata: Metadata): { header: Uint8Array; planned: Planned[] } {
  const header: Record<string, unknown> = Object.create(null); // a tensor may be called "__proto__"
  if (Object.keys(metadata).length) header.__metadata__ = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)]));
  const planned: Planned[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors instanceof Map ? tensors : Object.entries(tensors)) {
    if (name === "__metadata__" || name.length === 0) throw new CheckpointError(file, `invalid tensor name '${name}'`);
    const dtype = tensor.dtype ?? (tensor.data instanceof Float32Array ? "F32" : "I32");
    if (!isStoredDtype(dtype)) throw new CheckpointError(file, `tensor '${name}': unsupported dtype ${JSON.stringify(dtype)}`);
    if (!tensor.shape.every(isCount) || numelOf(tensor.shape) !== tensor.data.length)
      throw new CheckpointError(file, `tensor '${name}': shape [${tensor.shape}] does not match its ${tensor.data.length} elements`);
    const byteLength = tensor.data.length * dtypeBytes[dtype];
    header[name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, offset + byteLength] };
    planned.push({ name, tensor, dtype, byteLength });
    offset += byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8); // data section starts 8-byte aligned
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  return { header: out, planned };
}

const encodePlanned = (file: string, p: Planned): Uint8Array => encodeTensorBytes(file, p.name, p.dtype, p.tensor.data);

export function encodeSafetensors(tensors: TensorsToWrite, metadata: Metadata = {}): Uint8Array {
  const { header, planned } = planSafetensors("safetensors", tensors, metadata);
  const out = new Uint8Array(header.length + planned.reduce((sum, p) => sum + p.byteLength, 0));
  out.set(header, 0);
  let at = header.length;
  for (const p of planned) {
    out.set(encodePlanned("safetensors", p), at);
    at += p.byteLength;
  }
  return out;
}

export function writeSafetensorsSync(path: string, tensors: TensorsToWrite, metadata: Metadata = {}): void {
  const { header, planned } = planSafetensors(path, tensors, metadata);
  const temporary = `${path}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "w");
    writeAll(fd, header);
    for (const p of planned) writeAll(fd, encodePlanned(path, p));
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temporary, { force: true });
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(path, `cannot write (${(e as Error).message})`);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, Math.min(bytes.length - at, 1 << 30));
}

export async function writeSafetensors(path: string, tensors: TensorsToWrite, metadata: Metadata = {}): Promise<void> {
  writeSafetensorsSync(path, tensors, metadata);
}
