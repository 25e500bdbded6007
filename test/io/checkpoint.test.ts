import { describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpoint, writeSafetensorsSync } from "../../src/io/checkpoint.ts";
import { checkpointError, expectSameTensor, fixture, reference, tempDir } from "./helpers.ts";

const dir = tempDir("checkpoint");

describe("loadCheckpoint", () => {
  test("recognises the format from the content, not the extension", () => {
    const disguised = join(dir, "weights.bin");
    copyFileSync(fixture("raw_state_dict.pt"), disguised);
    expect(loadCheckpoint(disguised).format).toBe("torch");
    copyFileSync(fixture("vae_encoder.safetensors"), join(dir, "vae.pt"));
    expect(loadCheckpoint(join(dir, "vae.pt")).format).toBe("safetensors");
    writeFileSync(join(dir, "notes.txt"), "hello, these are not weights");
    expect(checkpointError(() => loadCheckpoint(join(dir, "notes.txt"))).message).toContain("unrecognised format: neither safetensors");
  });

  test("a raw state dict is loaded as is", () => {
    const c = loadCheckpoint(fixture("raw_state_dict.pt"));
    expect(c.unwrapped).toEqual([]);
    expect(c.strippedPrefixes).toEqual([]);
    expect(c.tensors.size).toBe(9);
  });

  test("a REPA train checkpoint unwraps to 'ema' (preferred over 'model'), keeping args and steps", () => {
    const c = loadCheckpoint(fixture("train_checkpoint.pt"));
    expect(c.topLevelKeys).toEqual(["model", "ema", "opt", "args", "steps", "metrics"]);
    expect(c.unwrapped).toEqual(["ema"]);
    const ref = reference("train_checkpoint");
    expect([...c.tensors.keys()]).toEqual([...ref.keys()].filter((k) => k.startsWith("ema.")).map((k) => k.slice(4)));
    for (const [name, t] of c.tensors) expectSameTensor(name, t, ref.get(`ema.${name}`));
    expect(c.extra.steps).toBe(3);
    expect((c.extra.args as { model: string }).model).toBe("SiT-XL/2");
  });

  test("the wrapper preference is configurable; unwrap: false keeps every tensor", () => {
    const model = loadCheckpoint(fixture("train_checkpoint.pt"), { unwrap: ["model"] });
    expect(model.unwrapped).toEqual(["model"]);
    expectSameTensor("pos_embed", model.tensors.get("pos_embed"), reference("train_checkpoint").get("model.pos_embed"));
    const all = loadCheckpoint(fixture("train_checkpoint.pt"), { unwrap: false });
    expect(all.unwrapped).toEqual([]);
    expect(all.tensors.has("ema.pos_embed") && all.tensors.has("model.pos_embed") && all.tensors.has("opt.state.1.exp_avg")).toBe(true);
  });

  test("{'state_dict': {'module.*': ...}} unwraps and strips the DataParallel prefix", () => {
    const c = loadCheckpoint(fixture("ddp_state_dict.pth"));
    expect(c.unwrapped).toEqual(["state_dict"]);
    expect(c.strippedPrefixes).toEqual(["module."]);
    expect([...c.tensors.keys()]).toEqual(["weight", "bias"]);
    expectSameTensor("weight", c.tensors.get("weight"), reference("ddp_state_dict").get("state_dict.module.weight"));
    expect([...loadCheckpoint(fixture("ddp_state_dict.pth"), { stripPrefixes: [] }).tensors.keys()]).toEqual(["module.weight", "module.bias"]);
  });

  test("FB ConvNeXt {'model': ...} and mmpretrain {'meta', 'state_dict'} unwrap", () => {
    expect(loadCheckpoint(fixture("convnext_fb.pth")).unwrapped).toEqual(["model"]);
    const mm = loadCheckpoint(fixture("convnext_mmpretrain.pth"));
    expect(mm.unwrapped).toEqual(["state_dict"]);
    expect(mm.extra.meta).toEqual({ epoch: 300, CLASSES: ["a", "b", "c"] });
  });

  test("safetensors metadata (the VAE scaling factor) comes through", () => {
    const c = loadCheckpoint(fixture("vae_encoder.safetensors"));
    expect(c.metadata.scaling_factor).toBe("0.18215");
    expect(Number(c.metadata.scaling_factor)).toBe(0.18215);
  });

  test("prefix stripping that makes two keys one is an error", () => {
    const path = join(dir, "clash.safetensors");
    writeSafetensorsSync(path, { "module.w": { shape: [1], data: new Float32Array([1]) }, w: { shape: [1], data: new Float32Array([2]) } });
    expect(checkpointError(() => loadCheckpoint(path)).message).toContain("keys 'module.w' and 'w' are both 'w' without their prefixes");
  });

  test("a checkpoint without tensors is an error listing its top-level keys", () => {
    const path = join(dir, "empty.safetensors");
    writeSafetensorsSync(path, {}, { note: "nothing" });
    expect(checkpointError(() => loadCheckpoint(path)).message).toContain("holds no tensors");
  });
});
