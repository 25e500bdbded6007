// The allow-list of pickle globals a state-dict checkpoint may name, and the inert values they build.
// Tensors become TorchTensorRef records (storage, offset, shape, stride); nothing here reads tensor bytes, imports
// or calls anything. OrderedDict -> Map, argparse.Namespace -> PyRecord, torch.Size / sets -> arrays, numpy scalars
// -> numbers, torch dtypes / devices -> names. Every other global is refused by the unpickler.
import { halfBitsToFloat } from "./dtype.ts";
import { type AcceptsState, describePyValue, PyCallable, PyObject, toNumberIfSafe, type PyKey, type PyValue } from "./pickle.ts";
import type { StoredDtype } from "./tensor.ts";

// A named constant global: a torch dtype, torch.Tensor, torch.nn.parameter.Parameter.
export class PyMarker extends PyObject {
  constructor(readonly pyClass: string) {
    super();
  }
}

// An object rebuilt from its attribute dict (argparse.Namespace): plain fields, no behaviour.
export class PyRecord extends PyObject implements AcceptsState {
  readonly fields = new Map<string, PyValue>();
  constructor(readonly pyClass: string) {
    super();
  }
  setState(state: PyValue): void {
    if (state === null) return;
    if (!(state instanceof Map)) throw new Error(`state is ${describePyValue(state)}, not an attribute dict`);
    for (const [key, value] of state) this.fields.set(String(key), value);
  }
}

export class TorchStorageType extends PyObject {
  constructor(
    readonly pyClass: string,
    readonly dtype: StoredDtype | undefined, // undefined: a storage type we cannot decode (complex, quantized)
  ) {
    super();
  }
}

// A storage of a zip checkpoint (archive/data/<key>); its bytes are read only when a tensor is decoded.
export class TorchStorage extends PyObject {
  readonly pyClass = "torch.storage";
  constructor(
    readonly type: TorchStorageType & { dtype: StoredDtype },
    readonly key: string,
    readonly numel: number,
    readonly bytes: () => Uint8Array,
  ) {
    super();
  }
}

// A tensor as torch.save describes it: a strided view of a storage.
export class TorchTensorRef extends PyObject {
  readonly pyClass = "torch.Tensor";
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {
    super();
  }
}

export class NumpyDtype extends PyObject implements AcceptsState {
  readonly pyClass = "numpy.dtype";
  byteOrder = "<";
  constructor(readonly code: string) {
    super();
  }
  setState(state: PyValue): void {
    if (Array.isArray(state) && typeof state[1] === "string") this.byteOrder = state[1];
  }
}

const storageDtypes = new Map<string, StoredDtype>([
  ["FloatStorage", "F32"], ["HalfStorage", "F16"], ["BFloat16Storage", "BF16"], ["DoubleStorage", "F64"], ["LongStorage", "I64"],
  ["IntStorage", "I32"], ["ShortStorage", "I16"], ["CharStorage", "I8"], ["ByteStorage", "U8"], ["BoolStorage", "BOOL"],
]);

const torchDtypes = new Map<string, StoredDtype>([
  ["float32", "F32"], ["float", "F32"], ["float16", "F16"], ["half", "F16"], ["bfloat16", "BF16"], ["float64", "F64"], ["double", "F64"],
  ["int64", "I64"], ["long", "I64"], ["int32", "I32"], ["int", "I32"], ["int16", "I16"], ["short", "I16"], ["int8", "I8"], ["uint8", "U8"], ["bool", "BOOL"],
]);

const isCount = (v: PyValue): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function tensorRef(args: PyValue[]): TorchTensorRef {
  const [storage, offset, shape, stride] = args;
  if (!(storage instanceof TorchStorage)) throw new Error(`storage argument is ${describePyValue(storage ?? null)}, not a checkpoint storage`);
  if (!isCount(offset ?? null)) throw new Error(`storage offset ${String(offset)} is not a non-negative integer`);
  if (!Array.isArray(shape) || !shape.every(isCount)) throw new Error(`size ${describePyValue(shape ?? null)} is not a tuple of non-negative integers`);
  if (!Array.isArray(stride) || stride.length !== shape.length || !stride.every(isCount))
    throw new Error(`stride ${describePyValue(stride ?? null)} does not match size of ${shape.length} dims`);
  return new TorchTensorRef(storage, offset as number, shape as number[], stride as number[]);
}

function parameterData(args: PyValue[]): PyValue {
  if (!(args[0] instanceof TorchTensorRef)) throw new Error(`parameter data is ${describePyValue(args[0] ?? null)}, not a tensor`);
  return args[0];
}

