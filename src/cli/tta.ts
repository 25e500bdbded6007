// bun run tta [key=value ...]: one-shot test-time adaptation runs (DESIGN §2, §7).
// The kernel library, models, data and runner land issue by issue; until the runner exists this entry point
// says so and exits non-zero rather than pretending to adapt anything.
import { Context } from "../native/index.ts";

const ctx = Context.create("cpu");
const info = String(ctx.lib.symbols.dusa_build_info());
ctx.destroy();
console.error(
  [
    "dusa: `bun run tta` needs the TTA runner (methods source/tent/dusa, configs, reports), which has not landed yet.",
    `The native library is built and working: ${info}.`,
    "Available now: `bun test` (kernel correctness), `bun bench kernels` (kernel throughput), `bun run corrupt` (Fashion-MNIST-C).",
  ].join("\n"),
);
process.exit(2);
