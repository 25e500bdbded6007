// Embedding lookup forward/backward (accumulation, repeated ids, determinism) and the sinusoidal timestep
// embedding vs float64 references; out-of-range ids are errors naming the row and the id.
import { describe, expect, test } from "bun:test";
import { expectClose, finiteDiff, poisoned, toF64 } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, integers, uniform } from "../util/random.ts";
import { embeddingBackwardRef, embeddingRef, timestepEmbeddingRef } from "../ref/embedding.ts";

const ctx = cpuContext();

describe("embedding", () => {
  for (const [N, C, V] of [[1, 1, 1], [5, 3, 2], [48, 256, 11], [300, 1152, 1001], [7, 130, 4]])
    test(`N=${N} C=${C} V=${V}`, () => {
      const rng = freshRng();
      const ids = integers(rng, N, V), table = uniform(rng, V * C), G = uniform(rng, N * C), D0 = uniform(rng, V * C);
      const idT = ctx.upload(ids, [N]), tab = ctx.upload(table, [V, C], "param"), out = poisoned(ctx, [N, C]);
      ctx.call("dusa_embedding_forward", out, idT, tab, N, C, V);
      expect(out.readFloat()).toEqual(Float32Array.from(embeddingRef(ids, table, N, C)));
      const g = ctx.upload(G, [N, C]), d = ctx.upload(D0, [V, C], "grad");
      ctx.call("dusa_embedding_backward", d, g, idT, N, C, V);
      // a row hit m times sums m float values onto dtable: within m float roundings
      expectClose("dtable (accumulated)", d.read(), embeddingBackwardRef(G, ids, N, C, V, D0), 1e-6, rng.seed);
      for (const t of [idT, tab, out, g, d]) t.free();
    });

  test("backward is deterministic across thread counts (repeated ids)", () => {
    const rng = freshRng();
    const [N, C, V] = [2000, 300, 3];
    const idT = ctx.upload(integers(rng, N, V), [N]), g = ctx.upload(uniform(rng, N * C), [N, C]);
    const saved = ctx.threads, got: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      ctx.threads = threads;
      const d = ctx.zeros([V, C]);
      ctx.call("dusa_embedding_backward", d, g, idT, N, C, V);
      got.push(d.readFloat());
      d.free();
    }
    ctx.threads = saved;
    expect(got[1]).toEqual(got[0]);
    expect(got[2]).toEqual(got[0]);
    idT.free();
    g.free();
  });

  test("reference backward agrees with finite differences", () => {
    const rng = freshRng();
    const [N, C, V] = [6, 3, 4];
    const ids = integers(rng, N, V), G = uniform(rng, N * C);
    const inputs = [toF64(uniform(rng, V * C))];
    const f = (xs: Float64Array[]) => embeddingRef(ids, xs[0], N, C);
    expectClose("dtable", finiteDiff(f, inputs, G, 0), embeddingBackwardRef(G, ids, N, C, V), 1e-8, rng.seed);
  });

  test("ids outside [0, V) are errors naming the row and the id", () => {
    const tab = ctx.zeros([4, 2]), out = ctx.alloc([3, 2]);
    for (const [bad, row] of [[4, 1], [-1, 2]]) {
      const ids = ctx.upload(Int32Array.from([0, row === 1 ? bad : 0, row === 2 ? bad : 3]), [3]);
      const re = new RegExp(`dusa_embedding_forward.*id ${bad} of row ${row} is outside \\[0, 4\\)`);
      expect(() => ctx.call("dusa_embedding_forward", out, ids, tab, 3, 2, 4)).toThrow(re);
      expect(() => ctx.call("dusa_embedding_backward", tab, out, ids, 3, 2, 4)).toThrow(/dusa_embedding_backward.*outside/);
      ids.free();
    }
    expect(Array.from(tab.read())).toEqual(new Array(8).fill(0)); // an invalid backward adds nothing
    tab.free();
    out.free();
  });
});

describe("timestep embedding", () => {
  for (const [N, dim, maxPeriod] of [[1, 1, 10000], [4, 256, 10000], [5, 257, 10000], [3, 2, 10000], [8, 1152, 10000], [2, 16, 100]])
    test(`N=${N} dim=${dim} max_period=${maxPeriod}`, () => {
      const rng = freshRng();
      // flow times in [0, 1], and DDPM integer steps up to 999
      const T = uniform(rng, N, 0, 1).map((v, i) => (i % 2 ? Math.floor(v * 1000) : v));
      const t = ctx.upload(T, [N]), out = poisoned(ctx, [N, dim]);
      ctx.call("dusa_timestep_embedding", out, t, N, dim, maxPeriod);
      const got = out.readFloat();
      // computed in double and rounded once: equal up to libm's last bit before the rounding
      expectClose("embedding", got, timestepEmbeddingRef(T, N, dim, maxPeriod), 1e-7, rng.seed);
      if (dim % 2) for (let n = 0; n < N; n++) expect(got[n * dim + dim - 1]).toBe(0);
      t.free();
      out.free();
    });

  test("bad max_period is an error naming the op", () => {
    const t = ctx.zeros([2]), out = ctx.alloc([2, 4]);
    expect(() => ctx.call("dusa_timestep_embedding", out, t, 2, 4, 0)).toThrow(/dusa_timestep_embedding.*max_period/);
    t.free();
    out.free();
  });
});
