// The CUDA backend's runtime: every function of dusa.h exported; context creation errors; copies (host <-> device,
// device <-> device, at offsets, f32 and i32, bit for bit); tagged memory accounting; a memory limit and an
// allocation the device cannot satisfy are clean out-of-memory errors after which the context still works; bad
// input (null pointers, bad sizes, out-of-range ids and labels, bad options) is a DusaError of the same status as
// on the CPU; the profiler; device=cuda through openContext.
import { expect, test } from "bun:test";
import { Context, DusaError, openContext } from "../../src/native/index.ts";
import { headerPath, parseHeader } from "../../src/native/gen-symbols.ts";
import { freshRng, integers, uniform } from "../util/random.ts";
import { cudaSuite, expectSameError, standIn } from "./harness.ts";

cudaSuite("cuda: runtime", (pair) => {
  test("the CUDA library exports every function of dusa.h", async () => {
    const declared = parseHeader(await Bun.file(headerPath).text()).map((d) => d.name);
    expect(declared.length).toBeGreaterThan(60);
    expect([...pair.gpu.lib.missing]).toEqual([]);
    expect(String(pair.gpu.lib.symbols.dusa_build_info()).length).toBeGreaterThan(0);
  });

  test("context creation: the other backend's name and a device that does not exist are errors, not crashes", () => {
    const sym = pair.gpu.lib.symbols, handle = new BigUint64Array(1);
    expect(sym.dusa_ctx_create(handle, Buffer.from(`${standIn ? "cuda" : "cpu"}\0`), 0)).toBe(4);
    expect(sym.dusa_ctx_create(handle, Buffer.from(`${pair.gpu.backend}\0`), 999)).toBe(1);
    expect(sym.dusa_ctx_create(null, Buffer.from(`${pair.gpu.backend}\0`), 0)).toBe(1);
    expect(sym.dusa_fill(null, null, 0, 1)).toBe(1);
    expect(String(sym.dusa_last_error())).toMatch(/dusa_fill: context is null/);
    if (!standIn) expect(() => openContext("cuda", 0, { index: 999, log: null })).toThrow(/device=cuda.*999/s);
  });

  test("device=cuda and device=auto through openContext give CUDA contexts", () => {
    if (standIn) return;
    for (const device of ["cuda", "auto"] as const) {
      const lines: string[] = [];
      const ctx = openContext(device, 4, { log: (l) => lines.push(l) });
      expect(ctx.backend).toBe("cuda");
      expect(lines.join("\n")).toMatch(/device: cuda:0/);
      ctx.destroy();
    }
  });

  test("copies: h2d, d2h, d2d at offsets, f32 and i32, bit for bit; threads, sync, GEMM path and reference accepted", () => {
    const ctx = pair.gpu, rng = freshRng();
    for (const n of [1, 5, 4097, 1_000_003]) {
      const X = uniform(rng, n), I = integers(rng, n, 1 << 30);
      X[0] = Number.NaN; // any bits survive
      const a = ctx.upload(X, [n]), b = ctx.alloc([n]).fill(3), ia = ctx.upload(I, [n], "act", "i32");
      expect(new Uint32Array(a.readFloat().buffer)).toEqual(new Uint32Array(X.buffer));
      expect(ia.read()).toEqual(I);
      ctx.call("dusa_copy_d2d", b, a, n * 4);
      expect(new Uint32Array(b.readFloat().buffer)).toEqual(new Uint32Array(X.buffer));
      if (n > 2) {
        const half = Math.floor(n / 2);
        b.fill(0);
        ctx.call("dusa_copy_d2d", b.slice(1, [half]), a.slice(n - half, [half]), half * 4);
        const got = b.readFloat();
        expect(got[0]).toBe(0);
        expect(got.subarray(1, half + 1)).toEqual(X.subarray(n - half));
        expect(got[half + 1]).toBe(0);
        expect(a.slice(2, [half]).readFloat()).toEqual(X.subarray(2, 2 + half));
        b.slice(0, [half]).write(X.subarray(0, half));
        expect(Array.from(b.readFloat().subarray(1, half))).toEqual(Array.from(X.subarray(1, half)));
      }
      ctx.call("dusa_copy_d2d", b, a, 0);
      for (const t of [a, b, ia]) t.free();
    }
    ctx.threads = 3;
    expect(ctx.threads).toBeGreaterThan(0);
    ctx.sync();
    for (const path of ["naive", "blocked", "auto"] as const) ctx.setGemmPath(path);
    expect(() => ctx.call("dusa_ctx_set_gemm_path", 9)).toThrow(DusaError);
  });

  test("tagged memory: current and peak per tag, reset peak; a limit and an impossible allocation are clean OOM errors", () => {
    const c = Context.create(pair.gpu.backend);
    try {
      const a = c.alloc([1000], "param"), b = c.alloc([250], "grad"), d = c.alloc([10, 10], "act");
      let m = c.memory();
      expect([m.param.current, m.grad.current, m.act.current, m.optim.current]).toEqual([4000, 1000, 400, 0]);
      d.free();
      m = c.memory();
      expect(m.act).toEqual({ current: 0, peak: 400 });
      c.resetPeak();
      expect(c.memory().act.peak).toBe(0);
      c.setMemoryLimit(1 << 20);
      const ok = c.alloc([100_000], "act");
      let caught: unknown = null;
      try {
        c.alloc([200_000], "param");
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(DusaError);
      expect((caught as DusaError).status).toBe(2);
      expect(String((caught as Error).message)).toMatch(/param/);
      expect(c.memory().param.current).toBe(4000); // the failed allocation is not counted
      c.setMemoryLimit(0);
      // more than any device has: out of memory, not a crash, and the context goes on working
      expect(() => c.call("dusa_alloc", new BigUint64Array(1), 2 ** 52, 3)).toThrow(/out of memory/);
      const x = c.alloc([64]).fill(2.5);
      expect(Array.from(x.readFloat())).toEqual(new Array(64).fill(2.5));
      for (const t of [a, b, ok, x]) t.free();
      expect(() => c.call("dusa_free", 12345)).toThrow(DusaError);
    } finally {
      c.destroy();
    }
  });

  test("bad input is a DusaError of the CPU's status on the GPU too, and the context keeps working", () => {
    const T = (ctx: Context, n = 64) => ctx.alloc([n]);
    const I = (ctx: Context, values: number[]) => ctx.upload(Int32Array.from(values), [values.length], "act", "i32");
    const cases: [string, number, (ctx: Context) => void][] = [
      ["gelu out null", 1, (c) => c.call("dusa_gelu_forward", null, T(c), 4, 0)],
      ["matmul B null", 1, (c) => c.call("dusa_matmul", T(c), T(c), null, 2, 3, 3, 0, 0, 1, 0)],
      ["linear N = 0", 1, (c) => c.call("dusa_linear_forward", T(c), T(c), T(c), null, 0, 4, 4)],
      ["conv2d stride 0", 1, (c) => c.call("dusa_conv2d_forward", T(c), T(c), T(c), null, 1, 1, 4, 4, 1, 3, 3, 0, 1, 1, 1, 1, 1)],
      ["conv2d kernel larger than the padded image", 1, (c) => c.call("dusa_conv2d_forward", T(c), T(c), T(c), null, 1, 1, 2, 2, 1, 5, 5, 1, 1, 1, 0, 1, 0)],
      ["conv2d backward din without weight", 1, (c) => c.call("dusa_conv2d_backward", T(c), null, null, T(c), T(c), null, 1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1)],
      ["dwconv2d even kernel", 1, (c) => c.call("dusa_dwconv2d_forward", T(c), T(c), T(c), null, 1, 1, 4, 4, 2)],
      ["groupnorm C % G", 1, (c) => c.call("dusa_groupnorm_forward", T(c), T(c), T(c), T(c), null, null, 1, 6, 4, 4, 1e-6, 0)],
      ["layernorm mean null", 1, (c) => c.call("dusa_layernorm_forward", T(c), null, T(c), T(c), null, null, 4, 4, 1e-5)],
      ["gated residual gate_stride < C", 1, (c) => c.call("dusa_gated_residual_forward", T(c), T(c), T(c), T(c), 1, 1, 4, 3)],
      ["patchify H % P", 1, (c) => c.call("dusa_patchify_forward", T(c), T(c), 1, 1, 6, 5, 2)],
      ["avgpool HW = 0", 1, (c) => c.call("dusa_avgpool_forward", T(c), T(c), 1, 1, 0)],
      ["pad2d negative", 1, (c) => c.call("dusa_pad2d_forward", T(c), T(c), 1, 1, 4, 4, 0, -1, 0, 0)],
      ["attention row_stride < NH·HD", 1, (c) => c.call("dusa_attention_forward", T(c), T(c), T(c), T(c), T(c), 1, 4, 2, 4, 6)],
      ["softmax temperature 0", 1, (c) => c.call("dusa_softmax_forward", T(c), T(c), 3, 10, 0)],
      ["l2norm eps < 0", 1, (c) => c.call("dusa_l2norm_forward", T(c), T(c), T(c), 3, 10, -1)],
      ["cross-entropy label = C", 1, (c) => c.call("dusa_cross_entropy_forward", new Float32Array(1), T(c), I(c, [0, 3, 10]), 3, 10)],
      ["cross-entropy backward label < 0", 1, (c) => c.call("dusa_cross_entropy_backward", T(c), T(c), I(c, [0, -1, 2]), 3, 10, 1)],
      ["entropy N = 0", 1, (c) => c.call("dusa_entropy_forward", new Float32Array(1), T(c), 0, 10)],
      ["embedding id = V", 1, (c) => c.call("dusa_embedding_forward", T(c), I(c, [0, 4, 1]), T(c), 3, 2, 4)],
      ["timestep embedding max_period 0", 1, (c) => c.call("dusa_timestep_embedding", T(c), T(c), 2, 4, 0)],
      ["select topk + rand_budget > C", 1, (c) => c.call("dusa_select_classes", I(c, new Array(12).fill(0)), T(c), T(c), 2, 5, 4, 2, 1, 0n, 0n)],
      ["flow loss K = 0", 1, (c) => c.call("dusa_flow_loss", new Float32Array(4), null, null, T(c), T(c), T(c), 2, 0, 4, 1, 0, 0, 1)],
      ["flow loss terms null", 1, (c) => c.call("dusa_flow_loss", null, null, null, T(c), T(c), T(c), 2, 2, 4, 1, 0, 0, 1)],
      ["sgd momentum without a buffer", 1, (c) => c.call("dusa_sgd_step", T(c), T(c), null, 4, 0.1, 0.9, 0, 0, 0, 1)],
      ["adam grad null", 1, (c) => c.call("dusa_adam_step", T(c), null, T(c), T(c), 4, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1)],
      ["alloc unknown tag", 1, (c) => c.call("dusa_alloc", new BigUint64Array(1), 16, 99)],
      ["threads 0", 1, (c) => c.call("dusa_ctx_set_threads", 0)],
    ];
    for (const [label, status, fn] of cases) {
      // tensors made for a case are freed with a fresh context per backend
      expectSameError({ cpu: pair.cpu, gpu: pair.gpu }, label, status, (ctx) => {
        const c = Context.create(ctx.backend);
        if (ctx === pair.gpu && standIn) c.setReference(true);
        try {
          fn(c);
        } finally {
          c.destroy();
        }
      });
    }
    const x = pair.gpu.alloc([1000]).fill(1.5);
    expect(Array.from(x.readFloat()).every((v) => v === 1.5)).toBe(true);
    x.free();
  });

  test("profiler counts calls and time per op", () => {
    const c = Context.create(pair.gpu.backend);
    try {
      const x = c.alloc([1 << 20]);
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
    } finally {
      c.destroy();
    }
  });
});
