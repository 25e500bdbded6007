// `bun bench kernels --device <d> --json` without bench/main.ts's other sections, whose loader bench imports sharp
// (a native package the GPU machine would need carried too). Same measurements (bench/kernels.ts), same table.
// Usage: bun bench/gpu/kernels.ts [--device cuda|cpu] [--json <file>]
import { hostname } from "node:os";
import { writeFileSync } from "node:fs";
import { describeDevice, openContext, parseDevice } from "../../src/native/index.ts";
import { runKernelBench } from "../kernels.ts";
import { printTable } from "../table.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ctx = openContext(parseDevice(flag("--device"), "cpu"), 0, { log: null });
const build = String(ctx.lib.symbols.dusa_build_info());
console.log(`dusa bench kernels on ${hostname()}: ${build}; ${describeDevice(ctx)}`);
const { ceilings, rows } = runKernelBench(ctx);
console.log(`\nceilings measured in this run: GEMM ${ceilings.gflops.toFixed(1)} GFLOP/s (2048³ sgemm), memory ${ceilings.gbps.toFixed(1)} GB/s (best of a 64 MiB copy and axpy)`);
printTable("kernels", rows);
const out = flag("--json");
if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), host: hostname(), device: describeDevice(ctx), build, kernels: { ceilings, rows } }, null, 2));
ctx.destroy();
