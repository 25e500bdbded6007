// A native context: backend, device, threads, tagged memory accounting, profiler, and the one place native
// calls are made (call), which turns a failed status into a DusaError naming the op and its argument shapes.
import { CString, ptr as addressOf } from "bun:ffi";
import type { Backend } from "./build.ts";
import { DusaError } from "./errors.ts";
import { Graph, type RecordedCall } from "./graph.ts";
import { openLibrary, type NativeLibrary } from "./library.ts";
import type { PtrArg } from "./ptr.ts";
import { parameters, type OpArgs, type OpName } from "./symbols.ts";
import { elementBytes, Tensor, TensorView, formatShape, numel, tags, type DType, type HostArray, type Tag } from "./tensor.ts";

export type GemmPath = "auto" | "blas" | "blocked" | "naive";
const gemmPaths: GemmPath[] = ["auto", "blas", "blocked", "naive"];
export type MemoryStats = Record<Tag, { current: number; peak: number }>;
export type ProfileEntry = { name: string; calls: number; seconds: number };

/** The dtype a tensor argument must have, by its C type: "act" follows the context's storage; null: any. */
type Expected = DType | "act" | "f32|i32" | null;
const expectedByCType: Record<string, Expected> = {
  "dusa_act*": "act", "const dusa_act*": "act", "float*": "f32", "const float*": "f32",
  "int*": "i32", "int32_t*": "i32", "const int32_t*": "i32", "uint16_t*": "bf16", "const uint16_t*": "bf16",
};
const expectedDtypes = new Map<string, Expected[]>(
  Object.entries(parameters).map(([name, ps]) => [name, ps.slice(1).map(([, ctype]) => expectedByCType[ctype] ?? null)]),
);
expectedDtypes.set("dusa_fill", ["f32|i32", null, null]); // a 4-byte pattern: int tensors are poisoned with it too

/** Calls that need the host, refused while a graph is recorded (dusa_ctx_set_storage is recorded like an op). */
const hostCalls = new Set([
  "dusa_alloc", "dusa_free", "dusa_copy_h2d", "dusa_copy_d2h", "dusa_sync", "dusa_memory_stats", "dusa_memory_reset_peak",
  "dusa_profile_enable", "dusa_profile_reset", "dusa_profile_count", "dusa_profile_entry", "dusa_ctx_set_threads",
  "dusa_ctx_get_threads", "dusa_ctx_set_reference", "dusa_ctx_set_gemm_path", "dusa_ctx_get_storage",
  "dusa_ctx_set_memory_limit", "dusa_graph_begin", "dusa_graph_end", "dusa_graph_launch", "dusa_graph_destroy",
]);

type Recording = { calls: RecordedCall[]; tensors: Set<Tensor>; native: boolean; ops: number };

function describeArg(name: string, value: unknown): string {
  if (value instanceof Tensor || value instanceof TensorView) return `${name}=${value.freed ? "freed" : formatShape(value.shape)}`;
  if (value === null || value === undefined) return `${name}=null`;
  if (ArrayBuffer.isView(value)) return `${name}=host[${(value as HostArray).length ?? value.byteLength}]`;
  return `${name}=${value}`;
}

export class Context {
  readonly lib: NativeLibrary;
  #handle: number;
  #live = new Set<Tensor>();
  #out64 = new BigUint64Array(2);
  #outPtr = new BigUint64Array(1);
  #storage: "f32" | "bf16" = "f32";
  #recording: Recording | null = null;

  private constructor(lib: NativeLibrary, handle: number, readonly backend: Backend, readonly device: number) {
    this.lib = lib;
    this.#handle = handle;
  }

  /** A context of one backend; src/native/device.ts openContext() picks the backend from a `device` setting. */
  static create(backend: Backend = "cpu", device = 0): Context {
    if (backend !== "cpu" && backend !== "cuda") throw new Error(`dusa: unknown backend '${backend}' (cpu, cuda)`);
    const lib = openLibrary(backend);
    const out = new BigUint64Array(1);
    const status = lib.symbols.dusa_ctx_create(out, Buffer.from(`${backend}\0`), device);
    if (status !== 0) throw new DusaError("dusa_ctx_create", status, Context.lastError(lib), `backend=${backend}, device=${device}`);
    return new Context(lib, Number(out[0]), backend, device);
  }

  static lastError(lib: NativeLibrary): string {
    return String(lib.symbols.dusa_last_error());
  }

