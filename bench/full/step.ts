// bun bench/full/step.ts [--device cuda|cpu] [--preset full|tiny] [--json out] ...: the full-size DUSA step on our
// kernels — ConvNeXt-L + SD-VAE encoder + SiT-XL/2 or DiT-XL/2, random weights of the real shapes, micro-batch 8 × K 6,
// variants (all, aux) official, (norm, aux), (all, frozen aux), and DiT (all, aux). Reports images/s, time per phase,
// peak bytes per tag, MFU against the GEMM ceiling of our dusa_matmul (fp32, or bf16 with --storage bf16) measured in the same run, each model's
// forward/backward alone, attention at (T 256, d 72) and (T 1024, d 512, 1 head) in TFLOP/s, and the largest
// micro-batch that fits (binary search over clean out-of-memory errors, one process per probe).
// --save-weights DIR writes the weights and a parity file for bench/pytorch/step_full.py --weights DIR;
// --compare FILE prints ours/PyTorch ratios against step_full.py's JSON; --plan-only prints the parameter tables and
// planned activation sizes without allocating anything (any machine).
import cac from "cac";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeDevice, openContext, parseDevice } from "../../src/native/index.ts";
import { printTable, type Row } from "../table.ts";
import { printComparison } from "./compare.ts";
import { planRows } from "./plan.ts";
import { searchMaxBatch } from "./max-batch.ts";
import { gemmCeiling, measureAttention, measureComponents } from "./alone.ts";
import { K, VARIANTS, measureVariant, stepModels } from "./ours.ts";
import { configs, useWeightsFrom, type Preset } from "./models.ts";
import { writeShared } from "./share.ts";
import { stepFlopsPerImage } from "../../src/tta/flops.ts";

const MiB = 2 ** 20;
export type FullStepOptions = {
  device?: string; preset?: string; json?: string; batch?: number; steps?: number; variants?: string; sections?: string; weights?: string; saveWeights?: string;
  compare?: string; pytorch?: boolean | string; planOnly?: boolean; threads?: number; probeTimeout?: number; searchBudget?: number; memoryLimit?: number;
  storage?: string;
  graph?: string;
};

const cli = cac("bun bench/full/step.ts");
cli
  .option("--device <d>", "cpu | cuda", { default: "cpu" })
  .option("--preset <p>", "full (ConvNeXt-L, SD-VAE, SiT/DiT-XL/2) | tiny (the Fashion-MNIST presets)", { default: "full" })
  .option("--json <file>", "Write the results as JSON (rewritten after every section)")
  .option("--batch <n>", "Micro-batch B (K = 6 hypotheses per image)", { default: 8 })
  .option("--steps <n>", "Timed steps per variant (after 2 warm-up steps)", { default: 10 })
  .option("--variants <ids>", `Comma list of ${VARIANTS.map((v) => v.id).join(", ")}`, { default: VARIANTS.map((v) => v.id).join(",") })
  .option("--sections <s>", "Comma list of ceiling, step, components, attention, maxbatch", { default: "ceiling,step,components,attention,maxbatch" })
  .option("--weights <dir>", "Load the weights from step_full.py --save-weights DIR instead of drawing them")
  .option("--save-weights <dir>", "Write every model's weights and a parity file for step_full.py --weights")
  .option("--compare <file>", "step_full.py's JSON: print ours/PyTorch ratios")
  .option("--pytorch [args]", "Then run bench/pytorch/step_full.py on the same device (and --save-weights' weights) and print ratios; a string adds its options")
  .option("--plan-only", "Parameter tables and planned activation bytes only; allocates nothing")
  .option("--threads <n>", "CPU threads (cpu device)", { default: 0 })
  .option("--graph <ids>", "Variants measured again as a recorded graph replayed per step (comma list, or none)", { default: "sit-all-aux" })
  .option("--storage <s>", "f32 | bf16: the activations' storage (bf16: fp32 master weights, gradients, optimizer state)", { default: "f32" })
  .option("--probe-timeout <s>", "Seconds one max-batch probe may take", { default: 120 })
  .option("--search-budget <s>", "Seconds the max-batch search may take", { default: 240 })
  .option("--memory-limit <bytes>", "Context memory limit for the max-batch probes (a CPU stand-in for device memory)")
  .help();

