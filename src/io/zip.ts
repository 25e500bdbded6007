// A zip archive reader for PyTorch checkpoints: the end-of-central-directory record (zip64 too), the central
// directory, and each entry's data located through its local header. torch.save stores entries uncompressed
// (method 0, data 64-byte aligned), so entry bytes are zero-copy views of the mapped file; deflated entries
// (a re-zipped checkpoint) are inflated. CRCs are not checked: that would read every byte of multi-GB files.
import { inflateRawSync } from "node:zlib";
import { CheckpointError } from "./checkpoint-error.ts";
import type { ByteSource } from "./mapped-file.ts";

export type ZipEntry = { name: string; method: number; compressedSize: number; size: number; dataOffset: number };

const SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_END = 0x06054b50, SIG_END64 = 0x06064b50, SIG_LOCATOR64 = 0x07064b50;
const STORED = 0, DEFLATED = 8;
const END_RECORD = 22, MAX_COMMENT = 65535;

export const isZip = (head: Uint8Array): boolean => head.byteLength >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;

// Little-endian fields of one byte range of the archive, with positions relative to the range.
class Block {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16 = (at: number): number => this.view.getUint16(at, true);
  u32 = (at: number): number => this.view.getUint32(at, true);
  u64(at: number, what: string): number {
    const value = this.view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError(this.file, `corrupt zip: ${what} ${value} is out of range`);
    return Number(value);
  }
}

function read(source: ByteSource, offset: number, length: number, what: string): Block {
  if (offset < 0 || offset + length > source.size)
    throw new CheckpointError(source.file, `truncated zip: ${what} needs bytes [${offset}, ${offset + length}), the file has ${source.size}`);
  return new Block(source.bytes(offset, length), source.file);
}

function centralDirectoryBounds(source: ByteSource): { offset: number; size: number; count: number } {
  if (source.size < END_RECORD) throw new CheckpointError(source.file, `truncated zip: ${source.size} bytes`);
  const tailStart = Math.max(0, source.size - END_RECORD - MAX_COMMENT);
  const tail = read(source, tailStart, source.size - tailStart, "the end record");
  let end = -1;
  for (let at = tail.bytes.length - END_RECORD; at >= 0 && end < 0; at--)
    if (tail.u32(at) === SIG_END && at + END_RECORD + tail.u16(at + 20) === tail.bytes.length) end = at;
  if (end < 0) throw new CheckpointError(source.file, "truncated or not a zip archive: no end-of-central-directory record");
  if (tail.u16(end + 4) !== 0 || tail.u16(end + 6) !== 0) throw new CheckpointError(source.file, "multi-disk zip archives are not supported");
  const count = tail.u16(end + 10), size = tail.u32(end + 12), offset = tail.u32(end + 16);
  if (count !== 0xffff && size !== 0xffffffff && offset !== 0xffffffff) return { offset, size, count };
  const locatorAt = tailStart + end - 20;
  const locator = read(source, locatorAt, 20, "the zip64 locator");
  if (locator.u32(0) !== SIG_LOCATOR64) throw new CheckpointError(source.file, "corrupt zip: zip64 sizes without a zip64 locator");
  const end64 = read(source, locator.u64(8, "zip64 end record offset"), 56, "the zip64 end-of-central-directory record");
  if (end64.u32(0) !== SIG_END64) throw new CheckpointError(source.file, "corrupt zip: bad zip64 end-of-central-directory signature");
  return { count: end64.u64(32, "entry count"), size: end64.u64(40, "central directory size"), offset: end64.u64(48, "central directory offset") };
}

type Zip64Field = "size" | "compressedSize" | "localOffset";

