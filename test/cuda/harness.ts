// The CUDA test suite's harness: a CUDA context or a reason to skip, and table-driven CUDA-vs-CPU op cases.
//
// cudaContextOrSkip() gives a CUDA context, or null with the reason (no NVIDIA driver, no nvcc, the library does
// not build or open, dusa_ctx_create fails). cudaSuite(name, body) runs body's tests against a (CUDA, CPU) pair,
// or, without a GPU, prints one line "cuda: skipped — no GPU (<reason>)" and registers the same tests skipped.
//   DUSA_REQUIRE_CUDA=1   no CUDA context is a failure, not a skip (set it on the GPU machine).
//   DUSA_CUDA_STANDIN=cpu a second CPU context in reference mode plays the GPU: checks the suite itself (its
//                         tables, floors, NULL/accumulate bookkeeping) on a machine without one.
//   DUSA_CUDA_STANDIN=cpu-bf16  the "GPU" is a CPU context in bf16 storage, compared with fp32 on the same
//                         bf16-rounded inputs (tol 1e-2): checks the CPU backend's bf16 reference on every case.
//
// bf16 storage: with a GPU, every case runs twice, fp32 and bf16 storage on both contexts (tol 1e-2 in bf16). The
// arguments the header types dusa_act are then bf16 tensors (inputs rounded, outputs poisoned with a bf16 NaN and
// read back widened to fp32); the other float arguments stay fp32. DUSA_CUDA_STORAGES=f32 leaves the bf16 pass out.
//
// A case names an op and its arguments: numbers pass through; inp() uploads the same data to both contexts;
// out() is an output poisoned with NaN on both; acc() an output holding initial values (parameter gradients,
// +=); host() a host-array scalar output (the ops allowed one on CUDA); at() a pointer into a buffer at an
// element offset (strided views such as the adaLN chunks). Every output is read back from both and compared:
// ‖gpu − cpu‖ / max(‖cpu‖, floor) ≤ tol (1e-5), int32 and `exact` outputs bit for bit, and elements an op must
// not write (`written` false) must still hold their poison on the GPU. absFloor: the floor of every output is
// the norm of the same op on |inputs| (the summed |terms| of a multilinear op: GEMM, conv, sums), as the CPU
// op tests do, so a result that cancels far below its terms is not held to a relative error it cannot have.
import { afterAll, describe, expect, setDefaultTimeout } from "bun:test";
import { Context, DusaError, elementBytes, fromBf16, roundToBf16, toBf16, type HostArray, type Tensor } from "../../src/native/index.ts";
import { tryCudaContext } from "../../src/native/device.ts";
import { parameters, type OpName } from "../../src/native/symbols.ts";
import { norm2, relErr } from "../util/check.ts";

// ------------------------------------------------------------------------------------------------------------
// contexts

/** The GPU of this run is a stand-in CPU context in reference mode (DUSA_CUDA_STANDIN=cpu or cpu-bf16). */
export const standIn = process.env.DUSA_CUDA_STANDIN === "cpu" || process.env.DUSA_CUDA_STANDIN === "cpu-bf16";
/** The stand-in checks the CPU backend's bf16 storage against its fp32 (DUSA_CUDA_STANDIN=cpu-bf16). */
const bf16StandIn = process.env.DUSA_CUDA_STANDIN === "cpu-bf16";

let probed: { ok: boolean; reason: string } | null = null;
let shared: Context | null = null;

function createCuda(): Context | null {
  if (standIn) {
    const ctx = Context.create("cpu");
    ctx.setReference(true);
    probed = { ok: true, reason: bf16StandIn ? "stand-in: a CPU context in bf16 storage against fp32 on the same rounded inputs" : "stand-in: a second CPU context in reference mode plays the GPU" };
    return ctx;
  }
  if (probed && !probed.ok) return null;
  const attempt = tryCudaContext({ probeDriver: true });
  probed = attempt.ctx ? { ok: true, reason: "" } : { ok: false, reason: attempt.reason };
  if (!attempt.ctx && process.env.DUSA_REQUIRE_CUDA === "1") throw new Error(`DUSA_REQUIRE_CUDA=1 but there is no CUDA context: ${attempt.reason}`);
  return attempt.ctx;
}

/** A CUDA context shared by the test file (destroyed after it), or null when this machine has none. */
export function cudaContextOrSkip(): Context | null {
  if (shared) return shared;
  shared = createCuda();
  if (shared)
    afterAll(() => {
      shared?.destroy();
      shared = null;
    });
  return shared;
}

/** Why there is no CUDA context (after cudaContextOrSkip returned null). */
export function skipReason(): string {
  return probed?.reason ?? "not probed";
}