/** The whole bench (the CLI below; bench/main.ts's `step --preset full` can call it with the same options). */
export function runFullStep(o: FullStepOptions): void {
  const preset = o.preset as Preset;
  if (preset !== "full" && preset !== "tiny") throw new Error(`--preset must be full or tiny, got ${o.preset}`);
  const B = Number(o.batch), steps = Number(o.steps);
  if (o.planOnly) {
    printTable(`${preset} models: parameters and planned activations at B ${B}, K ${K} (nothing allocated)`, planRows(preset, B));
    return;
  }
  const device = parseDevice(o.device, "cpu");
  if (device === "auto") throw new Error("--device must be cpu or cuda");
  const sections = new Set(String(o.sections).split(","));
  const variants = String(o.variants).split(",").map((id) => {
    const v = VARIANTS.find((x) => x.id === id);
    if (!v) throw new Error(`unknown variant '${id}' (${VARIANTS.map((x) => x.id).join(", ")})`);
    return v;
  });
  const graphed = new Set(o.graph === undefined ? ["sit-all-aux"] : String(o.graph) === "none" ? [] : String(o.graph).split(","));
  for (const id of graphed) if (!VARIANTS.some((v) => v.id === id)) throw new Error(`--graph: unknown variant '${id}'`);
  useWeightsFrom(o.weights ?? null);
  const ctx = openContext(device, Number(o.threads), { log: null });
  const storage = o.storage ?? "f32";
  if (storage !== "f32" && storage !== "bf16") throw new Error(`--storage must be f32 or bf16, got ${storage}`);
  ctx.storage = storage;
  const result: Record<string, unknown> = {
    side: "ours", date: new Date().toISOString(), device: describeDevice(ctx), build: String(ctx.lib.symbols.dusa_build_info()), preset, B, K, steps, storage,
    flops_per_image_official: Object.fromEntries((["sit", "dit"] as const).map((g) => [g, stepFlopsPerImage(stepModels(preset, g), { method: "dusa", adaptTask: "all", adaptAux: true })])),
  };
  const errors: Record<string, string> = {};
  const save = () => o.json && writeFileSync(o.json, JSON.stringify(result, null, 2));
  const section = (name: string, fn: () => void) => {
    if (!sections.has(name)) return;
    const t0 = performance.now();
    try {
      fn();
    } catch (e) {
      console.error(`section ${name} failed: ${(e as Error).message}`);
      errors[name] = String((e as Error).message).slice(0, 2000);
      result.errors = errors;
    }
    console.error(`[${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s]`);
    save();
  };
  console.log(`dusa full step bench: ${result.build}; ${result.device}; preset ${preset}, B ${B} x K ${K}, ${storage} storage`);

  const weightsDir = o.saveWeights;
  if (weightsDir) {
    sections.add("weights");
    section("weights", () => (result.shared = writeShared(ctx, preset, weightsDir)));
  }
  let ceiling: number | null = null;
  section("ceiling", () => {
    const g = gemmCeiling(ctx, device === "cuda" && preset === "full" ? 8192 : 1024);
    ceiling = g.tflops;
    result.ceiling = g;
    console.log(`\n${storage} GEMM ceiling (dusa_matmul ${g.n}³, same run): ${g.tflops.toFixed(2)} TFLOP/s`);
  });
  section("step", () => {
    const rows: ReturnType<typeof measureVariant>[] = [];
    for (const v of variants) {
      try {
        rows.push(measureVariant(ctx, preset, v, B, steps, ceiling));
      } catch (e) {
        console.error(`step ${v.id} failed: ${(e as Error).message}`);
        errors[`step ${v.id}`] = String((e as Error).message).slice(0, 2000);
        result.errors = errors;
      }
      if (graphed.has(v.id))
        try {
          rows.push(measureVariant(ctx, preset, v, B, steps, ceiling, true));
        } catch (e) {
          console.error(`step ${v.id} [graph] failed: ${(e as Error).message}`);
          errors[`step ${v.id} graph`] = String((e as Error).message).slice(0, 2000);
          result.errors = errors;
        }
      result.step = rows;
      save();
    }
    printTable(`step, B ${B} x K ${K}, median of ${steps} (ms per phase: means, device-synced)`, rows.map(stepRow));
  });
  section("components", () => {
    const rows = measureComponents(ctx, preset, B, ceiling);
    result.components = rows;
    printTable("each model alone (task and VAE at B images, generative at B·K samples)", rows.map((r) => ({ model: r.model, pass: r.pass, batch: r.batch, ms: r.ms, "TFLOP/s": r.tflops, MFU: r.mfu ?? "-", "act MiB": r.act_bytes / MiB })));
  });
  section("attention", () => {
    const c = configs(preset), f = 2 ** (c.vae.blockOut.length - 1), T = (c.sit.inputSize / c.sit.patchSize) ** 2;
    const rows = measureAttention(ctx, [
      { B: B * K, heads: c.sit.heads, T, d: c.sit.hidden / c.sit.heads, fused: true },
      { B, heads: 1, T: (c.vaeSize / f) ** 2, d: c.vae.blockOut[c.vae.blockOut.length - 1], fused: false },
    ]);
    result.attention = rows;
    printTable(`attention (ours, ${storage} storage; fwd+bwd counted as 3x fwd)`, rows.map((r) => ({ shape: r.shape, "fwd ms": r.fwd_ms, "fwd TFLOP/s": r.fwd_tflops, "fwd+bwd ms": r.fwdbwd_ms, "fwd+bwd TFLOP/s": r.fwdbwd_tflops })));
  });
  ctx.destroy(); // the probes need the device to themselves
  section("maxbatch", () => {
    const search = searchMaxBatch({ device, preset, variant: variants[0].id, start: B, probeTimeout: Number(o.probeTimeout), budget: Number(o.searchBudget), memoryLimit: o.memoryLimit ? Number(o.memoryLimit) : undefined });
    result.max_batch = search;
    console.log(`\nlargest micro-batch, ${variants[0].label}: ${search.max}${search.complete ? "" : ` (search cut short; first failure at ${search.first_fail ?? "-"})`}; failures ${search.clean ? "all clean out-of-memory errors" : "NOT all clean"}`);
  });
  if (o.pytorch) {
    const torch = runPytorch(device, preset, weightsDir, typeof o.pytorch === "string" ? o.pytorch : "");
    if (torch) printComparison(result, torch);
  }
  if (o.compare) printComparison(result, JSON.parse(readFileSync(o.compare, "utf8")));
}

