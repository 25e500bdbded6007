// Model summaries are computed from the tables and layouts (no allocation) and add up.
import { expect, test } from "bun:test";
import { convnextLayout } from "../../src/models/convnext.ts";
import { loadPreset } from "../../src/models/presets.ts";
import { sitLayout } from "../../src/models/sit.ts";
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

test("training layouts keep per block only what backward cannot cheaply recompute", () => {
  // SiT: one more block costs its input x_i, mod, the two LayerNorm stats, qkv, att, lse, proj, fc1 and fc2 —
  // not h1, h2, x1 or the GELU output (recomputed in backward into buffers shared by all blocks)
  const p = loadPreset("sit-tiny-fm");
  if (p.family === "vae" || p.family === "convnext") throw new Error("sit-tiny-fm is not a SiT");
  const c = p.config, C = c.hidden, T = (c.inputSize / c.patchSize) ** 2;
  const perBlock = sitLayout({ ...c, depth: c.depth + 1 }, 1, true).bytes - sitLayout(c, 1, true).bytes;
  expect(perBlock).toBe(4 * (6 * C + T * (C + 2 + 3 * C + C + c.heads + C + 2 + 4 * C + C)));
  // ConvNeXt: no block keeps its LayerNorm or GELU output, no downsample its LayerNorm output
  const q = loadPreset("convnext-tiny-fm");
  if (q.family !== "convnext") throw new Error("convnext-tiny-fm is not a ConvNeXt");
  const { arena } = convnextLayout(q.config, 1, q.imageSize, q.imageSize);
  expect(arena.describe()).not.toMatch(/\.(b\d+\.ln|b\d+\.gelu|ds\.ln)\(/);
  expect(arena.has("s0.b0.fc1")).toBe(true);
});
