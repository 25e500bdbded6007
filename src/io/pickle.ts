// A restricted unpickler (protocols 2-5, plus the simple protocol-0 opcodes) for the data a torch state dict holds.
// It builds plain values (null, booleans, numbers, bigints, strings, bytes, arrays for lists/tuples/sets, Maps for
// dicts) and never imports or runs anything: a global is looked up in the caller's allow-list (resolveGlobal),
// which returns inert values or pure data constructors, and any other global is refused before it is used.
import { CheckpointError } from "./checkpoint-error.ts";

// Values made by allowed globals (records, markers, tensor references) extend PyObject.
export abstract class PyObject {
  abstract readonly pyClass: string;
}

export type PyKey = string | number | bigint | boolean | null;
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | Map<PyKey, PyValue> | PyObject;

// An allowed global that REDUCE / NEWOBJ may apply to arguments: a pure function from data to data.
export class PyCallable extends PyObject {
  constructor(
    readonly pyClass: string,
    readonly call: (args: PyValue[]) => PyValue,
  ) {
    super();
  }
}

// An object that accepts BUILD state (e.g. argparse.Namespace's attribute dict).
export interface AcceptsState {
  setState(state: PyValue): void;
}
const acceptsState = (v: unknown): v is AcceptsState => v instanceof PyObject && typeof (v as Partial<AcceptsState>).setState === "function";

export type UnpickleOptions = {
  file: string; // for error messages
  where?: string; // e.g. the zip entry holding the pickle
  resolveGlobal: (module: string, name: string) => PyValue | undefined;
  persistentLoad?: (pid: PyValue) => PyValue;
};

const MAX_LONG_BYTES = 4096;
const python2Modules = new Map([["__builtin__", "builtins"], ["copy_reg", "copyreg"]]);

