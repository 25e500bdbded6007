// Model presets: every configs/model/*.yaml loads; the full-size ones have their published parameter counts;
// bad presets are errors naming the file and the key.
import { expect, test } from "bun:test";
import { convnextParamTable } from "../../src/models/convnext.ts";
import { loadPreset, parsePreset, presetNames } from "../../src/models/presets.ts";
import { sitParamTable } from "../../src/models/sit.ts";

test("the seven presets of issue 3 exist and load", () => {
  expect(presetNames()).toEqual(["convnext-large", "convnext-tiny-fm", "dit-xl-2", "sd-vae", "sit-tiny-fm", "sit-xl-2", "vae-tiny-fm"]);
  for (const name of presetNames()) expect(loadPreset(name).name).toBe(name);
});

test("full-size presets have the published parameter counts", () => {
  const convnext = loadPreset("convnext-large"), sit = loadPreset("sit-xl-2"), dit = loadPreset("dit-xl-2");
  if (convnext.family !== "convnext" || sit.family !== "sit" || dit.family !== "dit") throw new Error("families");
  expect(convnextParamTable(convnext.config).total).toBe(197_767_336);
  expect(sitParamTable(sit.config).total).toBe(683_242_512);
  expect(sitParamTable(dit.config).total).toBe(675_129_632);
});

test("bad presets name the file and the key", () => {
  const good = { family: "sit", input_size: 8, patch_size: 2, in_channels: 4, hidden: 32, depth: 2, heads: 4, mlp_ratio: 4, num_classes: 10 };
  expect(() => parsePreset("p", { ...good, depth: 0 }, "p.yaml")).toThrow(/p\.yaml: invalid model preset: depth: .*>=1/);
  expect(() => parsePreset("p", { ...good, hidden: 30 }, "p.yaml")).toThrow(/hidden \(30\) must be divisible by heads \(4\)/);
  expect(() => parsePreset("p", { ...good, familly: "x" }, "p.yaml")).toThrow(/p\.yaml/);
  expect(() => loadPreset("nope")).toThrow(/unknown model preset 'nope'.*convnext-large/);
});