/** bench/pytorch/step_full.py in the first python3 that imports torch; its JSON, or null (said why). */
function runPytorch(device: string, preset: Preset, weights: string | undefined, extra: string): Record<string, unknown> | null {
  const py = ["python3", "/usr/bin/python3"].find((p) => Bun.spawnSync([p, "-c", "import torch"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0);
  if (!py) {
    console.log("\nPyTorch: skipped (no python3 that imports torch)");
    return null;
  }
  const out = join(tmpdir(), `dusa-full-pytorch-${process.pid}.json`);
  const args = [py, join(import.meta.dir, "..", "pytorch", "step_full.py"), "--device", device, "--preset", preset, "--json", out, ...(weights ? ["--weights", weights] : []), ...extra.split(/\s+/).filter(Boolean)];
  const r = Bun.spawnSync(args, { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0 || !existsSync(out)) {
    console.log(`\nPyTorch: step_full.py failed (exit ${r.exitCode})`);
    return null;
  }
  return JSON.parse(readFileSync(out, "utf8"));
}

function stepRow(r: ReturnType<typeof measureVariant>): Row {
  const row: Row = { variant: r.label, "img/s": r.img_s, "ms/step": r.ms_step };
  for (const p of ["task_fwd", "select", "vae", "gen_fwd", "loss", "task_bwd", "gen_bwd", "update+other", "graph"]) row[p] = r.phases[p] ?? "-";
  row.TFLOPs = r.tflops;
  row.MFU = r.mfu ?? "-";
  for (const tag of ["param", "grad", "optim", "act", "workspace"]) row[`${tag} MiB`] = (r.peak_bytes[tag] ?? 0) / MiB;
  row["total MiB"] = r.peak_bytes.total / MiB;
  row["of which snapshot MiB"] = r.snapshot_bytes / MiB;
  return row;
}

if (import.meta.main) {
  const parsed = cli.parse();
  if (!parsed.options.help) runFullStep(parsed.options as FullStepOptions);
}
