import { describe, expect, test } from "bun:test";
import { loadCheckpoint, renameConvNeXtKeys, renameVaeKeys } from "../../src/io/checkpoint.ts";
import { convNeXtNameFromFb, convNeXtNameFromMmpretrain, detectConvNeXtNaming, renameKeys } from "../../src/io/rename.ts";
import { readSafetensors } from "../../src/io/safetensors.ts";
import { checkpointError, expectSameTensor, fixture } from "./helpers.ts";

describe("ConvNeXt names", () => {
  // convnext_timm.safetensors: the FB weights loaded (strict) into a timm-named model through timm's checkpoint_filter_fn.
  const timm = readSafetensors(fixture("convnext_timm.safetensors")).tensors;

  for (const [file, naming] of [["convnext_fb.pth", "fb"], ["convnext_mmpretrain.pth", "mmpretrain"]] as const)
    test(`${naming} -> timm: the same keys, shapes and values as the timm model`, () => {
      const loaded = loadCheckpoint(fixture(file)).tensors;
      expect(detectConvNeXtNaming(loaded.keys())).toBe(naming);
      const renamed = renameConvNeXtKeys(loaded);
      expect([...renamed.keys()].sort()).toEqual([...timm.keys()].sort());
      for (const [name, t] of timm) expectSameTensor(name, renamed.get(name), t);
    });

  test("timm names pass through untouched", () => {
    expect(detectConvNeXtNaming(timm.keys())).toBe("timm");
    expect(renameConvNeXtKeys(timm)).toBe(timm);
  });

  test("single names, ConvNeXt-L sized", () => {
    expect(convNeXtNameFromFb("downsample_layers.0.0.weight")).toBe("stem.0.weight");
    expect(convNeXtNameFromFb("downsample_layers.0.1.bias")).toBe("stem.1.bias");
    expect(convNeXtNameFromFb("downsample_layers.3.1.weight")).toBe("stages.3.downsample.1.weight");
    expect(convNeXtNameFromFb("stages.2.26.dwconv.weight")).toBe("stages.2.blocks.26.conv_dw.weight");
    expect(convNeXtNameFromFb("stages.2.26.pwconv2.bias")).toBe("stages.2.blocks.26.mlp.fc2.bias");
    expect(convNeXtNameFromFb("stages.0.1.gamma")).toBe("stages.0.blocks.1.gamma");
    expect(convNeXtNameFromFb("stages.0.1.norm.weight")).toBe("stages.0.blocks.1.norm.weight");
    expect(convNeXtNameFromFb("norm.weight")).toBe("head.norm.weight");
    expect(convNeXtNameFromFb("head.bias")).toBe("head.fc.bias");
    expect(convNeXtNameFromMmpretrain("backbone.stages.2.26.depthwise_conv.weight")).toBe("stages.2.blocks.26.conv_dw.weight");
    expect(convNeXtNameFromMmpretrain("backbone.stages.1.0.pointwise_conv1.weight")).toBe("stages.1.blocks.0.mlp.fc1.weight");
    expect(convNeXtNameFromMmpretrain("backbone.downsample_layers.0.0.weight")).toBe("stem.0.weight");
    expect(convNeXtNameFromMmpretrain("backbone.norm3.bias")).toBe("head.norm.bias");
    expect(convNeXtNameFromMmpretrain("head.fc.weight")).toBe("head.fc.weight");
  });
});

describe("VAE attention names", () => {
  test("old query/key/value/proj_attn -> to_q/to_k/to_v/to_out.0: the same tensors as the current naming", () => {
    const renamed = renameVaeKeys(loadCheckpoint(fixture("vae_encoder_old_names.pt")).tensors);
    const current = readSafetensors(fixture("vae_encoder.safetensors")).tensors;
    expect([...renamed.keys()]).toEqual([...current.keys()]);
    for (const [name, t] of current) expectSameTensor(name, renamed.get(name), t);
  });

  test("current names are unchanged", () => {
    const current = readSafetensors(fixture("vae_encoder.safetensors")).tensors;
    expect([...renameVaeKeys(current).keys()]).toEqual([...current.keys()]);
  });
});

test("a rename that makes two keys one is an error naming both", () => {
  const tensors = new Map([["a.query.weight", 1], ["a.to_q.weight", 2]]);
  expect(checkpointError(() => renameKeys(tensors, (k) => k.replace("query", "to_q"))).message).toBe("rename: keys 'a.query.weight' and 'a.to_q.weight' both become 'a.to_q.weight'");
});
