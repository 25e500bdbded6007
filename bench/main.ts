// bun bench [section ...] [--json] [--compare <file>] [--threads N] [--device cpu|cuda|auto]: throughput and memory benchmarks.
// Sections: kernels, models, step, memory, loader. Results print as tables; --json writes bench/results/<date>-<host>[-N].json;
// --compare <file> prints each section's headline figure against an earlier results file.
import cac from "cac";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describeDevice, openContext, parseDevice } from "../src/native/index.ts";
import { runKernelBench } from "./kernels.ts";
import { benchLoader } from "./loader.ts";
import { memoryRows } from "./memory.ts";
import { runModelBench } from "./models.ts";
import { measureVariants, stepTables, type VariantRuns } from "./step.ts";
import { printTable, type Row } from "./table.ts";

const sections = ["kernels", "models", "step", "memory", "loader"] as const;
type Section = (typeof sections)[number];

/** What --compare matches rows on and the figure it compares, per section. */
const headline: Record<Section, { key: string[]; metric: string; better: "higher" | "lower" }> = {
  kernels: { key: ["kernel"], metric: "ms", better: "lower" },
  models: { key: ["model", "batch"], metric: "fwd ms", better: "lower" },
  step: { key: ["method", "batch"], metric: "img/s", better: "higher" },
  memory: { key: ["method", "batch"], metric: "peak RSS MiB", better: "lower" },
  loader: { key: ["case", "workers"], metric: "img/s (idle consumer)", better: "higher" },
};

const cli = cac("bun bench");
cli
  .command("[...sections]", `Run benchmark sections (${sections.join(", ")}); all when none is named`)
  .option("--json", "Write results to bench/results/<date>-<host>.json")
  .option("--compare <file>", "Print ratios against an earlier results file")
  .option("--threads <n>", "Threads for the native library (default: all cores)")
  .option("--device <d>", "cpu (default) | cuda | auto: the backend every section runs on")
  .option("--preset <p>", "step: tiny (default) | full — the full-size official step (ConvNeXt-L + SD-VAE + SiT/DiT-XL/2), bench/full/")
  .action(async (names: string[], options: { json?: boolean; compare?: string; threads?: number; device?: string; preset?: string }) => {
    const chosen = (names.length ? names : sections) as Section[];
    for (const name of chosen) if (!sections.includes(name)) throw new Error(`bun bench: unknown section '${name}' (${sections.join(", ")})`);
    const device = parseDevice(options.device, "cpu");
    if (options.preset === "full") {
      if (chosen.length !== 1 || chosen[0] !== "step") throw new Error("bun bench: --preset full applies to the step section alone (bun bench step --preset full)");
      const json = options.json ? ["--json", freshResultsPath(join(import.meta.dir, "results"), `${new Date().toISOString().slice(0, 10)}-${hostname()}-full`)] : [];
      const proc = Bun.spawnSync(["bun", join(import.meta.dir, "full", "step.ts"), "--device", device, "--preset", "full", "--save-weights", "/tmp/dusa-full-weights", "--pytorch", ...json], { stdout: "inherit", stderr: "inherit" });
      process.exit(proc.exitCode ?? 1);
    }
    if (options.preset !== undefined && options.preset !== "tiny") throw new Error(`bun bench: --preset must be tiny or full, got '${options.preset}'`);
    const ctx = openContext(device, Number(options.threads ?? 0));
    const results: Record<string, unknown> = {
      date: new Date().toISOString(), host: hostname(), device: describeDevice(ctx), threads: ctx.threads, build: String(ctx.lib.symbols.dusa_build_info()),
    };
    console.log(`dusa bench on ${results.host}: ${results.build}; ${results.device}`);
    // step and memory report the same per-variant processes; memory alone needs no long timing
    let variantRuns: VariantRuns | null = null;
    const runVariants = (steps: number) => (variantRuns ??= measureVariants({ device: ctx.backend, steps }));
    if (chosen.includes("kernels")) {
      const { ceilings, rows } = runKernelBench(ctx);
      console.log(`\nceilings measured in this run: GEMM ${ceilings.gflops.toFixed(1)} GFLOP/s (2048³ sgemm), memory ${ceilings.gbps.toFixed(1)} GB/s (best of a 64 MiB copy and axpy)`);
      printTable("kernels", rows);
      results.kernels = { ceilings, rows };
    }
    if (chosen.includes("models")) {
      const rows = runModelBench(ctx);
      printTable("models (tiny: fwd and fwd+bwd of all parameters; full size: forward only at batch 1; random weights)", rows);
      results.models = { rows };
    }
    if (chosen.includes("step")) {
      const runs = runVariants(10), { rows, comparison } = stepTables(runs);
      printTable("step (tiny models, K = 6, one micro-batch incl. its update, each variant in its own process, 2 threads; phases in ms per step; analytic FLOPs; random weights)", rows);
      if (comparison.length) printTable(`step vs ${runs.pytorch}, same run (GFLOP/s: the same analytic FLOPs per image)`, comparison);
      else console.log(`\nPyTorch side by side: ${runs.pytorch}`);
      results.step = { rows, comparison, pytorch: runs.pytorch };
    }
    if (chosen.includes("memory")) {
      const runs = runVariants(2), rows = memoryRows(runs);
      printTable("memory (the step variants, each in its own process: peak MiB per tag over the timed steps, act per image, peak RSS)", rows);
      if (!runs.runs.some((r) => r.pytorch)) console.log(`\nPyTorch side by side: ${runs.pytorch}`);
      results.memory = { rows, pytorch: runs.pytorch };
    }
    if (chosen.includes("loader")) {
      const result = await benchLoader();
      printTable("loader (Fashion-MNIST, batch 64, task + aux transforms)", result.rows);
      results.loader = result;
    }
    if (options.compare) compare(results, await Bun.file(options.compare).json());
    if (options.json) {
      const path = freshResultsPath(join(import.meta.dir, "results"), `${new Date().toISOString().slice(0, 10)}-${hostname()}`);
      await Bun.write(path, JSON.stringify(results, null, 2));
      console.log(`\nwrote ${path}`);
    }
    ctx.destroy();
  });

/** <dir>/<stem>.json, or <stem>-2.json, -3, ... when that exists: a second run the same day never replaces the first. */
function freshResultsPath(dir: string, stem: string): string {
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? `${stem}.json` : `${stem}-${n}.json`);
    if (!existsSync(path)) return path;
  }
}

/** Each section's headline figure now and before, matched on the section's key columns; gain > 1 is better. */
function compare(now: Record<string, unknown>, before: Record<string, unknown>): void {
  const rows: Row[] = [];
  for (const section of sections) {
    const { key, metric, better } = headline[section];
    const id = (r: Row) => key.map((k) => r[k]).join(", ");
    const sectionRows = (results: Record<string, unknown>) => (results[section] as { rows?: Row[] } | undefined)?.rows ?? [];
    const old = new Map(sectionRows(before).map((r) => [id(r), r]));
    for (const row of sectionRows(now)) {
      const a = Number(row[metric]), b = Number(old.get(id(row))?.[metric]);
      if (Number.isFinite(a) && Number.isFinite(b)) rows.push({ section, case: id(row), metric, now: a, before: b, gain: better === "higher" ? a / b : b / a });
    }
  }
  printTable(`compared with ${before.date} on ${before.host}`, rows);
}

cli.help();
cli.parse();
