// Ops whose per-step values are read from device memory (cuda/common/step_values.h): the indexed RNG fills and
// class selection equal their by-value twins at offset + index * stride, bit for bit (the index read as unsigned);
// the counted Adam/SGD steps equal the float64 references at step = count + 1 and leave every bit alone when gated
// shut; dusa_counter_add adds under an open gate only, wrapping like uint32.
import { describe, expect, test } from "bun:test";
import type { Tensor } from "../../src/native/index.ts";
import { adamRef, sgdRef } from "../ref/optimizer.ts";
import { expectClose } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform, type Rng } from "../util/random.ts";

const ctx = cpuContext();
const int = (v: number) => ctx.upload(Int32Array.of(v), [1], "act", "i32");
const bits = (t: Tensor) => Array.from(new Uint32Array((t.read() as Float32Array).buffer));
const random32 = (rng: Rng) => Math.floor(rng.next() * 2 ** 31);

describe("indexed RNG and selection", () => {
  test("uniform and normal fills at a device index equal the by-value fills at offset + index * stride", () => {
    const rng = freshRng();
    for (const n of [1, 5, 4097]) {
      for (const index of [0, 1, random32(rng), -1]) {
        const seed = BigInt(random32(rng)), offset = BigInt(random32(rng)), stride = Math.ceil(n / 4) + (index & 3);
        const effective = offset + BigInt(index >>> 0) * BigInt(stride);
        const idx = int(index), a = ctx.alloc([n]), b = ctx.alloc([n]);
        ctx.call("dusa_rng_normal_indexed", a, n, seed, offset, idx, stride, 0.5, 2);
        ctx.call("dusa_rng_normal", b, n, seed, effective, 0.5, 2);
        expect([`normal n=${n} index=${index} seed ${rng.seed}`, bits(a)]).toEqual([`normal n=${n} index=${index} seed ${rng.seed}`, bits(b)]);
        ctx.call("dusa_rng_uniform_indexed", a, n, seed, offset, idx, stride, -1, 3);
        ctx.call("dusa_rng_uniform", b, n, seed, effective, -1, 3);
        expect(bits(a)).toEqual(bits(b));
        for (const t of [idx, a, b]) t.free();
      }
    }
  });

  test("index 0 is the plain offset; a different index draws different numbers", () => {
    const idx0 = int(0), idx1 = int(1), a = ctx.alloc([64]), b = ctx.alloc([64]);
    ctx.call("dusa_rng_normal_indexed", a, 64, 7n, 123n, idx0, 16, 0, 1);
    ctx.call("dusa_rng_normal", b, 64, 7n, 123n, 0, 1);
    expect(bits(a)).toEqual(bits(b));
    ctx.call("dusa_rng_normal_indexed", b, 64, 7n, 123n, idx1, 16, 0, 1);
    expect(bits(a)).not.toEqual(bits(b));
    for (const t of [idx0, idx1, a, b]) t.free();
  });

  test("select_classes_indexed equals select_classes at offset + index * stride", () => {
    const rng = freshRng();
    for (const [B, C, topk, R] of [[3, 10, 2, 2], [16, 100, 4, 2], [2, 7, 1, 0]]) {
      const K = topk + R, index = random32(rng) % 1000, stride = K * B;
      const normed = ctx.upload(normal(rng, B * C), [B, C]), logits = ctx.upload(normal(rng, B * C, 2), [B, C]);
      const idx = int(index), a = ctx.alloc([B, K], "act", "i32"), b = ctx.alloc([B, K], "act", "i32");
      ctx.call("dusa_select_classes_indexed", a, normed, logits, B, C, topk, R, 1, 99n, 5n, idx, stride);
      ctx.call("dusa_select_classes", b, normed, logits, B, C, topk, R, 1, 99n, 5n + BigInt(index * stride));
      expect([`B=${B} C=${C} seed ${rng.seed}`, Array.from(a.read())]).toEqual([`B=${B} C=${C} seed ${rng.seed}`, Array.from(b.read())]);
      for (const t of [normed, logits, idx, a, b]) t.free();
    }
  });

  test("a null index is an error naming it", () => {
    const a = ctx.alloc([4]);
    expect(() => ctx.call("dusa_rng_normal_indexed", a, 4, 1n, 0n, null, 1, 0, 1)).toThrow(/index is null/);
    a.free();
  });
});

describe("dusa_counter_add", () => {
  test("adds delta with no gate or an open one, nothing under a closed one; wraps like uint32", () => {
    const counter = int(5), open = int(3), shut = int(0);
    ctx.call("dusa_counter_add", counter, 1, null);
    ctx.call("dusa_counter_add", counter, 2, open);
    ctx.call("dusa_counter_add", counter, 100, shut);
    expect(counter.read()[0]).toBe(8);
    ctx.call("dusa_counter_add", counter, -10, null);
    expect(counter.read()[0]).toBe(-2);
    counter.write([2 ** 31 - 1]);
    ctx.call("dusa_counter_add", counter, 1, null);
    expect(counter.read()[0]).toBe(-(2 ** 31));
    for (const t of [counter, open, shut]) t.free();
  });
});

