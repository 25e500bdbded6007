// CUDA graphs and the ops that make a step recordable. Table cases: the indexed Philox fills and class selection
// (bit-identical to the CPU's), the counted Adam/SGD steps with open, shut and absent gates. Then, on the device:
// dusa_counter_add; a recorded step replayed three times equal to the CPU's eager numbers; argument checks inside a
// graph reported by the replay with the op's name (gather ids, embedding ids, a non-finite selection input) and the
// context usable afterwards; host work inside a native recording refused (allocation, workspace growth, a host
// scalar output) and the recording's error returned by dusa_graph_end; and the whole DUSA method on the tiny presets,
// graph=on against graph=off on the same device. On a stand-in CPU "GPU" the Context.record cases run (the CPU
// replays its recorded calls) and the native-recording cases are skipped.
import { expect, test } from "bun:test";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { loadPreset } from "../../src/models/presets.ts";
import { SiT } from "../../src/models/sit.ts";
import { AutoencoderKL } from "../../src/models/vae.ts";
import { Context, type Tensor } from "../../src/native/index.ts";
import { DusaMethod, type MicroBatch } from "../../src/tta/methods.ts";
import { relErr } from "../util/check.ts";
import { freshRng, freshSeed, makeRng, normal, uniform, type Rng } from "../util/random.ts";
import { SMALL } from "../util/small-dusa.ts";
import { acc, check, cudaSuite, inp, out, outI, type Pair } from "./harness.ts";

const random32 = (rng: Rng) => Math.floor(rng.next() * 2 ** 31);
const int = (ctx: Context, v: number) => ctx.upload(Int32Array.of(v), [1], "act", "i32");

function lastError(ctx: Context): string {
  return Context.lastError(ctx.lib);
}

/** Runs fn with the context in fp32 storage (the harness may have left it in bf16). */
function inF32<T>(ctx: Context, fn: () => T): T {
  const storage = ctx.storage;
  ctx.storage = "f32";
  try {
    return fn();
  } finally {
    ctx.storage = storage;
  }
}

