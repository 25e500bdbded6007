// What the PyTorch side loads from ours: every model's weights (safetensors, public names) and a parity file — fixed
// inputs and our fp32 outputs on them (task logits, the VAE latent, SiT and DiT predictions on 2 samples) — so
// step_full.py checks that both sides run the same function on the same weights before it times anything.
//   <dir>/convnext.safetensors  vae.safetensors  sit.safetensors  dit.safetensors  parity.safetensors
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeSafetensorsSync } from "../../src/io/checkpoint.ts";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { SiT } from "../../src/models/sit.ts";
import { AutoencoderKL } from "../../src/models/vae.ts";
import type { Context, Tensor } from "../../src/native/index.ts";
import { FILES, configs, fillWeights, saveParams, type Preset } from "./models.ts";

type Entry = { shape: number[]; data: Float32Array | Int32Array };

export function writeShared(ctx: Context, preset: Preset, dir: string, B = 2): string[] {
  mkdirSync(dir, { recursive: true });
  const c = configs(preset), parity: Record<string, Entry> = {};
  const rand = (name: string, shape: number[], seed: number, uniform = false): Tensor => {
    const t = ctx.alloc(shape, "data");
    if (uniform) ctx.call("dusa_rng_uniform", t, t.size, seed, 0, -1, 1);
    else ctx.call("dusa_rng_normal", t, t.size, seed, 0, 0, 1);
    parity[name] = { shape, data: t.readFloat() };
    return t;
  };
  const keep = (name: string, shape: number[], data: Float32Array | Int32Array) => (parity[name] = { shape, data });

  const task = new ConvNeXt(ctx, c.task);
  fillWeights(ctx, task.params, "task");
  saveParams(task.params, join(dir, `${FILES.task}.safetensors`));
  const x = rand("x", [B, c.task.inChans, c.taskSize, c.taskSize], 901);
  keep("logits", [B, c.task.numClasses], task.forward(x, B, c.taskSize, c.taskSize).readFloat());
  task.free();

  const vae = new AutoencoderKL(ctx, c.vae, { encoder: true, decoder: false });
  fillWeights(ctx, vae.params, "vae");
  saveParams(vae.params, join(dir, `${FILES.vae}.safetensors`));
  const aux = rand("aux", [B, c.vae.inChannels, c.vaeSize, c.vaeSize], 902, true);
  const z0 = vae.encodeMean(aux, B, c.vaeSize, c.vaeSize, { training: false });
  keep("z0", [...z0.shape], z0.readFloat());
  vae.free();

  for (const [gen, cfg] of [["sit", c.sit], ["dit", c.dit]] as const) {
    const model = new SiT(ctx, cfg);
    fillWeights(ctx, model.params, gen);
    saveParams(model.params, join(dir, `${gen}.safetensors`));
    const S = cfg.inputSize, tv = gen === "sit" ? 0.25 : 100;
    const xt = rand(`${gen}.xt`, [B, cfg.inChannels, S, S], 903);
    const t = ctx.upload(new Float32Array(B).fill(tv), [B], "data");
    const labels = Int32Array.from({ length: B }, (_, i) => (7 * i + 1) % cfg.numClasses);
    const y = ctx.upload(labels, [B], "data", "i32");
    keep(`${gen}.t`, [B], t.readFloat());
    keep(`${gen}.y`, [B], labels);
    const pred = model.forward(xt, t, y, B, { training: false });
    keep(`${gen}.pred`, [...pred.shape], pred.readFloat());
    [xt, t, y].forEach((b) => b.free());
    model.free();
  }
  x.free();
  aux.free();
  writeSafetensorsSync(join(dir, "parity.safetensors"), parity, { preset });
  return ["convnext", "vae", "sit", "dit", "parity"].map((n) => join(dir, `${n}.safetensors`));
}
