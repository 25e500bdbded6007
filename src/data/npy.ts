// NumPy .npy files (format 1.0/2.0/3.0): magic "\x93NUMPY", version, header length, a Python-dict header
// {'descr': '|u1', 'fortran_order': False, 'shape': (N, H, W, C), }, then C-order data.
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { DataError, formatShape } from "./errors.ts";

export interface NpyHeader {
  descr: string; // e.g. "|u1", "<i8"
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number; // bytes before the data
  itemSize: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const INTEGER_KINDS = new Set(["u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8"]);

const descrKind = (descr: string): string => descr.replace(/^[<>|=]/, "");
const shapeSize = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function parseNpyHeader(head: Uint8Array, path: string): NpyHeader {
  if (head.length < 10 || MAGIC.some((b, i) => head[i] !== b)) throw new DataError(path, "not a .npy file (bad magic, expected \\x93NUMPY)");
  const major = head[6];
  if (major < 1 || major > 3) throw new DataError(path, `unsupported .npy format version ${major}.${head[7]}`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (head.length < 8 + lenBytes) throw new DataError(path, "truncated .npy header");
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lenBytes + headerLen;
  if (head.length < dataOffset) throw new DataError(path, `truncated .npy header: needs ${dataOffset} bytes, file has ${head.length}`);
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(head.subarray(8 + lenBytes, dataOffset));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new DataError(path, `malformed .npy header ${JSON.stringify(text.trim())}`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new DataError(path, `malformed .npy shape (${shapeText})`);
  const itemSize = Number(/(\d+)$/.exec(descr)?.[1] ?? NaN);
  return { descr, fortranOrder: fortran === "True", shape, dataOffset, itemSize };
}

export function readNpyHeader(path: string): NpyHeader & { fileSize: number } {
  const fd = openNpy(path);
  try {
    const fileSize = fstatSync(fd).size;
    let head = readAt(fd, 0, Math.min(fileSize, 4096));
    let header = tryParse(head, path);
    if (header === null) { head = readAt(fd, 0, Math.min(fileSize, 1 << 20)); header = parseNpyHeader(head, path); }
    return { ...header, fileSize };
  } finally {
    closeSync(fd);
  }
}

export interface NpyImages {
  data: Uint8Array; // (n, H, W, C) rows [rowStart, rowEnd) of the file
  count: number;
  height: number;
  width: number;
  channels: number;
  totalRows: number; // rows in the whole file
}

// uint8 images stored (N, H, W) or (N, H, W, C); optionally only rows [rowStart, rowEnd).
export function readNpyImages(path: string, rows?: { start: number; end: number }): NpyImages {
  const h = readNpyHeader(path);
  const kind = descrKind(h.descr);
  if (kind !== "u1" || h.fortranOrder || (h.shape.length !== 3 && h.shape.length !== 4) || (h.shape.length === 4 && ![1, 3, 4].includes(h.shape[3])))
    throw new DataError(path, `expected uint8 array of shape (N,H,W[,C]), got ${h.descr}${h.fortranOrder ? " fortran-order" : ""} ${formatShape(h.shape)}`);
  const [n, height, width] = h.shape, channels = h.shape[3] ?? 1;
  const rowBytes = height * width * channels;
  checkSize(path, h, rowBytes * n);
  const start = rows?.start ?? 0, end = rows?.end ?? n;
  if (start < 0 || end > n || start > end) throw new DataError(path, `rows [${start}, ${end}) out of range for ${n} images`);
  const fd = openNpy(path);
  try {
    const data = readAt(fd, h.dataOffset + start * rowBytes, (end - start) * rowBytes);
    return { data, count: end - start, height, width, channels, totalRows: n };
  } finally {
    closeSync(fd);
  }
}

// A 1-D integer array (labels) as Int32Array.
export function readNpyLabels(path: string): Int32Array {
  const h = readNpyHeader(path);
  const kind = descrKind(h.descr);
  if (!INTEGER_KINDS.has(kind) || h.shape.length !== 1)
    throw new DataError(path, `expected 1-D integer label array, got ${h.descr} ${formatShape(h.shape)}`);
  const n = h.shape[0];
  checkSize(path, h, n * h.itemSize);
  const fd = openNpy(path);
  let raw: Uint8Array;
  try { raw = readAt(fd, h.dataOffset, n * h.itemSize); } finally { closeSync(fd); }
  const little = !h.descr.startsWith(">");
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * h.itemSize;
    const v = kind === "u1" ? view.getUint8(o) : kind === "i1" ? view.getInt8(o) : kind === "u2" ? view.getUint16(o, little)
      : kind === "i2" ? view.getInt16(o, little) : kind === "u4" ? view.getUint32(o, little) : kind === "i4" ? view.getInt32(o, little)
      : kind === "u8" ? Number(view.getBigUint64(o, little)) : Number(view.getBigInt64(o, little));
    if (v < 0 || v > 0x7fffffff) throw new DataError(path, `label ${v} at index ${i} is not a class index`);
    out[i] = v;
  }
  return out;
}

export function npyHeaderBytes(descr: string, shape: number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + dict.length + 1;
  dict += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + dict.length);
  out.set(MAGIC, 0);
  out[6] = 1; out[7] = 0;
  new DataView(out.buffer).setUint16(8, dict.length, true);
  out.set(new TextEncoder().encode(dict), 10);
  return out;
}

export function encodeNpy(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  const head = npyHeaderBytes(descr, shape);
  const out = new Uint8Array(head.length + data.length);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}

// Labels are written as uint8 when they fit (like CIFAR-10-C's labels.npy), else int64.
export function encodeNpyLabels(labels: Int32Array): Uint8Array {
  const max = labels.reduce((m, v) => Math.max(m, v), 0);
  if (max < 256) return encodeNpy("|u1", [labels.length], Uint8Array.from(labels));
  const wide = new BigInt64Array(labels.length);
  for (let i = 0; i < labels.length; i++) wide[i] = BigInt(labels[i]);
  return encodeNpy("<i8", [labels.length], new Uint8Array(wide.buffer));
}

// A .npy file written in pieces: the header first, then rows at any offset (the generator fills severities
// from several workers).
export class NpyRowWriter {
  private fd: number;
  readonly dataOffset: number;
  constructor(readonly path: string, readonly shape: number[]) {
    const head = npyHeaderBytes("|u1", shape);
    this.fd = openSync(path, "w");
    writeSync(this.fd, head, 0, head.length, 0);
    this.dataOffset = head.length;
    const total = this.dataOffset + shapeSize(shape);
    if (total > head.length) writeSync(this.fd, new Uint8Array(1), 0, 1, total - 1); // allocate the full size
  }
  writeRows(firstRow: number, rows: Uint8Array): void {
    const rowBytes = shapeSize(this.shape.slice(1));
    let done = 0;
    while (done < rows.length) done += writeSync(this.fd, rows, done, rows.length - done, this.dataOffset + firstRow * rowBytes + done);
  }
  close(): void { closeSync(this.fd); }
}

function tryParse(head: Uint8Array, path: string): NpyHeader | null {
  try { return parseNpyHeader(head, path); } catch (e) {
    if (e instanceof DataError && /truncated/.test(e.message) && head.length === 4096) return null;
    throw e;
  }
}

function checkSize(path: string, h: NpyHeader & { fileSize: number }, dataBytes: number): void {
  const have = h.fileSize - h.dataOffset;
  if (have < dataBytes) throw new DataError(path, `truncated: ${h.descr} ${formatShape(h.shape)} needs ${dataBytes} data bytes, file has ${have}`);
  if (have > dataBytes) throw new DataError(path, `${have - dataBytes} unexpected bytes after the ${formatShape(h.shape)} data`);
}

function openNpy(path: string): number {
  try { return openSync(path, "r"); } catch (e) {
    throw new DataError(path, `cannot open .npy file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}

function readAt(fd: number, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? out : out.subarray(0, done);
}
