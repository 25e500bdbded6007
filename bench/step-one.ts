// One `bun bench step` variant in its own process (so its peak RSS is its own): prints the figures as JSON.
// Usage: bun bench/step-one.ts "<variant label>" <batch> [steps] [cpu|cuda]
import { openContext, parseDevice } from "../src/native/index.ts";
import { measureStep, peakRss, variants } from "./step.ts";

const [label, batch, steps, device] = process.argv.slice(2);
const variant = variants.find((v) => v.label === label);
if (!variant) throw new Error(`unknown variant '${label}' (${variants.map((v) => v.label).join(", ")})`);
const ctx = openContext(parseDevice(device, "cpu"), 2, { log: null });
const figures = measureStep(ctx, variant, Number(batch), Number(steps ?? 10));
console.log(JSON.stringify({ ...figures, peakRss: peakRss() }));
