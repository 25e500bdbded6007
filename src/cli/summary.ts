// bun run summary [preset ...]: parameters per component, trainable parameters per adaptation mode and
// activation bytes per image of model presets (all presets when none is named).
import { formatSummary, summarize } from "../models/summary.ts";
import { loadPreset, presetNames } from "../models/presets.ts";
import { openContext } from "../native/index.ts";

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(`bun run summary [preset|file.yaml ...]\n  parameters, trainable parameters per adaptation mode and activation bytes per image\n  presets: ${presetNames().join(", ")} (all when none is named)`);
  process.exit(0);
}
const names = args.length ? args : presetNames();
const ctx = openContext("cpu"); // sizes only: no kernels run
for (const name of names) console.log(formatSummary(summarize(loadPreset(name), ctx)) + "\n");
ctx.destroy();
