// The bytes of a checkpoint file, as a ByteSource that hands out views of byte ranges.
// Files up to 4 GiB (JavaScriptCore's limit for one ArrayBuffer) are memory-mapped whole; larger ones are mapped
// one requested range at a time (a tensor, a storage, the zip directory), so a 10 GB training checkpoint can be
// listed and its tensors read without holding it all. Mappings are private (copy-on-write): writes to returned
// views never reach the file, and pages are read only when touched. A mapped file must not be truncated while its
// tensors are in use (writeSafetensors replaces files atomically). With mmap off, or where mapping fails, the
// file (or range) is read into memory instead.
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { CheckpointError } from "./checkpoint-error.ts";

export type ReadOptions = {
  mmap?: boolean; // default true
  mapWhole?: boolean; // default: true when the file fits in one array (4 GiB); false maps each requested range
};

export interface ByteSource {
  readonly file: string;
  readonly size: number;
  // A view of bytes [offset, offset + length); the range must lie inside the file.
  bytes(offset: number, length: number): Uint8Array;
}

export const MAX_ARRAY_BYTES = 2 ** 32;
const SMALL_READ = 1 << 16; // ranges below this are read, not mapped

const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength); // slice() copies, unlike Buffer's

function checkRange(file: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size)
    throw new CheckpointError(file, `truncated: bytes [${offset}, ${offset + length}) lie beyond the end of the ${size}-byte file`);
  if (length > MAX_ARRAY_BYTES) throw new CheckpointError(file, `a ${length}-byte region is larger than the 4 GiB one array can hold`);
}

export function memorySource(file: string, data: Uint8Array): ByteSource {
  return {
    file,
    size: data.byteLength,
    bytes(offset, length) {
      checkRange(file, data.byteLength, offset, length);
      return data.subarray(offset, offset + length);
    },
  };
}

function readRange(path: string, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const fd = openSync(path, "r");
  try {
    for (let at = 0; at < length; ) {
      const n = readSync(fd, out, at, Math.min(length - at, 1 << 30), offset + at);
      if (n === 0) throw new CheckpointError(path, `truncated: the file ended while reading bytes [${offset}, ${offset + length})`);
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function rangeSource(path: string, size: number, mmap: boolean): ByteSource {
  return {
    file: path,
    size,
    bytes(offset, length) {
      checkRange(path, size, offset, length);
      if (length === 0) return new Uint8Array(0);
      try {
        if (mmap && length >= SMALL_READ) {
          const mapped = Bun.mmap(path, { shared: false, offset, size: length });
          if (mapped.byteLength !== length) throw new CheckpointError(path, `truncated: the file changed while reading bytes [${offset}, ${offset + length})`);
          return mapped;
        }
        return readRange(path, offset, length);
      } catch (e) {
        if (e instanceof CheckpointError) throw e;
        throw new CheckpointError(path, `cannot read bytes [${offset}, ${offset + length}) (${(e as Error).message})`);
      }
    },
  };
}

export function openFile(path: string, options: ReadOptions = {}): ByteSource {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new CheckpointError(path, "not a regular file");
    size = stat.size;
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(path, code === "ENOENT" ? "no such file" : `cannot read (${(e as Error).message})`);
  }
  if (size === 0) throw new CheckpointError(path, "empty file (0 bytes)");
  const mmap = options.mmap ?? true;
  if (!(options.mapWhole ?? size <= MAX_ARRAY_BYTES) || size > MAX_ARRAY_BYTES) return rangeSource(path, size, mmap);
  if (mmap) {
    try {
      return memorySource(path, Bun.mmap(path, { shared: false }));
    } catch {
      // some filesystems cannot be mapped: read instead
    }
  }
  try {
    return memorySource(path, plain(readFileSync(path)));
  } catch (e) {
    throw new CheckpointError(path, `cannot read (${(e as Error).message})`);
  }
}
