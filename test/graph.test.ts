// Context.record on the CPU backend: recording runs nothing and replay runs the recorded calls in order with the
// values they had, so per-step values must come from device memory; host work inside a recording is refused with
// an error naming the call (the same rule the CUDA backend enforces natively), and a graph whose tensors were freed
// refuses to replay instead of touching freed memory.
import { expect, test } from "bun:test";
import { DusaError } from "../src/native/index.ts";
import { cpuContext } from "./util/context.ts";

const ctx = cpuContext();

test("recording runs nothing; each replay runs the calls, with step values read from device memory", () => {
  const x = ctx.zeros([8]), index = ctx.upload(Int32Array.of(0), [1], "act", "i32"), noise = ctx.alloc([8]);
  const graph = ctx.record(() => {
    ctx.call("dusa_rng_normal_indexed", noise, 8, 3n, 0n, index, 2, 0, 1);
    ctx.call("dusa_axpy", x, noise, 1, 8);
    ctx.call("dusa_counter_add", index, 1, null);
  });
  expect(ctx.recording).toBe(false);
  expect(graph.ops).toBe(3);
  expect(Array.from(x.readFloat())).toEqual(new Array(8).fill(0));
  expect(index.read()[0]).toBe(0);
  const expected = new Float32Array(8), draw = ctx.alloc([8]);
  for (let step = 0; step < 3; step++) {
    graph.replay();
    ctx.call("dusa_rng_normal", draw, 8, 3n, BigInt(2 * step), 0, 1);
    const d = draw.readFloat();
    for (let i = 0; i < 8; i++) expected[i] += d[i];
    expect(index.read()[0]).toBe(step + 1);
    expect(Array.from(x.readFloat())).toEqual(Array.from(expected));
  }
  graph.free();
  expect(() => graph.replay()).toThrow(/freed graph/);
  for (const t of [x, index, noise, draw]) t.free();
});

test("host work inside a recording is refused, naming the call; the context is usable afterwards", () => {
  const t = ctx.zeros([4]), spare = ctx.zeros([4]);
  const attempts: [string, () => void, RegExp][] = [
    ["alloc", () => ctx.alloc([4]), /dusa_alloc.*not allowed while a graph is being recorded/],
    ["read", () => t.read(), /dusa_copy_d2h.*not allowed while a graph is being recorded/],
    ["write", () => t.write([1, 2, 3, 4]), /dusa_copy_h2d/],
    ["sync", () => ctx.sync(), /dusa_sync/],
    ["free", () => spare.free(), /dusa_free.*not allowed while a graph is being recorded/],
    ["host scalar output", () => ctx.call("dusa_l2_norm", new Float32Array(1), t, 4), /dusa_l2_norm.*host memory \(argument out\)/],
  ];
  for (const [what, fn, message] of attempts) {
    let caught: unknown = null;
    try {
      ctx.record(() => {
        ctx.call("dusa_fill", t, 7, 4);
        fn();
      });
    } catch (e) {
      caught = e;
    }
    expect([what, caught instanceof DusaError]).toEqual([what, true]);
    expect((caught as Error).message).toMatch(message);
    expect(ctx.recording).toBe(false);
  }
  expect(Array.from(t.readFloat())).toEqual([0, 0, 0, 0]); // nothing of the failed recordings ran
  expect(spare.freed).toBe(false);
  spare.free();
  expect(() => ctx.record(() => ctx.record(() => {}))).toThrow(/already being recorded/);
  t.free();
});

test("a graph whose tensor was freed refuses to replay", () => {
  const a = ctx.zeros([4]), b = ctx.zeros([4]);
  const graph = ctx.record(() => ctx.call("dusa_add", a, a, b, 4));
  expect(graph.stale).toBe(false);
  b.free();
  expect(graph.stale).toBe(true);
  expect(() => graph.replay()).toThrow(/freed since it was recorded/);
  graph.free();
  a.free();
});

test("a failing call during replay is an error naming the op and saying it was replayed", () => {
  const sel = ctx.upload(Int32Array.of(0, 5), [1, 2], "act", "i32"), src = ctx.zeros([1, 3]), dst = ctx.alloc([1, 2]);
  const graph = ctx.record(() => ctx.call("dusa_gather_forward", dst, src, sel, 1, 3, 2));
  expect(() => graph.replay()).toThrow(/dusa_gather_forward.*outside \[0, 3\).*replaying a recorded graph/);
  sel.write([0, 2]);
  graph.replay();
  graph.free();
  for (const t of [sel, src, dst]) t.free();
});

test("storage changes inside a recording are recorded with the ops they govern", () => {
  const x = ctx.upload(Float32Array.of(1.00390625, -3), [2]), y = ctx.alloc([2]);
  const x16 = ctx.alloc([2], "act", "bf16"), y16 = ctx.alloc([2], "act", "bf16");
  ctx.call("dusa_f32_to_bf16", x16, x, 2);
  const graph = ctx.record(() => {
    ctx.storage = "bf16";
    ctx.call("dusa_scale_copy", y16, x16, 3, 2);
    ctx.storage = "f32";
    ctx.call("dusa_scale_copy", y, x, 3, 2);
  });
  expect(ctx.storage).toBe("f32");
  graph.replay();
  expect(Array.from(y.readFloat())).toEqual([3.01171875, -9]);
  expect(y16.readValues()[1]).toBe(-9);
  graph.free();
  for (const t of [x, y, x16, y16]) t.free();
});
