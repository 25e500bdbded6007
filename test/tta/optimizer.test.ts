// The optimizer's state covers the trainable parameters only, packed; snapshot/restore bring back values and
// state exactly (copying m and v only when they hold something); load() takes packed or whole-table arrays.
import { expect, test } from "bun:test";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { trainAll, trainNorm, type Trainable } from "../../src/nn/params.ts";
import { Optimizer } from "../../src/tta/optimizer.ts";
import { cpuContext } from "../util/context.ts";

const ctx = cpuContext();
const adam = { name: "adam" as const, lr: 1e-2, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.01 };

function setup(trainable: Trainable) {
  const m = new ConvNeXt(ctx, { inChans: 1, numClasses: 10, depths: [1, 1], dims: [8, 16], stemPatch: 2 });
  ctx.call("dusa_rng_normal", m.params.values, m.params.values.size, 3, 0, 0, 0.1);
  m.params.train(trainable);
  const optimizer = new Optimizer(m.params, adam);
  let seed = 100;
  const step = () => {
    ctx.call("dusa_rng_normal", m.params.grads!, m.params.grads!.size, seed++, 0, 0, 1);
    optimizer.update();
  };
  return { m, optimizer, step };
}

const values = (m: ConvNeXt) => Array.from(m.params.values.readFloat());
const state = (o: Optimizer) => {
  const s = o.state();
  return { step: s.step, m: Array.from(s.m!), v: Array.from(s.v!) };
};

test("state covers the trainable parameters only: m and v of trainableCount floats each, and the update count", () => {
  const before = ctx.memory().optim.current;
  const { m, optimizer } = setup(trainNorm);
  expect(optimizer.trainableCount).toBeLessThan(m.params.table.total / 2);
  expect(ctx.memory().optim.current - before).toBe(2 * 4 * optimizer.trainableCount + 4);
  expect(optimizer.state().m!.length).toBe(optimizer.trainableCount);
  optimizer.free();
  m.free();
});

test("snapshot of a fresh optimizer copies no state; restore after updates gives back values and state exactly", () => {
  for (const trainable of [trainAll, trainNorm]) {
    const { m, optimizer, step } = setup(trainable);
    const optimBefore = ctx.memory().optim.current, paramBefore = ctx.memory().param.current;
    optimizer.snapshot();
    expect(ctx.memory().optim.current).toBe(optimBefore);
    expect(ctx.memory().param.current - paramBefore).toBe(4 * optimizer.trainableCount);
    const v0 = values(m), s0 = state(optimizer);
    step();
    step();
    const v2 = values(m), s2 = state(optimizer);
    expect(v2).not.toEqual(v0);
    optimizer.restore();
    expect(values(m)).toEqual(v0);
    expect(state(optimizer)).toEqual(s0);
    optimizer.free();
    m.free();
  }
});

test("snapshot after updates copies m and v; restore returns to that point, not to zero", () => {
  const { m, optimizer, step } = setup(trainAll);
  step();
  const optimBefore = ctx.memory().optim.current;
  optimizer.snapshot();
  expect(ctx.memory().optim.current - optimBefore).toBe(2 * 4 * optimizer.trainableCount);
  const v1 = values(m), s1 = state(optimizer);
  expect(s1.m.some((x) => x !== 0)).toBe(true);
  step();
  step();
  optimizer.restore();
  expect(values(m)).toEqual(v1);
  expect(state(optimizer)).toEqual(s1);
  optimizer.free();
  m.free();
});

test("load takes packed arrays and the whole table's layout, and names the size it wanted otherwise", () => {
  const a = setup(trainNorm);
  a.step();
  const packed = a.optimizer.state();
  const full = { step: packed.step, m: new Float32Array(a.m.params.table.total), v: new Float32Array(a.m.params.table.total) };
  for (const r of a.optimizer.ranges)
    for (let i = 0; i < r.size; i++) {
      full.m[r.offset + i] = packed.m![r.packed + i];
      full.v[r.offset + i] = packed.v![r.packed + i];
    }
  for (const saved of [packed, full]) {
    const b = setup(trainNorm);
    b.optimizer.load(saved);
    expect(state(b.optimizer)).toEqual(state(a.optimizer));
    b.optimizer.free();
    b.m.free();
  }
  const c = setup(trainNorm);
  expect(() => c.optimizer.load({ step: 1, m: new Float32Array(5), v: null })).toThrow(/state 'm' has 5 values; expected \d+ \(the trainable parameters\) or \d+ \(the whole parameter table\)/);
  for (const x of [a, c]) {
    x.optimizer.free();
    x.m.free();
  }
});
