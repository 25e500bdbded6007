// bun bench models: forward and backward throughput and activation bytes per image of each tiny model at
// batch 16 and 64, and forward throughput of each full-size model at batch 1 (random weights, real shapes).
import type { Context } from "../src/native/index.ts";
import { ConvNeXt } from "../src/models/convnext.ts";
import { loadPreset } from "../src/models/presets.ts";
import { SiT } from "../src/models/sit.ts";
import { AutoencoderKL } from "../src/models/vae.ts";
import { trainAll } from "../src/nn/params.ts";
import type { Row } from "./table.ts";
import { timeIt } from "./timing.ts";

type Runner = { name: string; batch: number; forward: () => void; backward?: () => void; activationBytes: () => number; free: () => void };

function randomize(ctx: Context, values: { size: number; ptr: number }, seed: number): void {
  ctx.call("dusa_rng_normal", values as never, values.size, seed, 0, 0, 0.02);
}

function convnextRunner(ctx: Context, preset: string, batch: number, training: boolean): Runner {
  const p = loadPreset(preset);
  if (p.family !== "convnext") throw new Error(preset);
  const m = new ConvNeXt(ctx, p.config);
  randomize(ctx, m.params.values, 1);
  const s = p.imageSize;
  const x = ctx.alloc([batch, p.config.inChans, s, s]);
  ctx.call("dusa_rng_normal", x, x.size, 2, 0, 0, 1);
  const dlogits = ctx.alloc([batch, p.config.numClasses]).fill(1 / batch);
  if (training) m.params.train(trainAll);
  return {
    name: preset, batch,
    forward: () => void m.forward(x, batch, s, s),
    backward: training ? () => m.backward(dlogits) : undefined,
    activationBytes: () => m.activationBytes,
    free: () => { m.free(); x.free(); dlogits.free(); },
  };
}

function sitRunner(ctx: Context, preset: string, batch: number, training: boolean): Runner {
  const p = loadPreset(preset);
  if (p.family !== "sit" && p.family !== "dit") throw new Error(preset);
  const m = new SiT(ctx, p.config);
  const pos = m.params.p("pos_embed").read();
  randomize(ctx, m.params.values, 3);
  m.params.p("pos_embed").write(pos);
  const c = p.config, S = c.inputSize;
  const x = ctx.alloc([batch, c.inChannels, S, S]);
  ctx.call("dusa_rng_normal", x, x.size, 4, 0, 0, 1);
  const t = ctx.alloc([batch]).fill(p.family === "dit" ? 100 : 0.25);
  const y = ctx.upload(Int32Array.from({ length: batch }, (_, i) => i % c.numClasses), [batch], "data");
  const outChannels = c.learnSigma ? 2 * c.inChannels : c.inChannels;
  const dout = ctx.alloc([batch, outChannels, S, S]).fill(1e-3);
  if (training) m.params.train(trainAll);
  return {
    name: preset, batch,
    forward: () => void m.forward(x, t, y, batch, { training }),
    backward: training ? () => m.backward(dout) : undefined,
    activationBytes: () => m.activationBytes,
    free: () => { m.free(); for (const tt of [x, t, y, dout]) tt.free(); },
  };
}

function vaeRunner(ctx: Context, preset: string, batch: number, training: boolean): Runner {
  const p = loadPreset(preset);
  if (p.family !== "vae") throw new Error(preset);
  const m = new AutoencoderKL(ctx, p.config, { encoder: true, decoder: false });
  randomize(ctx, m.params.values, 5);
  const s = p.imageSize, f = 2 ** (p.config.blockOut.length - 1);
  const x = ctx.alloc([batch, p.config.inChannels, s, s]);
  ctx.call("dusa_rng_uniform", x, x.size, 6, 0, -1, 1);
  const dmean = ctx.alloc([batch, p.config.latentChannels, s / f, s / f]).fill(1e-3);
  if (training) m.params.train(trainAll);
  return {
    name: `${preset} encoder`, batch,
    forward: () => void m.encodeMean(x, batch, s, s, { training }),
    backward: training ? () => m.encodeBackward(dmean) : undefined,
    activationBytes: () => m.activationBytes,
    free: () => { m.free(); x.free(); dmean.free(); },
  };
}

function measure(ctx: Context, r: Runner, rows: Row[]): void {
  ctx.resetPeak();
  const fwd = timeIt(r.forward, { warmup: 1, minRuns: 3, budget: 1, sync: () => ctx.sync() });
  const row: Row = { model: r.name, batch: r.batch, "fwd ms": fwd.median * 1e3, "fwd img/s": r.batch / fwd.median };
  if (r.backward) {
    const step = timeIt(() => { r.forward(); r.backward!(); }, { warmup: 1, minRuns: 3, budget: 1, sync: () => ctx.sync() });
    row["fwd+bwd ms"] = step.median * 1e3;
    row["fwd+bwd img/s"] = r.batch / step.median;
  } else {
    row["fwd+bwd ms"] = "-";
    row["fwd+bwd img/s"] = "-";
  }
  row["act MiB/img"] = r.activationBytes() / r.batch / 2 ** 20;
  rows.push(row);
  r.free();
}

export function runModelBench(ctx: Context, options: { full?: boolean } = {}): Row[] {
  const rows: Row[] = [];
  for (const batch of [16, 64]) {
    measure(ctx, convnextRunner(ctx, "convnext-tiny-fm", batch, true), rows);
    measure(ctx, sitRunner(ctx, "sit-tiny-fm", batch, true), rows);
    measure(ctx, vaeRunner(ctx, "vae-tiny-fm", batch, true), rows);
  }
  if (options.full ?? true) {
    measure(ctx, convnextRunner(ctx, "convnext-large", 1, false), rows);
    measure(ctx, sitRunner(ctx, "sit-xl-2", 1, false), rows);
    measure(ctx, sitRunner(ctx, "dit-xl-2", 1, false), rows);
    measure(ctx, vaeRunner(ctx, "sd-vae", 1, false), rows);
  }
  return rows;
}
