// Model summaries are computed from the tables and layouts (no allocation) and add up.
import { expect, test } from "bun:test";
import { loadPreset } from "../../src/models/presets.ts";
import { formatSummary, summarize } from "../../src/models/summary.ts";

test("convnext-large: components add up; norm-only trains the 60,288 LayerNorm affine parameters", () => {
  const s = summarize(loadPreset("convnext-large"));
  expect(s.components.reduce((n, c) => n + c.params, 0)).toBe(197_767_336);
  expect(s.trainable.norm).toBe(60_288);
  expect(s.activationBytesPerImage.training).toBeGreaterThan(100 * 2 ** 20);
  expect(formatSummary(s)).toContain("197,767,336 parameters");
});

test("sit-xl-2: all-mode training excludes the label table, pos_embed and the REPA projector", () => {
  const s = summarize(loadPreset("sit-xl-2"));
  const of = (name: string) => s.components.find((c) => c.name === name)!.params;
  expect(s.trainable.all).toBe(s.total - of("y_embedder") - of("pos_embed") - of("projectors"));
  expect(s.activationBytesPerImage.inference!).toBeLessThan(s.activationBytesPerImage.training / 10);
});