let cpuShared: Context | null = null;
function cpuContextForCuda(): Context {
  if (!cpuShared) {
    cpuShared = Context.create("cpu");
    afterAll(() => {
      cpuShared?.destroy();
      cpuShared = null;
    });
  }
  return cpuShared;
}

export type Pair = { readonly gpu: Context; readonly cpu: Context };

/**
 * Registers body's tests in describe(name): run against the CUDA and CPU contexts when there is a GPU, skipped
 * (with one printed line saying why) when not. body must touch the contexts only inside its tests.
 */
export function cudaSuite(name: string, body: (pair: Pair) => void): void {
  // per test file (the harness module may be shared between files): the CPU side of the tiny-model shapes takes
  // seconds on a small machine
  setDefaultTimeout(300_000);
  const gpu = cudaContextOrSkip();
  if (!gpu) {
    console.log(`cuda: skipped — no GPU (${skipReason()})`);
    const unreachable = () => {
      throw new Error("cuda: a skipped suite used its contexts");
    };
    describe.skip(name, () => body({ get gpu() { return unreachable(); }, get cpu() { return unreachable(); } }));
    return;
  }
  if (standIn) console.log(`cuda: ${skipReason()}`);
  describe(name, () => body({ gpu, get cpu() { return cpuContextForCuda(); } }));
}

// ------------------------------------------------------------------------------------------------------------
// case arguments

type OutOptions = {
  dtype?: "f32" | "i32" | "bf16";
  /** fill value before the call (NaN: a skipped element shows) */
  init?: number;
  tol?: number;
  /** explicit floor of the relative error (absFloor computes one) */
  floor?: number;
  /** bit-for-bit equality (Philox fills, int outputs always) */
  exact?: boolean;
  /** which elements the op writes; the others must keep the init value on the GPU, bit for bit */
  written?: (i: number) => boolean;
  /** not compared (a buffer only pointed into, or a value checked elsewhere) */
  ignore?: boolean;
  /** each element on its own (a few scalars of different scales: the loss terms) */
  perElement?: boolean;
  /** set by the harness: a bf16 output read back as fp32 (its poison is the bf16 NaN widened) */
  widened?: boolean;
};

export class In {
  constructor(readonly data: HostArray) {}
}
export class Out {
  constructor(readonly name: string, readonly size: number, readonly o: OutOptions) {}
}
export class Acc {
  constructor(readonly name: string, readonly data: Float32Array, readonly o: OutOptions) {}
}
export class HostOut {
  constructor(readonly name: string, readonly size: number, readonly o: OutOptions) {}
}
export class At {
  constructor(readonly buf: In | Out | Acc, readonly offset: number) {}
}
export type Arg = number | bigint | null | In | Out | Acc | HostOut | At;

export const inp = (data: HostArray) => new In(data);
export const out = (name: string, size: number, o: OutOptions = {}) => new Out(name, size, o);
export const outB = (name: string, size: number, o: OutOptions = {}) => new Out(name, size, { ...o, dtype: "bf16" });
export const outI = (name: string, size: number, o: OutOptions = {}) => new Out(name, size, { ...o, dtype: "i32" });
export const acc = (name: string, data: Float32Array, o: OutOptions = {}) => new Acc(name, data, o);
export const host = (name: string, size: number, o: OutOptions = {}) => new HostOut(name, size, o);
export const at = (buf: In | Out | Acc, offset: number) => new At(buf, offset);

export type Case = {
  label: string;
  op: OpName;
  args: Arg[];
  /** default tolerance of every output (1e-5) */
  tol?: number;
  /** floors from the op on |inputs| (multilinear ops) */
  absFloor?: boolean;
};

type Outputs = Map<string, HostArray>;

const BF16_POISON = 0x7fc1; // a quiet NaN no conversion of these tests produces

/** The positions of c.args the header types dusa_act (bf16 tensors on a bf16-storage context). */
function activationArgs(op: string): boolean[] {
  return (parameters[op] ?? []).slice(1).map(([, ctype]) => ctype.includes("dusa_act"));
}

/** The buffers of a case passed as dusa_act arguments; a buffer passed both ways is a mistake of the table. */
function activationBuffers(c: Case): Set<In | Out | Acc> {
  const isAct = activationArgs(c.op), act = new Set<In | Out | Acc>(), other = new Set<In | Out | Acc>();
  c.args.forEach((a, i) => {
    const b = a instanceof At ? a.buf : a;
    if (b instanceof In || b instanceof Out || b instanceof Acc) (isAct[i] ? act : other).add(b);
  });
  for (const b of act) if (other.has(b)) throw new Error(`${c.label}: one buffer passed as a dusa_act and a float argument of ${c.op}`);
  return act;
}

