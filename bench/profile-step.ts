// The library's own per-op accounting for one step variant: bun bench/profile-step.ts "<variant>" <batch> [steps] [threads]
// Prints each op's share of the timed steps, slowest first: where a step's time goes, before changing anything.
import { openContext } from "../src/native/index.ts";
import { measureStep, variants } from "./step.ts";

const [label = "dusa (all, aux true)", batch = "64", steps = "5", threads = "2"] = process.argv.slice(2);
const variant = variants.find((v) => v.label === label);
if (!variant) throw new Error(`unknown variant '${label}' (${variants.map((v) => v.label).join(", ")})`);
const ctx = openContext("cpu", Number(threads), { log: null });
ctx.profile(true);
const original = ctx.resetPeak.bind(ctx);
ctx.resetPeak = () => { original(); ctx.resetProfile(); }; // measureStep resets peaks after warm-up: start counting there
const figures = measureStep(ctx, variant, Number(batch), Number(steps));
const entries = ctx.profileEntries().sort((a, b) => b.seconds - a.seconds);
const total = entries.reduce((s, e) => s + e.seconds, 0);
const stepMs = figures.msPerStep;
console.log(`${label}, B ${batch}: ${figures.imagesPerSec.toFixed(1)} img/s, ${stepMs.toFixed(1)} ms/step; ops ${(1000 * total / Number(steps)).toFixed(1)} ms/step`);
for (const e of entries) {
  const ms = (1000 * e.seconds) / Number(steps);
  if (ms < 0.05) continue;
  console.log(`${e.name.padEnd(34)} ${String(e.calls / Number(steps)).padStart(7)} calls ${ms.toFixed(2).padStart(9)} ms ${(100 * e.seconds / total).toFixed(1).padStart(5)}%`);
}