export function describePyValue(v: PyValue): string {
  if (v === null) return "None";
  if (Array.isArray(v)) return `a sequence of ${v.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (v instanceof Uint8Array) return `bytes of ${v.length}`;
  if (v instanceof PyObject) return v.pyClass;
  return `${typeof v} ${String(v).slice(0, 40)}`;
}

function dictKey(v: PyValue): PyKey {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return `(${v.map((x) => String(dictKey(x))).join(", ")})`;
  return describePyValue(v);
}

export const toNumberIfSafe = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return toNumberIfSafe(v);
}

function decodeRawUnicodeEscape(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x5c && (bytes[i + 1] === 0x75 || bytes[i + 1] === 0x55)) {
      const digits = bytes[i + 1] === 0x75 ? 4 : 8;
      const hex = String.fromCharCode(...bytes.subarray(i + 2, i + 2 + digits));
      if (/^[0-9a-fA-F]+$/.test(hex) && hex.length === digits && parseInt(hex, 16) <= 0x10ffff) {
        out += String.fromCodePoint(parseInt(hex, 16));
        i += 1 + digits;
        continue;
      }
    }
    out += String.fromCharCode(bytes[i]);
  }
  return out;
}

class Unpickler {
  private readonly view: DataView;
  private pos = 0;
  private opcodeAt = 0;
  private readonly stack: PyValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly utf8 = new TextDecoder("utf-8");

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(detail: string): CheckpointError {
    const where = this.options.where ? `${this.options.where} at byte ${this.opcodeAt}` : `pickle byte ${this.opcodeAt}`;
    return new CheckpointError(this.options.file, `${where}: ${detail}`);
  }

  private take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.bytes.length) throw this.fail(`truncated pickle (needs ${n} more bytes, ${this.bytes.length - this.pos} left)`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private u8 = () => this.take(1)[0];
  private u16 = () => (this.take(2), this.view.getUint16(this.pos - 2, true));
  private u32 = () => (this.take(4), this.view.getUint32(this.pos - 4, true));
  private i32 = () => (this.take(4), this.view.getInt32(this.pos - 4, true));
  private u64(): number {
    this.take(8);
    const v = this.view.getBigUint64(this.pos - 8, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`length ${v} is out of range`);
    return Number(v);
  }
  private lineBytes(): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw this.fail("truncated pickle (unterminated line)");
    const line = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    return line;
  }
  private line(): string {
    let text = "";
    for (const byte of this.lineBytes()) text += String.fromCharCode(byte);
    return text;
  }
  private text = (n: number) => this.utf8.decode(this.take(n));
  private integer(text: string): number | bigint {
    if (!/^[+-]?\d{1,1000}$/.test(text.trim())) throw this.fail(`malformed integer '${text.slice(0, 40)}'`);
    return toNumberIfSafe(BigInt(text.trim()));
  }

  private push(v: PyValue): void {
    this.stack.push(v);
  }
  private pop(): PyValue {
    if (this.stack.length === 0 || this.stack.length === this.marks.at(-1)) throw this.fail("malformed pickle (stack underflow)");
    return this.stack.pop()!;
  }
  private top(): PyValue {
    if (this.stack.length === 0) throw this.fail("malformed pickle (empty stack)");
    return this.stack[this.stack.length - 1];
  }
  private popMark(): PyValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) throw this.fail("malformed pickle (no MARK)");
    return this.stack.splice(mark);
  }
  private memoGet(index: number): PyValue {
    if (!this.memo.has(index)) throw this.fail(`malformed pickle (memo entry ${index} does not exist)`);
    return this.memo.get(index)!;
  }
  private setItems(target: PyValue, items: PyValue[]): void {
    if (!(target instanceof Map)) throw this.fail(`SETITEM(S) on ${describePyValue(target)}, not a dict`);
    if (items.length % 2) throw this.fail("malformed pickle (odd SETITEMS)");
    for (let i = 0; i < items.length; i += 2) target.set(dictKey(items[i]), items[i + 1]);
  }
  private appendItems(target: PyValue, items: PyValue[]): void {
    if (!Array.isArray(target)) throw this.fail(`APPEND(S) on ${describePyValue(target)}, not a list`);
    for (const item of items) target.push(item);
  }

  private global(module: string, name: string): PyValue {
    module = python2Modules.get(module) ?? module;
    const value = this.options.resolveGlobal(module, name);
    if (value === undefined) {
      const where = `${this.options.where ? `${this.options.where} ` : ""}at byte ${this.opcodeAt}`;
      throw new CheckpointError(this.options.file, `refusing pickle global '${module}.${name}' (only state-dict pickles are read; found in ${where})`);
    }
    return value;
  }

  private apply(callable: PyValue, args: PyValue, opcode: string): PyValue {
    if (!(callable instanceof PyCallable)) throw this.fail(`${opcode} on ${describePyValue(callable)}, which is not an allowed callable`);
    if (!Array.isArray(args)) throw this.fail(`${opcode} arguments are ${describePyValue(args)}, not a tuple`);
    try {
      return callable.call(args);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw this.fail(`${callable.pyClass}: ${(e as Error).message}`);
    }
  }

  private build(target: PyValue, state: PyValue): void {
    if (acceptsState(target)) {
      try {
        target.setState(state);
      } catch (e) {
        throw this.fail(`${(target as PyObject).pyClass}: ${(e as Error).message}`);
      }
      return;
    }
    // Instance attributes of a dict (OrderedDict._metadata of a state dict): not tensor data, dropped.
    if (target instanceof Map || state === null) return;
    throw this.fail(`BUILD on ${describePyValue(target)} is not supported`);
  }

  run(): PyValue {
    const ops = this.options;
    for (;;) {
      this.opcodeAt = this.pos;
      if (this.pos >= this.bytes.length) throw this.fail("truncated pickle (no STOP opcode)");
      const op = this.u8();
      switch (op) {
        case 0x80: { // PROTO
          const protocol = this.u8();
          if (protocol > 5) throw this.fail(`pickle protocol ${protocol} is not supported (2-5)`);
          break;
        }
        case 0x95: this.u64(); break; // FRAME: a length hint only
        case 0x2e: { // STOP
          const result = this.pop();
          return result;
        }
        case 0x28: this.marks.push(this.stack.length); break; // MARK
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x29: this.push([]); break; // EMPTY_TUPLE
        case 0x8f: this.push([]); break; // EMPTY_SET
        case 0x64: { // DICT
          const dict = new Map<PyKey, PyValue>();
          this.setItems(dict, this.popMark());
          this.push(dict);
          break;
        }
        case 0x6c: case 0x74: case 0x91: this.push(this.popMark()); break; // LIST, TUPLE, FROZENSET
        case 0x85: this.push([this.pop()]); break; // TUPLE1
        case 0x86: { const b = this.pop(), a = this.pop(); this.push([a, b]); break; } // TUPLE2
        case 0x87: { const c = this.pop(), b = this.pop(), a = this.pop(); this.push([a, b, c]); break; } // TUPLE3
        case 0x73: { const value = this.pop(), key = this.pop(); this.setItems(this.top(), [key, value]); break; } // SETITEM
        case 0x75: { const items = this.popMark(); this.setItems(this.top(), items); break; } // SETITEMS
        case 0x61: { const item = this.pop(); this.appendItems(this.top(), [item]); break; } // APPEND
        case 0x65: case 0x90: { const items = this.popMark(); this.appendItems(this.top(), items); break; } // APPENDS, ADDITEMS
        case 0x71: this.memo.set(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memo.set(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        case 0x70: this.memo.set(Number(this.integer(this.line())), this.top()); break; // PUT
        case 0x68: this.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.push(this.memoGet(this.u32())); break; // LONG_BINGET
        case 0x67: this.push(this.memoGet(Number(this.integer(this.line())))); break; // GET
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(decodeLong(this.take(this.u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0 || n > MAX_LONG_BYTES) throw this.fail(`integer of ${n} bytes is not supported`);
          this.push(decodeLong(this.take(n)));
          break;
        }
        case 0x49: { // INT
          const text = this.line();
          this.push(text === "01" ? true : text === "00" ? false : this.integer(text));
          break;
        }
        case 0x4c: this.push(this.integer(this.line().replace(/L$/, ""))); break; // LONG
        case 0x47: this.push((this.take(8), this.view.getFloat64(this.pos - 8, false))); break; // BINFLOAT (big-endian)
        case 0x46: this.push(Number.parseFloat(this.line())); break; // FLOAT
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x58: this.push(this.text(this.u32())); break; // BINUNICODE
        case 0x8c: this.push(this.text(this.u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.push(this.text(this.u64())); break; // BINUNICODE8
        case 0x56: this.push(decodeRawUnicodeEscape(this.lineBytes())); break; // UNICODE
        case 0x54: this.push(this.text(this.i32())); break; // BINSTRING (python 2 str)
        case 0x55: this.push(this.text(this.u8())); break; // SHORT_BINSTRING
        case 0x42: this.push(new Uint8Array(this.take(this.u32()))); break; // BINBYTES
        case 0x43: this.push(new Uint8Array(this.take(this.u8()))); break; // SHORT_BINBYTES
        case 0x8e: case 0x96: this.push(new Uint8Array(this.take(this.u64()))); break; // BINBYTES8, BYTEARRAY8
        case 0x63: { // GLOBAL
          const module = this.line(), name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop(), module = this.pop();
          if (typeof module !== "string" || typeof name !== "string") throw this.fail("malformed pickle (STACK_GLOBAL needs two strings)");
          this.push(this.global(module, name));
          break;
        }
        case 0x52: { const args = this.pop(), callable = this.pop(); this.push(this.apply(callable, args, "REDUCE")); break; } // REDUCE
        case 0x81: { const args = this.pop(), cls = this.pop(); this.push(this.apply(cls, args, "NEWOBJ")); break; } // NEWOBJ
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop(), args = this.pop(), cls = this.pop();
          if (!(kwargs instanceof Map) || kwargs.size) throw this.fail("NEWOBJ_EX with keyword arguments is not supported");
          this.push(this.apply(cls, args, "NEWOBJ_EX"));
          break;
        }
        case 0x62: { const state = this.pop(); this.build(this.top(), state); break; } // BUILD
        case 0x51: case 0x50: { // BINPERSID, PERSID
          const pid = op === 0x51 ? this.pop() : this.line();
          if (!ops.persistentLoad) throw this.fail("persistent id in a pickle without external storage");
          this.push(ops.persistentLoad(pid));
          break;
        }
        case 0x69: case 0x6f: throw this.fail(`opcode ${op === 0x69 ? "INST" : "OBJ"} (protocol 0/1 object construction) is not supported`);
        case 0x82: case 0x83: case 0x84: throw this.fail("extension-registry opcodes (EXT1/2/4) are not supported");
        case 0x97: case 0x98: throw this.fail("out-of-band buffers (NEXT_BUFFER / READONLY_BUFFER) are not supported");
        default: throw this.fail(`unknown or unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")}`);
      }
    }
  }
}

export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PyValue {
  return new Unpickler(bytes, options).run();
}