describe("counted optimizer steps", () => {
  for (const decoupled of [false, true])
    test(`${decoupled ? "adamw" : "adam"}: step = count + 1 from device memory; a shut gate changes no bit`, () => {
      const rng = freshRng();
      const n = 4097, o = { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.05, decoupled };
      let P: ArrayLike<number> = uniform(rng, n), M: ArrayLike<number> = new Float32Array(n), V: ArrayLike<number> = new Float32Array(n);
      const p = ctx.upload(P, [n], "param"), m = ctx.zeros([n], "optim"), v = ctx.zeros([n], "optim"), g = ctx.alloc([n], "grad");
      const count = int(0), open = int(1), shut = int(0);
      for (let step = 1; step <= 4; step++) {
        const G = normal(rng, n, 0.1);
        g.write(G);
        const before = [bits(p), bits(m), bits(v)];
        ctx.call("dusa_adam_step_counted", p, g, m, v, n, o.lr, o.b1, o.b2, o.eps, o.wd, +decoupled, count, shut);
        expect([bits(p), bits(m), bits(v)]).toEqual(before);
        ctx.call("dusa_adam_step_counted", p, g, m, v, n, o.lr, o.b1, o.b2, o.eps, o.wd, +decoupled, count, step % 2 ? open : null);
        ctx.call("dusa_counter_add", count, 1, open);
        const ref = adamRef(P, G, M, V, { ...o, step });
        const [gotP, gotM, gotV] = [p.read(), m.read(), v.read()];
        expectClose(`param step ${step}`, gotP, ref.p, 1e-6, rng.seed);
        expectClose(`m step ${step}`, gotM, ref.m, 1e-6, rng.seed);
        expectClose(`v step ${step}`, gotV, ref.v, 1e-6, rng.seed);
        [P, M, V] = [gotP, gotM, gotV];
      }
      expect(count.read()[0]).toBe(4);
      for (const t of [p, m, v, g, count, open, shut]) t.free();
    });

  test("adam_step_counted equals adam_step at the same step, bit for bit, at a large count", () => {
    const rng = freshRng();
    const n = 1001, P = uniform(rng, n), G = normal(rng, n, 0.1), M = normal(rng, n, 0.01), V = uniform(rng, n, 0, 1e-3);
    const a = [ctx.upload(P, [n]), ctx.upload(M, [n]), ctx.upload(V, [n])], b = [ctx.upload(P, [n]), ctx.upload(M, [n]), ctx.upload(V, [n])];
    const g = ctx.upload(G, [n]), count = int(12345);
    ctx.call("dusa_adam_step_counted", a[0], g, a[1], a[2], n, 1e-3, 0.9, 0.999, 1e-8, 0, 0, count, null);
    ctx.call("dusa_adam_step", b[0], g, b[1], b[2], n, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 12346);
    for (let i = 0; i < 3; i++) expect(bits(a[i])).toEqual(bits(b[i]));
    for (const t of [...a, ...b, g, count]) t.free();
  });

  test("sgd with momentum: the first update (count 0) starts the buffer; a shut gate changes no bit", () => {
    const rng = freshRng();
    const n = 1001, o = { lr: 0.01, momentum: 0.9, dampening: 0.1, wd: 1e-4, nesterov: false };
    let P: ArrayLike<number> = uniform(rng, n), Bf: ArrayLike<number> = new Float32Array(n);
    const p = ctx.upload(P, [n], "param"), buf = ctx.zeros([n], "optim"), g = ctx.alloc([n], "grad");
    const count = int(0), shut = int(0);
    for (let step = 1; step <= 3; step++) {
      const G = normal(rng, n);
      g.write(G);
      const before = [bits(p), bits(buf)];
      ctx.call("dusa_sgd_step_counted", p, g, buf, n, o.lr, o.momentum, o.dampening, o.wd, 0, count, shut);
      expect([bits(p), bits(buf)]).toEqual(before);
      ctx.call("dusa_sgd_step_counted", p, g, buf, n, o.lr, o.momentum, o.dampening, o.wd, 0, count, null);
      ctx.call("dusa_counter_add", count, 1, null);
      const ref = sgdRef(P, G, Bf, { ...o, step });
      const [gotP, gotB] = [p.read(), buf.read()];
      expectClose(`param step ${step}`, gotP, ref.p, 1e-6, rng.seed);
      expectClose(`buf step ${step}`, gotB, ref.buf, 1e-6, rng.seed);
      [P, Bf] = [gotP, gotB];
    }
    for (const t of [p, buf, g, count, shut]) t.free();
  });

  test("bad hyper-parameters are errors even under a shut gate; a null count is an error", () => {
    const p = ctx.zeros([4]), count = int(0), shut = int(0);
    expect(() => ctx.call("dusa_adam_step_counted", p, p, p, p, 4, 1e-3, 1.5, 0.999, 1e-8, 0, 0, count, shut)).toThrow(/betas/);
    expect(() => ctx.call("dusa_adam_step_counted", p, p, p, p, 4, 1e-3, 0.9, 0.999, 1e-8, 0, 0, null, null)).toThrow(/count is null/);
    expect(() => ctx.call("dusa_sgd_step_counted", p, p, null, 4, 0.1, 0.9, 0, 0, 0, count, shut)).toThrow(/momentum buffer/);
    for (const t of [p, count, shut]) t.free();
  });
});

describe("graphs on the CPU backend", () => {
  test("dusa_graph_* answer unsupported: the CPU's callers replay their recorded calls (Context.record)", () => {
    const out = new BigUint64Array(1);
    expect(() => ctx.call("dusa_graph_begin")).toThrow(/unsupported.*CPU backend has no graphs/);
    expect(() => ctx.call("dusa_graph_end", out)).toThrow(/unsupported/);
    expect(() => ctx.call("dusa_graph_launch", 8)).toThrow(/unsupported/);
    expect(() => ctx.call("dusa_graph_destroy", 8)).toThrow(/unsupported/);
  });
});
