// PyTorch checkpoints written by torch.save (>= 1.6, a zip archive): <archive>/data.pkl holds the object graph,
// <archive>/data/<key> the raw storages. The pickle is read by the restricted unpickler; tensors become strided
// views of storages, decoded on first access (aligned contiguous F32: zero-copy views of the mapped file).
// Every tensor in the object is listed under its dotted path ("ema.blocks.0.attn.qkv.weight", "opt.state.0.exp_avg");
// `extra` holds everything else (args, steps, ...) as plain JSON-like values.
import { CheckpointError } from "./checkpoint-error.ts";
import { decodeTensorBytes } from "./dtype.ts";
import { memorySource, openFile, type ByteSource, type ReadOptions } from "./mapped-file.ts";
import { PyCallable, PyObject, toNumberIfSafe, unpickle, type PyKey, type PyValue } from "./pickle.ts";
import { PyRecord, resolveStateDictGlobal, TorchStorage, TorchStorageType, TorchTensorRef } from "./pickle-globals.ts";
import { gatherStrided, isContiguous, lastIndexOf } from "./strided.ts";
import { dtypeBytes, formatShape, lazyTensor, numelOf, type StoredDtype, type StoredTensor } from "./tensor.ts";
import { isZip, readZipDirectory, zipEntryBytes, type ZipEntry } from "./zip.ts";

export type TorchCheckpoint = {
  file: string;
  root: PyValue; // the unpickled object, tensors as TorchTensorRef
  tensors: Map<string, StoredTensor>;
  extra: Record<string, unknown>;
};

const MAX_NESTING = 64;

export const isLegacyTorchPickle = (head: Uint8Array): boolean => head.byteLength >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;

function findPickle(file: string, entries: Map<string, ZipEntry>): ZipEntry {
  const pickles = [...entries.values()].filter((e) => /^[^/]+\/data\.pkl$/.test(e.name) || e.name === "data.pkl");
  if (pickles.length === 1) return pickles[0];
  if (pickles.length > 1) throw new CheckpointError(file, `zip archive holds ${pickles.length} data.pkl entries (${pickles.map((e) => e.name).join(", ")})`);
  if ([...entries.keys()].some((name) => /(^|\/)(constants\.pkl|code\/)/.test(name)))
    throw new CheckpointError(file, "is a TorchScript archive (torch.jit.save), not a state dict: save model.state_dict() with torch.save");
  throw new CheckpointError(file, "zip archive without a data.pkl entry: not a torch.save checkpoint");
}

// Unpickles the checkpoint's object graph; storages stay unread until a tensor is decoded.
export function unpickleTorchZip(source: ByteSource): PyValue {
  const file = source.file, head = source.bytes(0, Math.min(4, source.size));
  if (!isZip(head)) {
    if (isLegacyTorchPickle(head))
      throw new CheckpointError(file, "is a legacy (PyTorch < 1.6, non-zip) checkpoint, which is not supported: re-save it with torch.save in PyTorch >= 1.6 or convert it to safetensors");
    throw new CheckpointError(file, "is not a PyTorch zip checkpoint");
  }
  const entries = readZipDirectory(source);
  const pickle = findPickle(file, entries);
  const prefix = pickle.name.slice(0, -"data.pkl".length);
  const byteOrder = entries.get(`${prefix}byteorder`);
  if (byteOrder && new TextDecoder().decode(zipEntryBytes(source, byteOrder)).trim() !== "little")
    throw new CheckpointError(file, "stores big-endian tensors, which are not supported");
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: PyValue): PyValue => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) throw new CheckpointError(file, `unsupported persistent id in ${pickle.name}`);
    const [, type, key, , numel] = pid;
    if (!(type instanceof TorchStorageType)) throw new CheckpointError(file, `persistent id names no storage type in ${pickle.name}`);
    if (!type.dtype) throw new CheckpointError(file, `storage type ${type.pyClass} is not supported (float32/16/64, bfloat16, int64/32/16/8, uint8, bool)`);
    if (typeof key !== "string" || typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0)
      throw new CheckpointError(file, `malformed storage reference in ${pickle.name}`);
    const cached = storages.get(key);
    if (cached && cached.type.dtype !== type.dtype) throw new CheckpointError(file, `storage '${key}' is used as both ${cached.type.dtype} and ${type.dtype}`);
    if (cached) return cached;
    const name = `${prefix}data/${key}`, entry = entries.get(name);
    if (!entry) throw new CheckpointError(file, `storage '${key}' is missing (no ${name} in the archive)`);
    const needed = numel * dtypeBytes[type.dtype];
    if (entry.size < needed) throw new CheckpointError(file, `storage '${key}' has ${entry.size} bytes, its ${numel} ${type.dtype} elements need ${needed}`);
    let data: Uint8Array | undefined;
    const storage = new TorchStorage(type as TorchStorageType & { dtype: StoredDtype }, key, numel, () => (data ??= zipEntryBytes(source, entry)));
    storages.set(key, storage);
    return storage;
  };
  return unpickle(zipEntryBytes(source, pickle), { file, where: pickle.name, resolveGlobal: resolveStateDictGlobal, persistentLoad });
}

