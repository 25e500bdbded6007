// The DUSA step recorded as a graph and replayed (graph=on; on the CPU the recorded calls are replayed) against the
// same step run eagerly, on twin random tiny models fed the same batches: the same predictions, losses, update
// decisions and parameters, bit for bit, through accumulation, a non-finite loss (the update gated shut on the
// device), a batch-size change (the graphs go stale and the step warms up again) and an episodic reset.
import { expect, test } from "bun:test";
import { DusaMethod, TentMethod, type MicroBatch } from "../../src/tta/methods.ts";
import { StepGraphs } from "../../src/tta/step-graphs.ts";
import { cpuContext } from "../util/context.ts";
import { smallDusaModels } from "../util/small-dusa.ts";
import { freshSeed, makeRng, normal, uniform } from "../util/random.ts";

const ctx = cpuContext();
const adam = { name: "adam" as const, lr: 1e-2, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };

function method(seed: number, graph: "off" | "on") {
  const m = smallDusaModels(ctx, makeRng(seed));
  const settings = { family: "sit" as const, topk: 2, randBudget: 2, temperature: 1, t: 0.25, loss: { mse: 1, normL2: 0.5, cosine: 0.5 }, accumulate: 2, adaptTask: true, adaptAux: true, seed: 5 };
  return { ...m, dusa: new DusaMethod(ctx, m.task, m.vae, m.gen, { settings, adaptTask: "all", taskOptimizer: adam, auxOptimizer: { ...adam, lr: 1e-3 }, graph }) };
}

/** Device buffers reused across steps, as the runner's BatchTensors are (a recorded step reads them in place). */
function buffers(B: number): MicroBatch {
  return { task: ctx.alloc([B, 1, 16, 16], "data"), aux: ctx.alloc([B, 1, 16, 16], "data"), B, H: 16, W: 16, auxSize: 16 };
}

test("graph replay equals the eager step bit for bit: accumulation, a gated non-finite step, a new batch size, a reset", () => {
  const seed = freshSeed(), rng = makeRng(seed ^ 0x5eed);
  const eager = method(seed, "off"), graphed = method(seed, "on");
  expect(graphed.dusa.graphs.active).toBe(true);
  const sizes = { 4: [buffers(4), buffers(4)], 2: [buffers(2), buffers(2)] } as Record<number, MicroBatch[]>;
  const plan: { B: number; nanAux?: boolean; reset?: boolean }[] = [
    { B: 4 }, { B: 4 }, { B: 4 }, { B: 4 }, { B: 4, nanAux: true }, { B: 4 }, { B: 4 }, { B: 2 }, { B: 2 }, { B: 4 }, { B: 4 },
    { B: 4, reset: true }, { B: 4 }, { B: 4 },
  ];
  const runs: string[] = [];
  let index = 0;
  for (const [i, s] of plan.entries()) {
    if (s.reset) {
      eager.dusa.reset();
      graphed.dusa.reset();
      index = 0;
    }
    const x = normal(rng, s.B * 256), a = s.nanAux ? new Float32Array(s.B * 256).fill(Number.NaN) : uniform(rng, s.B * 256);
    const [be, bg] = sizes[s.B];
    for (const b of [be, bg]) {
      b.task.write(x);
      b.aux!.write(a);
    }
    const re = eager.dusa.step(be, index), rg = graphed.dusa.step(bg, index);
    const label = `step ${i} (B=${s.B}${s.nanAux ? ", NaN aux" : ""}) seed ${seed}`;
    expect([label, Array.from(rg.predictions), Object.is(rg.loss, re.loss) || rg.loss === re.loss, rg.finite, rg.updated]).toEqual([label, Array.from(re.predictions), true, re.finite, re.updated]);
    if (s.nanAux) expect([label, re.finite, re.updated]).toEqual([label, false, false]);
    const phases = graphed.dusa.takePhases();
    eager.dusa.takePhases();
    runs.push("graph" in phases ? "g" : "e");
    index++;
  }
  // warm-up, then replays; a new batch size warms up again, and so does the old one after it (its graphs went stale)
  expect(runs.join("")).toBe("eeggggg" + "ee" + "ee" + "ggg");
  for (const part of ["task", "gen"] as const)
    expect([part, Array.from(graphed[part].params.values.readFloat())]).toEqual([part, Array.from(eager[part].params.values.readFloat())]);
  for (const [e, g] of eager.dusa.trainables().map((t, i) => [t, graphed.dusa.trainables()[i]] as const)) expect(g.optimizer!.step).toBe(e.optimizer!.step);
  for (const m of [eager, graphed]) {
    m.dusa.free();
    for (const model of [m.task, m.vae, m.gen]) model.free();
  }
  for (const b of [...sizes[4], ...sizes[2]]) for (const t of [b.task, b.aux!]) t.free();
});

test("tent: graph replay equals the eager step bit for bit, a NaN batch gated out of the update", () => {
  const seed = freshSeed(), rng = makeRng(seed ^ 0x7e47);
  const make = (graph: "off" | "on") => {
    const m = smallDusaModels(ctx, makeRng(seed));
    m.vae.free();
    m.gen.free();
    return { task: m.task, tent: new TentMethod(ctx, m.task, { ...adam, lr: 1e-3 }, 2, null, graph), batch: buffers(4) };
  };
  const eager = make("off"), graphed = make("on");
  const runs: string[] = [];
  for (let i = 0; i < 8; i++) {
    const x = i === 4 ? new Float32Array(4 * 256).fill(Number.NaN) : normal(rng, 4 * 256);
    for (const m of [eager, graphed]) m.batch.task.write(x);
    const re = eager.tent.step(eager.batch, i), rg = graphed.tent.step(graphed.batch, i);
    const label = `step ${i} seed ${seed}`;
    expect([label, Array.from(rg.predictions), Object.is(rg.loss, re.loss), rg.finite, rg.updated]).toEqual([label, Array.from(re.predictions), true, re.finite, re.updated]);
    runs.push("graph" in graphed.tent.takePhases() ? "g" : "e");
    eager.tent.takePhases();
  }
  expect(runs.join("")).toBe("eegggggg");
  expect(Array.from(graphed.task.params.values.readFloat())).toEqual(Array.from(eager.task.params.values.readFloat()));
  for (const m of [eager, graphed]) {
    m.tent.free();
    m.task.free();
    m.batch.task.free();
    m.batch.aux!.free();
  }
});

test("graph modes: auto records on CUDA only; grad_clip keeps steps eager (auto) or is refused (on)", () => {
  expect(new StepGraphs(ctx, "auto").active).toBe(ctx.backend === "cuda");
  expect(new StepGraphs(ctx, "off").active).toBe(false);
  expect(new StepGraphs(ctx, "on").active).toBe(true);
  expect(new StepGraphs(ctx, "auto", "grad_clip reads the gradient norm on the host").active).toBe(false);
  expect(() => new StepGraphs(ctx, "on", "grad_clip reads the gradient norm on the host")).toThrow(/graph=on: grad_clip/);
});