function numpyScalar(args: PyValue[]): PyValue {
  const [dtype, raw] = args;
  if (!(dtype instanceof NumpyDtype) || !(raw instanceof Uint8Array)) throw new Error("expects (numpy.dtype, bytes)");
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength), little = dtype.byteOrder !== ">";
  const need = (n: number) => {
    if (raw.byteLength < n) throw new Error(`${dtype.code} scalar needs ${n} bytes, got ${raw.byteLength}`);
  };
  const code = dtype.code.replace(/^[<>=|]/, "");
  const readers: Record<string, [number, () => PyValue] | undefined> = {
    f8: [8, () => view.getFloat64(0, little)], f4: [4, () => view.getFloat32(0, little)], f2: [2, () => halfBitsToFloat(view.getUint16(0, little))],
    i8: [8, () => toNumberIfSafe(view.getBigInt64(0, little))], i4: [4, () => view.getInt32(0, little)], i2: [2, () => view.getInt16(0, little)], i1: [1, () => view.getInt8(0)],
    u8: [8, () => toNumberIfSafe(view.getBigUint64(0, little))], u4: [4, () => view.getUint32(0, little)], u2: [2, () => view.getUint16(0, little)], u1: [1, () => view.getUint8(0)],
    b1: [1, () => view.getUint8(0) !== 0],
  };
  const reader = Object.hasOwn(readers, code) ? readers[code] : undefined;
  if (!reader) throw new Error(`numpy scalar of dtype '${dtype.code}' is not supported`);
  need(reader[0]);
  return reader[1]();
}

function codecsEncode(args: PyValue[]): PyValue {
  const [text, encoding] = args;
  if (typeof text !== "string") throw new Error("expects a string");
  if (encoding === "utf-8" || encoding === "utf8") return new TextEncoder().encode(text);
  if (encoding !== "latin1" && encoding !== "latin-1" && encoding !== "iso-8859-1") throw new Error(`encoding ${String(encoding)} is not supported`);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 255) throw new Error("character outside latin-1");
    out[i] = code;
  }
  return out;
}

function orderedDict(args: PyValue[]): PyValue {
  const dict = new Map<PyKey, PyValue>();
  const items = args[0];
  if (items === undefined) return dict;
  if (!Array.isArray(items)) throw new Error("expects a list of pairs");
  for (const pair of items) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new Error("expects a list of pairs");
    dict.set(pair[0] as PyKey, pair[1]);
  }
  return dict;
}

const sequenceCopy = (args: PyValue[]): PyValue => {
  if (args.length === 0) return [];
  if (!Array.isArray(args[0])) throw new Error("expects a sequence");
  return [...args[0]];
};

const callables = new Map<string, (args: PyValue[]) => PyValue>(Object.entries({
  "collections.OrderedDict": orderedDict,
  "torch._utils._rebuild_tensor": tensorRef,
  "torch._utils._rebuild_tensor_v2": tensorRef,
  "torch._utils._rebuild_tensor_v3": (args) => {
    const ref = tensorRef(args), dtype = args[6];
    if (!(dtype instanceof PyMarker) || torchDtypes.get(dtype.pyClass.replace(/^torch\./, "")) !== ref.storage.type.dtype)
      throw new Error(`dtype ${describePyValue(dtype ?? null)} differs from the ${ref.storage.type.dtype} storage (reinterpreting storages is not supported)`);
    return ref;
  },
  "torch._utils._rebuild_parameter": parameterData,
  "torch._utils._rebuild_parameter_with_state": parameterData,
  "torch._tensor._rebuild_from_type_v2": (args) => {
    const [rebuild, type, rebuildArgs] = args;
    if (!(rebuild instanceof PyCallable) || !(type instanceof PyMarker) || !Array.isArray(rebuildArgs))
      throw new Error("expects (rebuild function, tensor type, args, state)");
    return rebuild.call(rebuildArgs);
  },
  "torch.Size": sequenceCopy,
  "builtins.set": sequenceCopy,
  "builtins.frozenset": sequenceCopy,
  "torch.device": ([type, index]) => (typeof index === "number" ? `${String(type)}:${index}` : String(type)),
  "argparse.Namespace": () => new PyRecord("argparse.Namespace"),
  "_codecs.encode": codecsEncode,
  "numpy.dtype": ([code]) => {
    if (typeof code !== "string") throw new Error("expects a dtype code string");
    return new NumpyDtype(code);
  },
  "numpy.core.multiarray.scalar": numpyScalar,
  "numpy._core.multiarray.scalar": numpyScalar,
} satisfies Record<string, (args: PyValue[]) => PyValue>));

const markers = new Set(["torch.Tensor", "torch.nn.parameter.Parameter"]);

// The value of an allowed global, or undefined (the unpickler then refuses the pickle).
export function resolveStateDictGlobal(module: string, name: string): PyValue | undefined {
  const qualified = `${module}.${name}`;
  const callable = callables.get(qualified);
  if (callable) return new PyCallable(qualified, callable);
  if (markers.has(qualified)) return new PyMarker(qualified);
  if (module === "torch" && name.endsWith("Storage")) return new TorchStorageType(qualified, storageDtypes.get(name));
  if (module === "torch" && torchDtypes.has(name)) return new PyMarker(qualified);
  return undefined;
}