const materialized = new WeakMap<TorchTensorRef, StoredTensor>();

// The tensor a TorchTensorRef describes; bounds are checked now, bytes decoded on first access.
export function storedTensorOf(file: string, name: string, ref: TorchTensorRef): StoredTensor {
  const cached = materialized.get(ref);
  if (cached) return cached;
  const { storage, offset, shape, stride } = ref;
  const dtype = storage.type.dtype, n = numelOf(shape), last = lastIndexOf(offset, shape, stride);
  if (!Number.isSafeInteger(n) || n > 2 ** 32) throw new CheckpointError(file, `tensor '${name}': shape ${formatShape(shape)} is too large`);
  if (n > 0 && last >= storage.numel)
    throw new CheckpointError(file, `tensor '${name}': view (offset ${offset}, shape ${formatShape(shape)}, stride ${formatShape(stride)}) reaches element ${last} of a ${storage.numel}-element storage`);
  const width = dtypeBytes[dtype];
  const tensor = lazyTensor(dtype, [...shape], () => {
    const all = storage.bytes();
    if (n === 0 || isContiguous(shape, stride)) return decodeTensorBytes(file, name, dtype, all.subarray(offset * width, (offset + n) * width), n);
    const span = last - offset + 1;
    try {
      return gatherStrided(decodeTensorBytes(file, name, dtype, all.subarray(offset * width, (offset + span) * width), span), 0, shape, stride);
    } catch (e) {
      if (e instanceof RangeError) throw new CheckpointError(file, `tensor '${name}': cannot allocate ${n} elements (${e.message})`);
      throw e;
    }
  });
  materialized.set(ref, tensor);
  return tensor;
}

const keyName = (key: PyKey): string => (key === null ? "None" : key === true ? "True" : key === false ? "False" : String(key));

function children(value: PyValue): [string, PyValue][] | undefined {
  if (value instanceof Map) return [...value].map(([k, v]) => [keyName(k), v]);
  if (Array.isArray(value)) return value.map((v, i) => [String(i), v]);
  if (value instanceof PyRecord) return [...value.fields];
  return undefined;
}

// Every tensor inside `value` (nested dicts, lists, records), named by its dotted path below `prefix`.
export function tensorsOf(file: string, value: PyValue, prefix = ""): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  const ancestors = new Set<PyValue>();
  const walk = (v: PyValue, name: string, depth: number): void => {
    if (v instanceof TorchTensorRef) {
      if (out.has(name)) throw new CheckpointError(file, `two tensors are both named '${name}' once nested keys are joined with '.'`);
      out.set(name, storedTensorOf(file, name, v));
      return;
    }
    const kids = children(v);
    if (!kids || ancestors.has(v)) return;
    if (depth > MAX_NESTING) throw new CheckpointError(file, `object nesting deeper than ${MAX_NESTING} levels at '${name}'`);
    ancestors.add(v);
    for (const [key, child] of kids) walk(child, name ? `${name}.${key}` : key, depth + 1);
    ancestors.delete(v);
  };
  walk(value, prefix, 0);
  return out;
}

// The non-tensor part of `value` as plain JSON-like data: dicts and records -> objects, tensors left out
// (a container that held only tensors is left out too), globals -> their names, safe bigints -> numbers.
export function extraOf(value: PyValue): unknown {
  const ancestors = new Set<PyValue>();
  const convert = (v: PyValue, depth: number): unknown => {
    if (v instanceof TorchTensorRef) return undefined;
    if (v instanceof TorchStorage) return `<storage ${v.type.pyClass} ${v.numel}>`;
    if (typeof v === "bigint") return typeof toNumberIfSafe(v) === "number" ? Number(v) : v.toString();
    if (v instanceof PyCallable || (v instanceof PyObject && !(v instanceof PyRecord))) return v.pyClass;
    const kids = children(v);
    if (!kids) return v;
    if (ancestors.has(v)) return "<cycle>";
    if (depth > MAX_NESTING) return "<too deep>";
    ancestors.add(v);
    const converted = kids.map(([k, child]) => [k, convert(child, depth + 1)] as const).filter(([, c]) => c !== undefined);
    ancestors.delete(v);
    if (kids.length > 0 && converted.length === 0) return undefined;
    return Array.isArray(v) ? converted.map(([, c]) => c) : Object.fromEntries(converted);
  };
  return convert(value, 0);
}

const asRecord = (extra: unknown): Record<string, unknown> =>
  extra === undefined ? {} : typeof extra === "object" && extra !== null && !Array.isArray(extra) && !(extra instanceof Uint8Array) ? (extra as Record<string, unknown>) : { value: extra };

export function readTorchCheckpointSource(source: ByteSource): TorchCheckpoint {
  const root = unpickleTorchZip(source);
  return { file: source.file, root, tensors: tensorsOf(source.file, root), extra: asRecord(extraOf(root)) };
}

export function parseTorchCheckpoint(file: string, bytes: Uint8Array): TorchCheckpoint {
  return readTorchCheckpointSource(memorySource(file, bytes));
}

export function readTorchCheckpoint(path: string, options: ReadOptions = {}): TorchCheckpoint {
  return readTorchCheckpointSource(openFile(path, options));
}
