// bun run forward --model <preset> --weights <file> --input <in.safetensors> --out <out.safetensors>
// Runs one model on tensors from a file — `x`, plus `t` and `y` for SiT/DiT — and writes its output as `out`:
// logits (ConvNeXt), posterior mean × scaling factor (VAE), or the prediction (SiT/DiT, all output channels).
// The tool for checking a converted checkpoint against PyTorch.
import cac from "cac";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { ConvNeXt } from "../models/convnext.ts";
import { describeLoad, loadWeights, type Family } from "../models/load.ts";
import { loadPreset } from "../models/presets.ts";
import { SiT } from "../models/sit.ts";
import { AutoencoderKL } from "../models/vae.ts";
import { openContext, parseDevice, type TensorView } from "../native/index.ts";
import type { Parameters } from "../nn/params.ts";

type Options = { model: string; weights: string; input: string; out: string; allowMissing?: string; allowUnexpected?: string; threads?: number; device?: string };

function input(tensors: Map<string, { shape: number[]; data: Float32Array | Int32Array }>, name: string, file: string, rank: number) {
  const t = tensors.get(name);
  if (!t) throw new Error(`${file}: no tensor '${name}' (has: ${[...tensors.keys()].join(", ")})`);
  if (t.shape.length !== rank) throw new Error(`${file}: '${name}' must have ${rank} dimensions, got [${t.shape.join(", ")}]`);
  return t;
}

export async function runForward(o: Options): Promise<{ shape: number[]; seconds: number }> {
  const preset = loadPreset(o.model);
  const ctx = openContext(parseDevice(o.device, "cpu"), Number(o.threads ?? 0));
  const list = (s?: string) => (s ? s.split(",").map((p) => p.trim()).filter(Boolean) : []);
  const tensors = readSafetensors(o.input).tensors as Map<string, { shape: number[]; data: Float32Array | Int32Array }>;
  const x = input(tensors, "x", o.input, 4);
  const [B, C, H, W] = x.shape;
  const xs = ctx.upload(Float32Array.from(x.data), x.shape, "data");
  let out: TensorView;
  let free: () => void;
  const start = performance.now();
  const load = (params: Parameters, family: Family) => {
    const { report, checkpoint } = loadWeights(params, o.weights, family, { allowMissing: list(o.allowMissing), allowUnexpected: list(o.allowUnexpected) });
    console.error(describeLoad(report, checkpoint));
  };
  if (preset.family === "convnext") {
    if (C !== preset.config.inChans) throw new Error(`${o.input}: x has ${C} channels, ${o.model} takes ${preset.config.inChans}`);
    const m = new ConvNeXt(ctx, preset.config);
    load(m.params, "convnext");
    out = m.forward(xs, B, H, W);
    free = () => m.free();
  } else if (preset.family === "vae") {
    const m = new AutoencoderKL(ctx, preset.config, { encoder: true, decoder: false });
    load(m.params, "vae");
    out = m.encodeMean(xs, B, H, W, { training: false });
    free = () => m.free();
  } else {
    const t = input(tensors, "t", o.input, 1), y = input(tensors, "y", o.input, 1);
    const m = new SiT(ctx, preset.config);
    load(m.params, preset.family);
    const ts = ctx.upload(Float32Array.from(t.data), [B], "data");
    const ys = ctx.upload(Int32Array.from(y.data), [B], "data", "i32");
    out = m.forward(xs, ts, ys, B, { training: false });
    free = () => { m.free(); ts.free(); ys.free(); };
  }
  const result = out.readFloat();
  const seconds = (performance.now() - start) / 1000;
  await writeSafetensors(o.out, { out: { shape: [...out.shape], data: result } }, { model: o.model, weights: o.weights });
  free();
  xs.free();
  ctx.destroy();
  return { shape: [...out.shape], seconds };
}

if (import.meta.main) {
  const cli = cac("bun run forward");
  cli
    .command("", "Run one model on tensors from a safetensors file and write its output")
    .option("--model <preset>", "Model preset (configs/model/<preset>.yaml)")
    .option("--weights <file>", "Checkpoint: safetensors or a PyTorch .pt/.pth state dict")
    .option("--input <file>", "safetensors with x (and t, y for SiT/DiT)")
    .option("--out <file>", "Where to write `out`")
    .option("--allow-missing <names>", "Comma-separated keys or module prefixes the checkpoint may lack")
    .option("--allow-unexpected <names>", "Comma-separated keys or module prefixes the model may ignore")
    .option("--threads <n>", "CPU threads")
    .option("--device <d>", "cpu (default) | cuda | auto")
    .action(async (o: Options) => {
      try {
        for (const key of ["model", "weights", "input", "out"] as const) if (!o[key]) throw new Error(`bun run forward: --${key} is required`);
        const { shape, seconds } = await runForward(o);
        console.log(`wrote ${o.out}: out [${shape.join(", ")}] (${seconds.toFixed(2)} s)`);
      } catch (e) {
        console.error(`error: ${(e as Error).message}`);
        process.exit(2);
      }
    });
  cli.help();
  cli.parse();
}