// zip64 extended information (header id 1): 8-byte values for whichever 32-bit fields hold 0xFFFFFFFF, in this order.
function zip64Values(b: Block, extraStart: number, extraLength: number, name: string, wanted: Zip64Field[]): number[] {
  for (let at = extraStart; at + 4 <= extraStart + extraLength; ) {
    const id = b.u16(at), length = b.u16(at + 2);
    if (id === 1) {
      if (length < 8 * wanted.length || at + 4 + length > extraStart + extraLength) throw new CheckpointError(b.file, `corrupt zip: entry '${name}' has a short zip64 field`);
      return wanted.map((what, i) => b.u64(at + 4 + 8 * i, `entry '${name}' ${what}`));
    }
    at += 4 + length;
  }
  throw new CheckpointError(b.file, `corrupt zip: entry '${name}' needs a zip64 field it does not have`);
}

export function readZipDirectory(source: ByteSource): Map<string, ZipEntry> {
  const file = source.file;
  const { offset, size, count } = centralDirectoryBounds(source);
  const directory = read(source, offset, size, "the central directory");
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > size || directory.u32(at) !== SIG_CENTRAL) throw new CheckpointError(file, `corrupt zip: central directory entry ${i} is damaged`);
    const flags = directory.u16(at + 8), method = directory.u16(at + 10);
    const nameLength = directory.u16(at + 28), extraLength = directory.u16(at + 30), commentLength = directory.u16(at + 32);
    if (at + 46 + nameLength + extraLength + commentLength > size) throw new CheckpointError(file, `corrupt zip: central directory entry ${i} is damaged`);
    const name = new TextDecoder().decode(directory.bytes.subarray(at + 46, at + 46 + nameLength));
    const fields: Record<Zip64Field, number> = { size: directory.u32(at + 24), compressedSize: directory.u32(at + 20), localOffset: directory.u32(at + 42) };
    const wanted = (["size", "compressedSize", "localOffset"] as const).filter((f) => fields[f] === 0xffffffff);
    if (wanted.length) zip64Values(directory, at + 46 + nameLength, extraLength, name, wanted).forEach((v, k) => (fields[wanted[k]] = v));
    if (flags & 1) throw new CheckpointError(file, `zip entry '${name}' is encrypted`);
    if (method !== STORED && method !== DEFLATED) throw new CheckpointError(file, `zip entry '${name}' uses compression method ${method} (only stored and deflate are read)`);
    if (method === STORED && fields.compressedSize !== fields.size)
      throw new CheckpointError(file, `corrupt zip: stored entry '${name}' has ${fields.compressedSize} stored bytes but a size of ${fields.size}`);
    const local = read(source, fields.localOffset, 30, `the local header of '${name}'`);
    if (local.u32(0) !== SIG_LOCAL) throw new CheckpointError(file, `corrupt zip: bad local header for entry '${name}'`);
    const dataOffset = fields.localOffset + 30 + local.u16(26) + local.u16(28);
    if (dataOffset + fields.compressedSize > source.size)
      throw new CheckpointError(file, `truncated zip: entry '${name}' needs bytes [${dataOffset}, ${dataOffset + fields.compressedSize}), the file has ${source.size}`);
    if (entries.has(name)) throw new CheckpointError(file, `corrupt zip: entry '${name}' appears twice`);
    entries.set(name, { name, method, compressedSize: fields.compressedSize, size: fields.size, dataOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

// The entry's bytes: a view of the file when stored, a new buffer when deflated.
export function zipEntryBytes(source: ByteSource, entry: ZipEntry): Uint8Array {
  const raw = source.bytes(entry.dataOffset, entry.compressedSize);
  if (entry.method === STORED) return raw;
  let inflated: Uint8Array;
  try {
    const buffer = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) }); // no zip bombs
    inflated = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (e) {
    throw new CheckpointError(source.file, `corrupt zip: cannot inflate entry '${entry.name}' (${(e as Error).message})`);
  }
  if (inflated.byteLength !== entry.size)
    throw new CheckpointError(source.file, `corrupt zip: entry '${entry.name}' inflates to ${inflated.byteLength} bytes, expected ${entry.size}`);
  return inflated;
}
