// bun bench [section ...] [--json] [--compare <file>] [--threads N] [--device cpu|cuda|auto]: throughput and memory benchmarks.
// Sections so far: kernels, models, step, loader. Results print as tables; --json writes bench/results/<date>-<host>.json.
import cac from "cac";
import { hostname } from "node:os";
import { join } from "node:path";
import { describeDevice, openContext, parseDevice } from "../src/native/index.ts";
import { runKernelBench } from "./kernels.ts";
import { benchLoader } from "./loader.ts";
import { runModelBench } from "./models.ts";
import { runStepBench } from "./step.ts";
import { printTable, type Row } from "./table.ts";

const sections = ["kernels", "models", "step", "loader"] as const;
type Section = (typeof sections)[number];

const cli = cac("bun bench");
cli
  .command("[...sections]", `Run benchmark sections (${sections.join(", ")}); all when none is named`)
  .option("--json", "Write results to bench/results/<date>-<host>.json")
  .option("--compare <file>", "Print ratios against an earlier results file")
  .option("--threads <n>", "Threads for the native library (default: all cores)")
  .option("--device <d>", "cpu (default) | cuda | auto: the backend every section runs on")
  .action(async (names: string[], options: { json?: boolean; compare?: string; threads?: number; device?: string }) => {
    const chosen = (names.length ? names : sections) as Section[];
    for (const name of chosen) if (!sections.includes(name)) throw new Error(`bun bench: unknown section '${name}' (${sections.join(", ")})`);
    const device = parseDevice(options.device, "cpu");
    const ctx = openContext(device, Number(options.threads ?? 0));
    const results: Record<string, unknown> = {
      date: new Date().toISOString(), host: hostname(), device: describeDevice(ctx), threads: ctx.threads, build: String(ctx.lib.symbols.dusa_build_info()),
    };
    console.log(`dusa bench on ${results.host}: ${results.build}; ${results.device}`);
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
      const { rows, comparison, pytorch } = runStepBench({ device: ctx.backend });
      printTable("step (tiny models, K = 6, one micro-batch incl. its update, each variant in its own process, 2 threads; phases in ms per step; random weights)", rows);
      if (comparison.length) printTable(`step vs ${pytorch}, same run`, comparison);
      else console.log(`\nPyTorch side by side: ${pytorch}`);
      results.step = { rows, comparison, pytorch };
    }
    if (chosen.includes("loader")) {
      const result = await benchLoader();
      printTable("loader (Fashion-MNIST, batch 64, task + aux transforms)", result.rows);
      results.loader = result;
    }
    if (options.compare) compare(results, await Bun.file(options.compare).json());
    if (options.json) {
      const path = join(import.meta.dir, "results", `${new Date().toISOString().slice(0, 10)}-${hostname()}.json`);
      await Bun.write(path, JSON.stringify(results, null, 2));
      console.log(`\nwrote ${path}`);
    }
    ctx.destroy();
  });

function compare(now: Record<string, unknown>, before: Record<string, unknown>): void {
  const rows: Row[] = [];
  for (const section of sections) {
    const a = (now[section] as { rows?: Row[] } | undefined)?.rows ?? [];
    const b = new Map(((before[section] as { rows?: Row[] } | undefined)?.rows ?? []).map((r) => [String(r.kernel), r]));
    for (const row of a) {
      const old = b.get(String(row.kernel));
      if (old) rows.push({ kernel: String(row.kernel), "ms now": row.ms, "ms before": old.ms, speedup: Number(old.ms) / Number(row.ms) });
    }
  }
  printTable(`compared with ${before.date} on ${before.host}`, rows);
}

cli.help();
cli.parse();
