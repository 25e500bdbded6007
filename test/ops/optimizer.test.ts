// Adam, AdamW and SGD against float64 step-by-step references of torch.optim; L2 norm and clipping.
import { describe, expect, test } from "bun:test";
import { expectClose } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform } from "../util/random.ts";
import { adamRef, sgdRef } from "../ref/optimizer.ts";

const ctx = cpuContext();

describe("adam", () => {
  for (const decoupled of [false, true])
    for (const wd of [0, 0.05])
      test(`${decoupled ? "adamw" : "adam"} weight_decay=${wd}, 5 steps`, () => {
        const rng = freshRng();
        const n = 40_001;
        let P: ArrayLike<number> = uniform(rng, n), M: ArrayLike<number> = new Float32Array(n), V: ArrayLike<number> = new Float32Array(n);
        const p = ctx.upload(P, [n], "param"), m = ctx.zeros([n], "optim"), v = ctx.zeros([n], "optim");
        const g = ctx.alloc([n], "grad");
        const o = { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd, decoupled };
        for (let step = 1; step <= 5; step++) {
          const G = normal(rng, n, 0.1);
          g.write(G);
          ctx.call("dusa_adam_step", p, g, m, v, n, o.lr, o.b1, o.b2, o.eps, o.wd, +decoupled, step);
          // the reference continues from our float32 state, so each step is checked on its own
          const ref = adamRef(P, G, M, V, { ...o, step });
          const [gotP, gotM, gotV] = [p.read(), m.read(), v.read()];
          expectClose(`param step ${step}`, gotP, ref.p, 1e-6, rng.seed);
          expectClose(`m step ${step}`, gotM, ref.m, 1e-6, rng.seed);
          expectClose(`v step ${step}`, gotV, ref.v, 1e-6, rng.seed);
          [P, M, V] = [gotP, gotM, gotV];
        }
        for (const t of [p, m, v, g]) t.free();
      });
});

describe("sgd", () => {
  const cases = [
    { momentum: 0, dampening: 0, wd: 0, nesterov: false },
    { momentum: 0.9, dampening: 0, wd: 1e-4, nesterov: false },
    { momentum: 0.9, dampening: 0.1, wd: 0, nesterov: false },
    { momentum: 0.9, dampening: 0, wd: 0, nesterov: true },
  ];
  for (const c of cases)
    test(JSON.stringify(c), () => {
      const rng = freshRng();
      const n = 1001;
      let P: ArrayLike<number> = uniform(rng, n), Bf: ArrayLike<number> = new Float32Array(n);
      const p = ctx.upload(P, [n], "param"), buf = ctx.zeros([n], "optim"), g = ctx.alloc([n], "grad");
      for (let step = 1; step <= 4; step++) {
        const G = normal(rng, n);
        g.write(G);
        ctx.call("dusa_sgd_step", p, g, c.momentum ? buf : null, n, 0.01, c.momentum, c.dampening, c.wd, +c.nesterov, step);
        const ref = sgdRef(P, G, Bf, { lr: 0.01, ...c, step });
        const [gotP, gotB] = [p.read(), buf.read()];
        expectClose(`param step ${step}`, gotP, ref.p, 1e-6, rng.seed);
        if (c.momentum) expectClose(`buf step ${step}`, gotB, ref.buf, 1e-6, rng.seed);
        [P, Bf] = [gotP, gotB];
      }
      for (const t of [p, buf, g]) t.free();
    });

  test("invalid settings are errors", () => {
    const p = ctx.zeros([4]);
    expect(() => ctx.call("dusa_sgd_step", p, p, null, 4, 0.1, 0.9, 0, 0, 0, 1)).toThrow(/momentum 0.9 needs a momentum buffer/);
    expect(() => ctx.call("dusa_sgd_step", p, p, p, 4, 0.1, 0.9, 0.5, 0, 1, 1)).toThrow(/nesterov/);
    expect(() => ctx.call("dusa_adam_step", p, p, p, p, 4, 0.1, 1.0, 0.999, 1e-8, 0, 0, 1)).toThrow(/betas/);
    p.free();
  });
});

test("l2 norm (independent of thread count) and clip_grad_norm semantics", () => {
  const rng = freshRng();
  const n = 300_007;
  const X = normal(rng, n);
  const x = ctx.upload(X, [n]);
  const out = new Float32Array(1);
  const saved = ctx.threads;
  ctx.threads = 1;
  ctx.call("dusa_l2_norm", out, x, n);
  const one = out[0];
  ctx.threads = 2;
  ctx.call("dusa_l2_norm", out, x, n);
  ctx.threads = saved;
  expect(out[0]).toBe(one);
  const ref = Math.sqrt(X.reduce((s, v) => s + v * v, 0));
  expect(Math.abs(one - ref) / ref).toBeLessThan(1e-6);

  ctx.call("dusa_clip_by_norm", x, n, ref * 2, one); // under the limit: unchanged
  expectClose("not clipped", x.read(), X, 0, rng.seed);
  ctx.call("dusa_clip_by_norm", x, n, 1.0, one);
  const coef = 1.0 / (one + 1e-6);
  expectClose("clipped", x.read(), Float64Array.from(X, (v) => v * coef), 1e-6, rng.seed);
  x.free();
});