cudaSuite("cuda: graphs and step values", (pair: Pair) => {
  test("indexed Philox fills and class selection are bit-identical to the CPU's", () => {
    const rng = freshRng();
    for (const n of [1, 5, 4097, 1_000_003])
      for (const index of [0, random32(rng), -1]) {
        const seed = BigInt(random32(rng)), offset = BigInt(random32(rng)), stride = Math.ceil(n / 4), where = `n=${n} index=${index} seed ${rng.seed}`;
        check(pair, { label: `normal ${where}`, op: "dusa_rng_normal_indexed", args: [out("x", n, { exact: true }), n, seed, offset, inp(Int32Array.of(index)), stride, 0.5, 2] });
        check(pair, { label: `uniform ${where}`, op: "dusa_rng_uniform_indexed", args: [out("x", n, { exact: true }), n, seed, offset, inp(Int32Array.of(index)), stride, -1, 3] });
      }
    for (const [B, C, topk, R] of [[3, 10, 2, 2], [64, 10, 4, 2], [16, 1000, 4, 2]]) {
      const normed = normal(rng, B * C), logits = normal(rng, B * C, 2), index = random32(rng) % 5000;
      check(pair, {
        label: `select B=${B} C=${C} index=${index} seed ${rng.seed}`, op: "dusa_select_classes_indexed",
        args: [outI("selected", B * (topk + R)), inp(normed), inp(logits), B, C, topk, R, 1, 77n, 3n, inp(Int32Array.of(index)), (topk + R) * B],
      });
    }
  });

  test("counted adam / adamw / sgd: step from device memory, gates open, shut and absent", () => {
    const rng = freshRng();
    for (const n of [1, 4097, 40_001])
      for (const [count, gate] of [[0, null], [4, 1], [9, 0], [100_000, 7]] as [number, number | null][]) {
        const g = gate === null ? null : inp(Int32Array.of(gate)), where = `n=${n} count=${count} gate=${gate} seed ${rng.seed}`;
        for (const decoupled of [0, 1])
          check(pair, {
            label: `adam decoupled=${decoupled} ${where}`, op: "dusa_adam_step_counted",
            args: [acc("param", uniform(rng, n), { tol: 1e-6 }), inp(normal(rng, n, 0.1)), acc("m", normal(rng, n, 0.01)), acc("v", uniform(rng, n, 0, 1e-3)), n, 1e-3, 0.9, 0.999, 1e-8, 0.05, decoupled, inp(Int32Array.of(count)), g],
          });
        check(pair, {
          label: `sgd ${where}`, op: "dusa_sgd_step_counted",
          args: [acc("param", uniform(rng, n), { tol: 1e-6 }), inp(normal(rng, n)), acc("buf", normal(rng, n)), n, 0.01, 0.9, 0.1, 1e-4, 0, inp(Int32Array.of(count)), g],
        });
      }
  });

  test("counter_add: open, shut and absent gates, uint32 wrap-around", () => {
    for (const [start, delta, gate, want] of [[5, 1, null, 6], [5, 2, 3, 7], [5, 100, 0, 5], [2 ** 31 - 1, 1, null, -(2 ** 31)]] as [number, number, number | null, number][]) {
      const got = [pair.gpu, pair.cpu].map((ctx) => {
        const counter = int(ctx, start), g = gate === null ? null : int(ctx, gate);
        ctx.call("dusa_counter_add", counter, delta, g);
        const v = counter.read()[0];
        counter.free();
        g?.free();
        return v;
      });
      expect([start, delta, gate, ...got]).toEqual([start, delta, gate, want, want]);
    }
  });

  test("a recorded step replayed three times equals the CPU's eager numbers, bit for bit", () => {
    const gpu = pair.gpu;
    inF32(gpu, () => {
      const n = 4099, x = gpu.zeros([n]), index = int(gpu, 0), noise = gpu.alloc([n]);
      gpu.call("dusa_rng_normal_indexed", noise, n, 3n, 0n, index, 1025, 0, 1); // warm-up outside the graph
      const graph = gpu.record(() => {
        gpu.call("dusa_rng_normal_indexed", noise, n, 3n, 0n, index, 1025, 0, 1);
        gpu.call("dusa_axpy", x, noise, 0.5, n);
        gpu.call("dusa_counter_add", index, 1, null);
      });
      expect(Array.from(x.readFloat().subarray(0, 4))).toEqual([0, 0, 0, 0]); // recording ran nothing
      const cpu = pair.cpu, cx = cpu.zeros([n]), draw = cpu.alloc([n]);
      for (let step = 0; step < 3; step++) {
        graph.replay();
        cpu.call("dusa_rng_normal", draw, n, 3n, BigInt(1025 * step), 0, 1);
        cpu.call("dusa_axpy", cx, draw, 0.5, n);
        expect([step, index.read()[0]]).toEqual([step, step + 1]);
        expect(relErr(x.readFloat(), cx.readFloat())).toBe(0);
      }
      graph.free();
      for (const t of [x, index, noise, cx, draw]) t.free();
    });
  });

  test("argument checks inside a graph are reported by the replay, naming the op; the context stays usable", () => {
    const gpu = pair.gpu;
    inF32(gpu, () => {
      const src = gpu.upload(normal(freshRng(), 2 * 3), [2, 3]), dst = gpu.alloc([2, 2]), idx = gpu.upload(Int32Array.of(0, 1, 2, 0), [2, 2], "act", "i32");
      gpu.call("dusa_gather_forward", dst, src, idx, 2, 3, 2);
      const gather = gpu.record(() => gpu.call("dusa_gather_forward", dst, src, idx, 2, 3, 2));
      gather.replay();
      idx.write([0, 1, 2, 5]);
      expect(() => gather.replay()).toThrow(/dusa_gather_forward: idx.*(\[1, 1\] = 5|outside \[0, 3\)).*replaying/);
      idx.write([2, 1, 0, 0]);
      gather.replay();
      const want = src.readFloat();
      expect(Array.from(dst.readFloat())).toEqual([want[2], want[1], want[3], want[3]]);

      const table = gpu.upload(normal(freshRng(), 10 * 4), [10, 4]), ids = gpu.upload(Int32Array.of(3, 1), [2], "act", "i32"), rows = gpu.alloc([2, 4]);
      gpu.call("dusa_embedding_forward", rows, ids, table, 2, 4, 10);
      const embed = gpu.record(() => gpu.call("dusa_embedding_forward", rows, ids, table, 2, 4, 10));
      ids.write([3, 12]);
      expect(() => embed.replay()).toThrow(/dusa_embedding_forward: .*12.*outside \[0, 10\).*replaying/);

      const normed = gpu.upload(normal(freshRng(), 2 * 10), [2, 10]), sel = gpu.alloc([2, 3], "act", "i32"), at = int(gpu, 0);
      gpu.call("dusa_select_classes_indexed", sel, normed, normed, 2, 10, 2, 1, 1, 1n, 0n, at, 6);
      const select = gpu.record(() => gpu.call("dusa_select_classes_indexed", sel, normed, normed, 2, 10, 2, 1, 1, 1n, 0n, at, 6));
      const bad = normal(freshRng(), 20);
      bad[13] = Number.NaN;
      normed.write(bad);
      expect(() => select.replay()).toThrow(/dusa_select_classes(_indexed)?: normed row 1 has a non-finite value.*replaying/);
      gpu.sync();
      for (const g of [gather, embed, select]) g.free();
      for (const t of [src, dst, idx, table, ids, rows, normed, sel, at] as Tensor[]) t.free();
    });
  });

  test("native recording refuses host work and dusa_graph_end returns the first refusal", () => {
    const gpu = pair.gpu;
    if (gpu.backend !== "cuda") return; // a stand-in CPU has no native graphs (test/ops/step-values.test.ts checks it says so)
    const sym = gpu.lib.symbols as unknown as Record<string, (...a: unknown[]) => number>;
    const h = gpu.handle, out64 = new BigUint64Array(1), small = gpu.zeros([16]);
    const wide = gpu.zeros([1 << 26]); // a valid input for a selection whose workspace would have to grow to 512 MB
    const norm = gpu.alloc([1]);
    gpu.call("dusa_l2_norm", norm, small, 16); // its workspace (2 floats) exists before the recordings
    const attempts: [string, () => number, RegExp][] = [
      ["allocation", () => sym.dusa_alloc(h, out64, 1024, 3), /dusa_alloc: allocating is not allowed while a graph is being recorded/],
      ["host scalar output", () => sym.dusa_l2_norm(h, new Float32Array(1), small.ptr, 16), /dusa_l2_norm: a scalar output in host memory is not allowed/],
      ["sync", () => sym.dusa_sync(h), /dusa_sync: waiting for the device is not allowed/],
      ["copy to host", () => sym.dusa_copy_d2h(h, new Float32Array(16), small.ptr, 64), /dusa_copy_d2h: a copy to host memory is not allowed/],
      ["workspace growth", () => sym.dusa_select_classes(h, small.ptr, wide.ptr, wide.ptr, 1, 1 << 26, 1, 1, 1, 1n, 0n), /workspace: .*cannot grow while a graph is being recorded/],
    ];
    for (const [what, attempt, message] of attempts) {
      expect([what, sym.dusa_graph_begin(h)]).toEqual([what, 0]);
      const status = attempt();
      expect([what, status !== 0, lastError(gpu)]).toEqual([what, true, expect.stringMatching(message)]);
      expect([what, sym.dusa_graph_end(h, out64)]).toEqual([what, 1]);
      expect([what, lastError(gpu)]).toEqual([what, expect.stringMatching(/dusa_graph_end: the recording failed: /)]);
      expect(out64[0]).toBe(0n);
      gpu.sync(); // the stream is usable again
    }
    expect(sym.dusa_graph_end(h, out64)).toBe(1); // no recording open
    expect(lastError(gpu)).toMatch(/no graph is being recorded/);
    expect(sym.dusa_graph_launch(h, 12345)).toBe(1);
    expect(lastError(gpu)).toMatch(/not a live graph of this context/);
    small.free();
    wide.free();
    norm.free();
  });

  test("a workspace replaced while a graph lives is kept for it, and freed with the last graph", () => {
    if (pair.gpu.backend !== "cuda") return;
    const ctx = Context.create("cuda"), rng = freshRng();
    const B = 4, C = 50, normed = ctx.upload(normal(rng, B * C), [B, C]), sel = ctx.alloc([B, 3], "act", "i32"), at = int(ctx, 7);
    ctx.call("dusa_select_classes_indexed", sel, normed, normed, B, C, 2, 1, 1, 9n, 0n, at, 3 * B);
    const graph = ctx.record(() => ctx.call("dusa_select_classes_indexed", sel, normed, normed, B, C, 2, 1, 1, 9n, 0n, at, 3 * B));
    const held = ctx.memory().workspace.current;
    const wideC = 1 << 22, wide = ctx.upload(normal(rng, wideC), [1, wideC]), wideSel = ctx.alloc([1, 3], "act", "i32");
    ctx.call("dusa_select_classes", wideSel, wide, wide, 1, wideC, 2, 1, 1, 9n, 0n); // grows the workspace past 32 MiB
    const grown = ctx.memory().workspace.current;
    expect(grown).toBeGreaterThan(held + 2 * 4 * wideC); // the old one is still there, beside the new one
    sel.fill(-1);
    graph.replay();
    const want = pair.cpu.alloc([B, 3], "act", "i32"), cpuNormed = pair.cpu.upload(normed.readFloat(), [B, C]);
    inF32(pair.cpu, () => pair.cpu.call("dusa_select_classes", want, cpuNormed, cpuNormed, B, C, 2, 1, 1, 9n, BigInt(7 * 3 * B)));
    expect(Array.from(sel.read())).toEqual(Array.from(want.read()));
    graph.free();
    expect(ctx.memory().workspace.current).toBeLessThan(grown); // the retired workspace went with the last graph
    want.free();
    cpuNormed.free();
    ctx.destroy();
  });

  test("one recording per thread; dusa_graph_end with a null out ends and discards the recording", () => {
    if (pair.gpu.backend !== "cuda") return;
    const a = Context.create("cuda"), b = Context.create("cuda");
    const sa = a.lib.symbols as unknown as Record<string, (...x: unknown[]) => number>;
    expect(sa.dusa_graph_begin(a.handle)).toBe(0);
    expect(sa.dusa_graph_begin(b.handle)).toBe(1);
    expect(lastError(b)).toMatch(/already recording a graph on another context/);
    expect(sa.dusa_graph_end(a.handle, null)).toBe(1);
    expect(lastError(a)).toMatch(/out is null \(the recording was ended and discarded\)/);
    expect(sa.dusa_graph_begin(b.handle)).toBe(0); // the thread is free again
    const out = new BigUint64Array(1);
    expect(sa.dusa_graph_end(b.handle, out)).toBe(0);
    expect(sa.dusa_graph_destroy(b.handle, Number(out[0]))).toBe(0);
    a.destroy();
    b.destroy();
  });

  test("graphs still alive when their context is destroyed are released with it", () => {
    if (pair.gpu.backend !== "cuda") return;
    const ctx = Context.create("cuda");
    const t = ctx.zeros([8]);
    const graphs = [0, 1, 2].map(() => ctx.record(() => ctx.call("dusa_scale", t, 2, 8)));
    graphs[0].replay();
    ctx.destroy();
  });

  test("the DUSA method on the tiny presets: graph=on equals graph=off on the same device", () => {
    const gpu = pair.gpu;
    inF32(gpu, () => {
      // the tiny presets on a GPU; on a stand-in CPU (reference kernels) the small random shapes of test/tta
      const tiny = gpu.backend === "cuda";
      const [c, v, s] = ["convnext-tiny-fm", "vae-tiny-fm", "sit-tiny-fm"].map(loadPreset);
      if (c.family !== "convnext" || v.family !== "vae" || s.family !== "sit") throw new Error("tiny presets");
      const cfg = tiny ? { task: c.config, vae: v.config, gen: s.config } : SMALL;
      const seed = freshSeed(), B = tiny ? 8 : 4, H = tiny ? 32 : 16;
      const weights = (() => {
        const rng = makeRng(seed);
        const sizes = { task: new ConvNeXt(gpu, cfg.task), vae: new AutoencoderKL(gpu, cfg.vae, { encoder: true, decoder: false }), gen: new SiT(gpu, cfg.gen) };
        const w = { task: normal(rng, sizes.task.table.total, 0.05), vae: normal(rng, sizes.vae.table.total, 0.05), gen: normal(rng, sizes.gen.table.total, 0.05) };
        for (const m of Object.values(sizes)) m.free();
        return w;
      })();
      const adam = { name: "adam" as const, lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };
      const build = (graph: "off" | "on") => {
        const task = new ConvNeXt(gpu, cfg.task), vae = new AutoencoderKL(gpu, cfg.vae, { encoder: true, decoder: false }), gen = new SiT(gpu, cfg.gen);
        task.params.values.write(weights.task);
        vae.params.values.write(weights.vae);
        gen.params.values.write(weights.gen);
        const settings = { family: "sit" as const, topk: 4, randBudget: 2, temperature: 1, t: 0.25, loss: { mse: 1, normL2: 0, cosine: 0 }, accumulate: 1, adaptTask: true, adaptAux: true, seed: 3 };
        const method = new DusaMethod(gpu, task, vae, gen, { settings, adaptTask: "all", taskOptimizer: adam, auxOptimizer: adam, graph });
        const batch: MicroBatch = { task: gpu.alloc([B, cfg.task.inChans, H, H], "data"), aux: gpu.alloc([B, cfg.vae.inChannels, H, H], "data"), B, H, W: H, auxSize: H };
        return { task, vae, gen, method, batch };
      };
      const eager = build("off"), graphed = build("on");
      const rng = makeRng(seed ^ 0x77);
      for (let step = 0; step < 5; step++) {
        const x = normal(rng, eager.batch.task.size), a = uniform(rng, eager.batch.aux!.size);
        for (const m of [eager, graphed]) {
          m.batch.task.write(x);
          m.batch.aux!.write(a);
        }
        const re = eager.method.step(eager.batch, step), rg = graphed.method.step(graphed.batch, step);
        const label = `step ${step} seed ${seed}`;
        expect([label, Array.from(rg.predictions), rg.updated]).toEqual([label, Array.from(re.predictions), re.updated]);
        expect([label, relErr([rg.loss!], [re.loss!]) <= 1e-6]).toEqual([label, true]);
        expect([label, "graph" in graphed.method.takePhases()]).toEqual([label, step >= 1]);
      }
      for (const part of ["task", "gen"] as const) {
        const e = eager[part].params.values.readFloat(), g = graphed[part].params.values.readFloat();
        expect([part, relErr(g, e) <= 1e-6]).toEqual([part, true]);
      }
      for (const m of [eager, graphed]) {
        m.method.free();
        for (const model of [m.task, m.vae, m.gen]) model.free();
        m.batch.task.free();
        m.batch.aux!.free();
      }
    });
  });
});