/**
 * Runs a case on one context; `abs` takes |x| of every float input, initial value and number (the floors).
 * On a bf16-storage context the dusa_act buffers are bf16 (read back widened to fp32); `rounded` gives an fp32
 * context the same bf16-rounded values of them (the fp32 side of a bf16 comparison).
 */
export function execute(ctx: Context, c: Case, abs = false, rounded = false): Outputs {
  const tensors = new Map<In | Out | Acc, Tensor>();
  const hosts = new Map<HostOut, HostArray>();
  const bf16 = ctx.storage === "bf16";
  const act = bf16 || rounded ? activationBuffers(c) : new Set<In | Out | Acc>();
  const floatData = (b: In | Acc): HostArray => {
    const data = abs && b.data instanceof Float32Array ? b.data.map(Math.abs) : b.data;
    if (!act.has(b) || !(data instanceof Float32Array)) return data;
    return bf16 ? toBf16(data) : roundToBf16(data);
  };
  const tensorOf = (b: In | Out | Acc): Tensor => {
    let t = tensors.get(b);
    if (t) return t;
    if (b instanceof In) t = ctx.upload(floatData(b), [b.data.length], "act");
    else if (b instanceof Acc) t = ctx.upload(floatData(b), [b.data.length], "grad");
    else if (b.o.dtype === "bf16" || (bf16 && act.has(b))) {
      const fill = b.o.dtype !== "bf16" && b.o.init !== undefined ? toBf16([b.o.init])[0] : BF16_POISON;
      t = ctx.alloc([b.size], "act", "bf16").write(new Uint16Array(b.size).fill(fill));
    } else t = ctx.alloc([b.size], "act", b.o.dtype ?? "f32").fill(b.o.init !== undefined && rounded && act.has(b) ? roundToBf16([b.o.init])[0] : b.o.init ?? Number.NaN);
    tensors.set(b, t);
    return t;
  };
  try {
    const raw = c.args.map((a) => {
      if (a === null || typeof a === "bigint") return a;
      if (typeof a === "number") return abs ? Math.abs(a) : a;
      if (a instanceof HostOut) {
        const h = a.o.dtype === "i32" ? new Int32Array(a.size).fill(-7) : new Float32Array(a.size).fill(a.o.init ?? Number.NaN);
        hosts.set(a, h);
        return h;
      }
      if (a instanceof At) {
        const t = tensorOf(a.buf);
        return t.ptr + elementBytes(t.dtype) * a.offset;
      }
      return tensorOf(a);
    });
    const call = ctx.call.bind(ctx) as (name: string, ...args: unknown[]) => void;
    call(c.op, ...raw);
    const results: Outputs = new Map();
    for (const [b, t] of tensors) {
      if (b instanceof In || b.o.ignore) continue;
      const data = t.read();
      results.set(b.name, b.o.dtype !== "bf16" && data instanceof Uint16Array ? fromBf16(data) : data);
    }
    for (const [h, data] of hosts) if (!h.o.ignore) results.set(h.name, data);
    return results;
  } finally {
    for (const t of tensors.values()) t.free();
  }
}

function outputsOf(c: Case): (Out | Acc | HostOut)[] {
  const seen = new Set<Out | Acc | HostOut>();
  for (const a of c.args) {
    const b = a instanceof At ? a.buf : a;
    if (b instanceof Out || b instanceof Acc || b instanceof HostOut) seen.add(b);
  }
  return [...seen].filter((b) => !b.o.ignore);
}