  get handle(): number {
    if (this.#handle === 0) throw new Error("dusa: use of a destroyed context");
    return this.#handle;
  }

  supports(name: OpName): boolean {
    return !this.lib.missing.has(name);
  }

  /** Calls a native op (context passed implicitly); throws DusaError on a failed status. */
  call<K extends OpName>(name: K, ...args: OpArgs[K]): void {
    const fn = (this.lib.symbols as unknown as Record<string, (...a: unknown[]) => number>)[name];
    if (!fn) throw new DusaError(name, 4, `not implemented by the ${this.backend} backend`, "");
    this.#checkDtypes(name, args as unknown[]);
    const raw = (args as unknown[]).map((a) => (a instanceof Tensor || a instanceof TensorView ? a.ptr : a));
    if (this.#recording && this.#record(this.#recording, name, fn, args as unknown[], raw)) return;
    const status = fn(this.handle, ...raw);
    if (status !== 0) throw new DusaError(name, status, Context.lastError(this.lib), this.#describe(name, args as unknown[]));
  }

  #describe(name: string, args: unknown[]): string {
    const names = (parameters[name] ?? []).slice(1).map((p) => p[0]);
    return args.map((a, i) => describeArg(names[i] ?? `arg${i}`, a)).join(", ");
  }

  /** While recording: refuses host work, notes the tensors used; true when the call was kept for replay (CPU). */
  #record(r: Recording, name: string, fn: (...a: unknown[]) => number, args: unknown[], raw: unknown[]): boolean {
    const refuse = (why: string) => {
      throw new DusaError(name, 1, `${why} is not allowed while a graph is being recorded (run the step once before recording it, and read results after replaying)`, this.#describe(name, args));
    };
    if (hostCalls.has(name)) refuse("a call that needs the host");
    args.forEach((a, i) => {
      if (ArrayBuffer.isView(a)) refuse(`host memory (argument ${parameters[name]?.[i + 1]?.[0] ?? i})`);
      if (a instanceof Tensor) r.tensors.add(a);
      else if (a instanceof TensorView) r.tensors.add(a.base);
    });
    r.ops++;
    if (r.native) return false;
    r.calls.push({ name, fn, raw, args: this.#describe(name, args) });
    return true;
  }

  /** Whether a graph is being recorded (ops are kept, not run). */
  get recording(): boolean {
    return this.#recording !== null;
  }

  /**
   * Records the native calls `fn` makes as a graph, running none of them: a CUDA graph on the CUDA backend, the call
   * list on the CPU. Every buffer must exist beforehand (run the same step once first); results are read after replay.
   */
  record(fn: () => void): Graph {
    if (this.#recording) throw new Error("dusa: a graph is already being recorded on this context");
    const native = this.backend === "cuda";
    if (native) this.call("dusa_graph_begin");
    const r: Recording = { calls: [], tensors: new Set(), native, ops: 0 };
    this.#recording = r;
    try {
      fn();
    } catch (e) {
      this.#recording = null;
      if (native) this.#abandonNativeRecording();
      throw e;
    }
    this.#recording = null;
    let handle: number | null = null;
    if (native) {
      this.call("dusa_graph_end", this.#outPtr);
      handle = Number(this.#outPtr[0]);
    }
    return new Graph(this, handle, r.calls, r.tensors, r.ops);
  }

  #abandonNativeRecording(): void {
    const out = new BigUint64Array(1);
    if (this.lib.symbols.dusa_graph_end(this.handle as never, out) === 0 && out[0] !== 0n) this.lib.symbols.dusa_graph_destroy(this.handle as never, Number(out[0]) as never);
  }

  /** Runs a recorded graph (called by Graph.replay). */
  replay(graph: Graph): void {
    if (this.#recording) throw new Error("dusa: a graph cannot be replayed while another is being recorded");
    if (graph.stale) throw new Error("dusa: a tensor this graph uses has been freed since it was recorded; record the step again");
    if (graph.native !== null) return this.call("dusa_graph_launch", graph.native);
    const handle = this.handle;
    for (const c of graph.calls) {
      const status = c.fn(handle, ...c.raw);
      if (status !== 0) throw new DusaError(c.name, status, `${Context.lastError(this.lib)} (replaying a recorded graph)`, c.args);
    }
  }

  /** Releases a graph's native half (called by Graph.free). */
  destroyGraph(graph: Graph): void {
    if (graph.native !== null && this.#handle !== 0) this.call("dusa_graph_destroy", graph.native);
  }

  /** Tensors passed where the header wants another dtype (an fp32 activation on a bf16 context, an int tensor for
   * floats) are refused before the call, naming the op and the parameter. */
  #checkDtypes(name: string, args: unknown[]): void {
    const expected = expectedDtypes.get(name);
    if (!expected) return;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (!(a instanceof Tensor || a instanceof TensorView) || expected[i] === null) continue;
      const want = expected[i] === "act" ? this.#storage : expected[i];
      const got = a instanceof Tensor ? a.dtype : a.base.dtype;
      if (got !== want && !(want === "f32|i32" && got !== "bf16")) {
        const [pname, ctype] = parameters[name][i + 1];
        const why = expected[i] === "act" ? ` (an activation argument: the context stores ${this.#storage})` : "";
        throw new DusaError(name, 1, `${pname} (${ctype}) must be a ${want} tensor${why}, got ${got} ${formatShape(a.shape)}`, "");
      }
    }
  }

  /** How ops store their activation arguments (dusa_act in dusa.h): fp32, or bf16 with fp32 compute. */
  get storage(): "f32" | "bf16" {
    return this.#storage;
  }

  set storage(dtype: "f32" | "bf16") {
    if (dtype !== "f32" && dtype !== "bf16") throw new Error(`dusa: storage must be f32 or bf16, got ${String(dtype)}`);
    this.call("dusa_ctx_set_storage", dtype === "bf16" ? 1 : 0);
    this.#storage = dtype;
  }

  alloc(shape: readonly number[], tag: Tag = "act", dtype: DType = "f32"): Tensor {
    const size = numel(shape);
    if (!Number.isInteger(size) || size <= 0 || shape.some((d) => !Number.isInteger(d) || d <= 0))
      throw new Error(`dusa: cannot allocate a tensor of shape ${formatShape(shape)}`);
    this.call("dusa_alloc", this.#outPtr, size * elementBytes(dtype), tags.indexOf(tag));
    const tensor = new Tensor(this, Number(this.#outPtr[0]), shape, dtype, tag);
    this.#live.add(tensor);
    return tensor;
  }

  upload(data: ArrayLike<number>, shape: readonly number[], tag: Tag = "act", dtype: DType = data instanceof Int32Array ? "i32" : data instanceof Uint16Array ? "bf16" : "f32"): Tensor {
    if (data.length !== numel(shape)) throw new Error(`dusa: ${data.length} values for shape ${formatShape(shape)}`);
    return this.alloc(shape, tag, dtype).write(data);
  }

  zeros(shape: readonly number[], tag: Tag = "act"): Tensor {
    return this.alloc(shape, tag).fill(0);
  }

  release(tensor: Tensor, address: number): void {
    this.#live.delete(tensor);
    if (this.#handle !== 0) this.call("dusa_free", address);
  }

  get liveTensors(): number {
    return this.#live.size;
  }

  set threads(n: number) {
    this.call("dusa_ctx_set_threads", n);
  }

  get threads(): number {
    const out = new Int32Array(1);
    this.call("dusa_ctx_get_threads", out);
    return out[0];
  }

  setReference(on: boolean): void {
    this.call("dusa_ctx_set_reference", on ? 1 : 0);
  }

  setGemmPath(path: GemmPath): void {
    this.call("dusa_ctx_set_gemm_path", gemmPaths.indexOf(path));
  }

  get hasBlas(): boolean {
    return this.lib.symbols.dusa_has_blas() === 1;
  }

  setMemoryLimit(bytes: number): void {
    this.call("dusa_ctx_set_memory_limit", bytes);
  }

  memory(): MemoryStats {
    const stats = {} as MemoryStats;
    tags.forEach((tag, i) => {
      this.call("dusa_memory_stats", i, this.#out64, addressOf(this.#out64, 8));
      stats[tag] = { current: Number(this.#out64[0]), peak: Number(this.#out64[1]) };
    });
    return stats;
  }

  resetPeak(): void {
    this.call("dusa_memory_reset_peak");
  }

  sync(): void {
    this.call("dusa_sync");
  }

  profile(enabled: boolean): void {
    this.call("dusa_profile_enable", enabled ? 1 : 0);
  }

  resetProfile(): void {
    this.call("dusa_profile_reset");
  }

  profileEntries(): ProfileEntry[] {
    const count = new Int32Array(1);
    this.call("dusa_profile_count", count);
    const name = new Uint8Array(128);
    const calls = new BigUint64Array(1);
    const seconds = new Float64Array(1);
    const entries: ProfileEntry[] = [];
    for (let i = 0; i < count[0]; i++) {
      this.call("dusa_profile_entry", i, name, name.length, calls, seconds);
      entries.push({ name: new CString(addressOf(name)).toString(), calls: Number(calls[0]), seconds: seconds[0] });
    }
    return entries;
  }

  destroy(): void {
    if (this.#handle === 0) return;
    for (const t of this.#live) t.invalidate();
    this.#live.clear();
    this.lib.symbols.dusa_ctx_destroy(this.#handle as never);
    this.#handle = 0;
  }
}

export type { PtrArg };
