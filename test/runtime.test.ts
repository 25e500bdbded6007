// The native runtime: ABI completeness, the generated symbol table, contexts, tagged memory accounting,
// memory limits and clean out-of-memory errors, use-after-free guards, the profiler, errors that name the op.
import { expect, test } from "bun:test";
import { Context, DusaError } from "../src/native/index.ts";
import { generate, headerPath, parseHeader, symbolsPath } from "../src/native/gen-symbols.ts";
import { cpuContext } from "./util/context.ts";

const ctx = cpuContext();

test("src/native/symbols.ts is generated from the current dusa.h (run `bun run gen:ffi`)", async () => {
  const expected = generate(await Bun.file(headerPath).text());
  expect(await Bun.file(symbolsPath).text()).toBe(expected);
});

test("the CPU backend implements every function of dusa.h", async () => {
  const declared = parseHeader(await Bun.file(headerPath).text()).map((d) => d.name);
  expect(declared.length).toBeGreaterThan(60);
  expect([...ctx.lib.missing]).toEqual([]);
});

test("contexts: unknown backend and device are errors, not crashes", () => {
  expect(() => Context.create("tpu" as never)).toThrow(/unknown backend 'tpu'/);
  const sym = ctx.lib.symbols;
  const out = new BigUint64Array(1);
  expect(sym.dusa_ctx_create(out, Buffer.from("tpu\0"), 0)).toBe(4);
  expect(String(sym.dusa_last_error())).toMatch(/cpu backend, not 'tpu'/);
  expect(sym.dusa_ctx_create(out, Buffer.from("cpu\0"), 3)).toBe(1);
  expect(sym.dusa_ctx_create(null, Buffer.from("cpu\0"), 0)).toBe(1);
  // a null context is an error on every op
  expect(sym.dusa_fill(null, null, 0, 1)).toBe(1);
  expect(String(sym.dusa_last_error())).toMatch(/dusa_fill: context is null/);
});

test("tagged memory: current and peak per tag, reset peak", () => {
  const c = Context.create("cpu");
  const a = c.alloc([1000], "param"), b = c.alloc([250], "grad"), d = c.alloc([10, 10], "act");
  let m = c.memory();
  expect(m.param.current).toBe(4000);
  expect(m.grad.current).toBe(1000);
  expect(m.act.current).toBe(400);
  expect(m.optim.current).toBe(0);
  d.free();
  m = c.memory();
  expect(m.act).toEqual({ current: 0, peak: 400 });
  c.resetPeak();
  expect(c.memory().act.peak).toBe(0);
  a.free();
  b.free();
  c.destroy();
});

test("memory limit: an allocation past it is a clean out-of-memory error naming the tag", () => {
  const c = Context.create("cpu");
  c.setMemoryLimit(1 << 20);
  const ok = c.alloc([100_000], "act");
  expect(() => c.alloc([200_000], "param")).toThrow(/out of memory.*200000|800000 bytes \(param\) would pass the memory limit/);
  try {
    c.alloc([200_000], "param");
  } catch (e) {
    expect(e).toBeInstanceOf(DusaError);
    expect((e as DusaError).status).toBe(2);
  }
  ok.free();
  c.setMemoryLimit(0);
  // a request the machine cannot satisfy is also an error, not a crash
  expect(() => c.call("dusa_alloc", new BigUint64Array(1), 2 ** 52, 3)).toThrow(/out of memory/);
  c.destroy();
});

test("bad sizes and pointers are errors naming the op and argument shapes", () => {
  expect(() => ctx.alloc([0])).toThrow(/cannot allocate/);
  expect(() => ctx.call("dusa_alloc", new BigUint64Array(1), 16, 99)).toThrow(/unknown tag 99/);
  const x = ctx.alloc([2, 3]);
  expect(() => ctx.call("dusa_matmul", x, x, null, 2, 3, 3, 0, 0, 1, 0)).toThrow(/dusa_matmul\(C=\(2,3\), A=\(2,3\), B=null.*B is null/);
  expect(() => ctx.call("dusa_free", 12345)).toThrow(/not allocated by this context/);
  x.free();
  expect(() => x.read()).toThrow(/use of a freed tensor/);
  x.free(); // idempotent
});

test("destroying a context invalidates its tensors", () => {
  const c = Context.create("cpu");
  const t = c.alloc([4]);
  c.destroy();
  expect(() => t.read()).toThrow(/freed tensor/);
  expect(() => c.alloc([4])).toThrow(/destroyed context/);
});

test("profiler counts calls and time per op", () => {
  const c = Context.create("cpu");
  const x = c.alloc([1000]);
  c.profile(true);
  for (let i = 0; i < 3; i++) x.fill(i);
  c.profile(false);
  x.fill(7);
  const fill = c.profileEntries().find((e) => e.name === "dusa_fill");
  expect(fill?.calls).toBe(3);
  expect(fill!.seconds).toBeGreaterThan(0);
  c.resetProfile();
  expect(c.profileEntries()).toEqual([]);
  x.free();
  c.destroy();
});

test("threads, reference switch and GEMM path are settable; an unknown path is an error", () => {
  const c = Context.create("cpu");
  c.threads = 1;
  expect(c.threads).toBe(1);
  expect(() => (c.threads = 0)).toThrow(/threads must be > 0/);
  c.setReference(true);
  c.setGemmPath("blocked");
  expect(() => c.call("dusa_ctx_set_gemm_path", 9)).toThrow(/unknown path 9/);
  c.destroy();
});