const bits = (a: HostArray) => (a instanceof Uint16Array ? a : new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Compares one output of the GPU with the CPU's; throws naming the case and output. */
export function compareOutput(label: string, name: string, gpu: HostArray, cpu: HostArray, o: OutOptions, tol: number, floorOf: number | HostArray): void {
  const where = `${label}: ${name}`;
  expect(gpu.length).toBe(cpu.length);
  if (o.dtype === "i32" || o.dtype === "bf16" || o.exact) {
    const [g, c] = [Array.from(bits(gpu)), Array.from(bits(cpu))];
    const bad = g.findIndex((v, i) => v !== c[i]);
    if (bad >= 0) throw new Error(`${where}: not bit-identical at [${bad}] of ${g.length}: gpu ${gpu[bad]}, cpu ${cpu[bad]}`);
    return;
  }
  let g: ArrayLike<number> = gpu, c: ArrayLike<number> = cpu, f: ArrayLike<number> | null = typeof floorOf === "number" ? null : floorOf;
  if (o.written) {
    // a widened bf16 poison keeps its NaN payload only as bits (a JS number would make it the canonical NaN)
    const poisonBits = o.init === undefined && o.widened ? (BF16_POISON << 16) >>> 0 : bits(new Float32Array([o.init ?? Number.NaN]))[0];
    const gb = bits(gpu);
    const keep: number[] = [];
    for (let i = 0; i < gpu.length; i++) {
      if (o.written(i)) keep.push(i);
      else if (gb[i] !== poisonBits) throw new Error(`${where}: element [${i}] must not be written, but holds ${gpu[i]}`);
    }
    g = keep.map((i) => gpu[i]);
    c = keep.map((i) => cpu[i]);
    if (f) f = keep.map((i) => f![i]);
  }
  const floor = f ? norm2(f) : (floorOf as number);
  if (o.perElement) {
    for (let i = 0; i < c.length; i++) compareOutput(label, `${name}[${i}]`, Float32Array.of(g[i]), Float32Array.of(c[i]), { tol }, tol, f ? Math.abs(f[i]) : floor);
    return;
  }
  const err = relErr(g, c, floor);
  if (!(err <= tol)) {
    let worst = 0;
    for (let i = 0; i < c.length; i++) if (!(Math.abs(g[i] - c[i]) <= Math.abs(g[worst] - c[worst]))) worst = i;
    throw new Error(`${where}: ‖gpu − cpu‖/‖cpu‖ = ${err.toExponential(3)} > ${tol} (floor ${floor.toExponential(2)}); worst at [${worst}]: gpu ${g[worst]}, cpu ${c[worst]}`);
  }
}

/** The bf16 storage tolerance (DESIGN §8). */
export const BF16_TOL = 1e-2;

function compareAll(c: Case, got: Outputs, want: Outputs, floors: Outputs | null, bf16: Set<In | Out | Acc> | null): void {
  for (const o of outputsOf(c)) {
    const g = got.get(o.name)!, w = want.get(o.name)!;
    const floor = o.o.floor ?? floors?.get(o.name) ?? 0;
    const tol = o.o.tol ?? c.tol ?? 1e-5;
    const widened = bf16 !== null && !(o instanceof HostOut) && bf16.has(o);
    compareOutput(c.label, o.name, g, w, { ...o.o, widened }, bf16 ? Math.max(tol, BF16_TOL) : tol, floor);
  }
}

/** DUSA_CUDA_STORAGES=f32 skips the bf16 pass (a short GPU session); the default checks both. */
const bf16Pass = (process.env.DUSA_CUDA_STORAGES ?? "f32,bf16").split(",").includes("bf16") || bf16StandIn;

/** The case in bf16 storage: on both contexts (GPU), or bf16 against fp32 on rounded inputs (the cpu-bf16 stand-in). */
function checkBf16(pair: Pair, c: Case): void {
  const act = activationBuffers(c);
  if (act.size === 0 || !bf16Pass) return; // nothing of this op follows the storage dtype, or bf16 not asked for
  const run = (ctx: Context) => {
    ctx.storage = "bf16";
    try {
      return execute(ctx, c);
    } finally {
      ctx.storage = "f32";
    }
  };
  const want = bf16StandIn ? execute(pair.cpu, c, false, true) : run(pair.cpu);
  const got = run(pair.gpu);
  const floors = c.absFloor ? execute(pair.cpu, c, true, true) : null;
  compareAll({ ...c, label: `${c.label} [bf16]` }, got, want, floors, act);
}

/** Runs the case on both contexts and compares every output (and again in bf16 storage). Returns the CPU's fp32 outputs. */
export function check(pair: Pair, c: Case): Outputs {
  const want = execute(pair.cpu, c);
  if (!bf16StandIn) {
    const got = execute(pair.gpu, c);
    const floors = c.absFloor ? execute(pair.cpu, c, true) : null;
    compareAll(c, got, want, floors, null);
  }
  checkBf16(pair, c);
  return want;
}

/** A CPU call whose outputs feed a case (saved values of a forward for its backward, so both backends see the same). */
export function cpuRun(pair: Pair, c: Omit<Case, "label">): Outputs {
  return execute(pair.cpu, { ...c, label: c.op });
}

/** Expects `fn` to throw a DusaError of `status` on both backends (bad input is an error on CUDA too). */
export function expectSameError(pair: Pair, label: string, status: number, fn: (ctx: Context) => void): void {
  for (const [backend, ctx] of [["cpu", pair.cpu], ["gpu", pair.gpu]] as const) {
    let caught: unknown = null;
    try {
      fn(ctx);
    } catch (e) {
      caught = e;
    }
    if (!(caught instanceof DusaError)) throw new Error(`${label} on ${backend}: expected a DusaError, got ${caught === null ? "no error" : String(caught)}`);
    expect([label, backend, caught.status]).toEqual([label, backend, status]);
  }
}
