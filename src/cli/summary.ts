// bun run summary [preset ...]: parameters per component, trainable parameters per adaptation mode and
// activation bytes per image of model presets (all presets when none is named).
import { formatSummary, summarize } from "../models/summary.ts";
import { loadPreset, presetNames } from "../models/presets.ts";

const names = process.argv.slice(2).length ? process.argv.slice(2) : presetNames();
for (const name of names) {
  const preset = loadPreset(name);
  if (preset.family === "vae") {
    console.log(`${name}: (VAE summary lands with the VAE model)\n`);
    continue;
  }
  console.log(formatSummary(summarize(preset)) + "\n");
}
