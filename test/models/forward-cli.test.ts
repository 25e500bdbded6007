// bun run forward end to end: a PyTorch SiT fixture's weights and inputs through the CLI give PyTorch's output;
// a checkpoint that does not fit the preset exits 2 with the load report.
import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors.ts";
import { expectClose } from "../util/check.ts";
import { goldenParams, loadGolden } from "../util/golden.ts";

const root = join(import.meta.dir, "..", "..");

test("bun run forward reproduces PyTorch's SiT output from files; mismatches exit 2 naming keys", async () => {
  const g = loadGolden("model_sit_narrow");
  const dir = mkdtempSync(join(tmpdir(), "dusa-forward-"));
  writeFileSync(join(dir, "sit-narrow.yaml"), "family: sit\ninput_size: 8\npatch_size: 2\nin_channels: 4\nhidden: 32\ndepth: 2\nheads: 4\nmlp_ratio: 4\nnum_classes: 10\n");
  await writeSafetensors(join(dir, "weights.safetensors"), Object.fromEntries(goldenParams(g).map(([n, t]) => [n, { shape: t.shape, data: t.data }])));
  await writeSafetensors(join(dir, "in.safetensors"), {
    x: { shape: g.__shapes.x, data: g.x as Float32Array }, t: { shape: g.__shapes.t, data: g.t as Float32Array }, y: { shape: g.__shapes.y, data: g.y as Int32Array },
  });
  const run = (model: string) =>
    Bun.spawnSync(["bun", "src/cli/forward.ts", "--model", model, "--weights", join(dir, "weights.safetensors"), "--input", join(dir, "in.safetensors"), "--out", join(dir, "out.safetensors")], { cwd: root });
  const ok = run(join(dir, "sit-narrow.yaml"));
  expect(ok.exitCode).toBe(0);
  expectClose("out", readSafetensors(join(dir, "out.safetensors")).tensors.get("out")!.data, g.out, 1e-5);
  const bad = run("sit-tiny-fm");
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr.toString()).toMatch(/mis-shaped\s+x_embedder\.proj\.weight: model \[256, 4, 2, 2\], checkpoint \[32, 4, 2, 2\]/);
});
