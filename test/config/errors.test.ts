// Every kind of configuration error names the full dotted key, what is allowed there, and where the value came from.
import { describe, expect, test } from "bun:test";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, defaultConfigDir, loadConfig } from "../../src/config/index.ts";
import { tempDir } from "./temp-dir.ts";

function configError(argv: string[], options = {}): ConfigError {
  try {
    loadConfig(argv, options);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
}

describe("schema errors name the dotted key and the allowed values", () => {
  test("unknown key: lists the section's keys and suggests the near one", () => {
    const e = configError(["method.lrr=1e-4"]);
    expect(e.path).toBe("method.lrr");
    expect(e.message).toContain("method.lrr: unknown key (did you mean method.lr?)");
    expect(e.message).toContain("one of the keys of method: name, family, topk, rand_budget");
    expect(e.message).toContain("(set on the command line)");
  });

  test("unknown top-level key", () => {
    const e = configError(["sed=3"]);
    expect(e.message).toContain("sed: unknown key (did you mean seed?)");
    expect(e.message).toContain("the top level");
  });

  test("wrong type", () => {
    const e = configError(["data.limit=abc"]);
    expect(e.path).toBe("data.limit");
    expect(e.message).toBe('data.limit: "abc" has the wrong type; expected an integer >= 1, or null (set on the command line)');
  });

  test("out of range", () => {
    const e = configError(["method.topk=0"]);
    expect(e.message).toBe("method.topk: 0 is out of range; expected an integer >= 1 (set on the command line)");
    expect(configError(["method.lr=0"]).message).toContain("method.lr: 0 is out of range; expected a number > 0");
    expect(configError(["method.optimizer.betas=[0.9, 1]"]).message).toContain("method.optimizer.betas.1: 1 is out of range; expected a number >= 0 and < 1");
  });

  test("bad enum value lists the allowed values", () => {
    const e = configError(["mode=sometimes"]);
    expect(e.message).toBe('mode: "sometimes" is not allowed; expected one of episodic, continual (set on the command line)');
    expect(configError(["device=tpu"]).message).toContain("expected one of auto, cpu, cuda");
    expect(configError(["method.adapt.task=bias"]).message).toContain("method.adapt.task: \"bias\" is not allowed; expected one of all, norm, lora, none");
  });

  test("list items are named by index; corruption names are listed", () => {
    expect(configError(["data.severities=[3,7]"]).message).toContain("data.severities.1: 7 is out of range; expected an integer from 1 to 5");
    const e = configError(["data.corruptions=[fog, fgo]"]);
    expect(e.path).toBe("data.corruptions.1");
    expect(e.message).toContain("gaussian_noise, shot_noise");
    expect(e.message).toContain("saturate");
    expect(configError(["data.severities=[5,5]"]).message).toContain("data.severities: the list repeats a severity");
    expect(configError(["data.severities=[]"]).path).toBe("data.severities");
  });

  test("a mapping replaced by a scalar", () => {
    expect(configError(["method.optimizer=adam"]).message).toContain('method.optimizer: "adam" has the wrong type; expected a mapping with keys name, betas');
  });

  test("several problems are reported together, one per key", () => {
    const e = configError(["method.topk=0", "mode=x", "data.limit=-1"]);
    expect(e.issues.map((i) => i.path).sort()).toEqual(["data.limit", "method.topk", "mode"]);
    expect(e.message).toStartWith("3 configuration problems:");
  });

  test("a malformed shard and a name with odd characters", () => {
    expect(configError(["shard=3/2"]).message).toContain('shard: "3/2" is not a shard; expected "i/n" with 0 <= i < n');
    expect(configError(["shard=a/b"]).path).toBe("shard");
    expect(configError(["name=my run"]).message).toContain("name: \"my run\" is not well formed");
  });
});

describe("group and command-line errors", () => {
  test("unknown group option lists the options", () => {
    const e = configError(["method=foo"]);
    expect(e.path).toBe("method");
    expect(e.message).toContain("expected one of dusa, source, tent");
    expect(configError(["experiment=nope"]).message).toContain("imagenet_c_convnext_l_dit");
  });

  test("not an override, unknown flag, unreadable value", () => {
    expect(configError(["lrr"]).message).toContain("lrr: not an override; expected key=value");
    expect(configError(["--bogus"]).message).toContain("--bogus: unknown option");
    expect(configError(["data.severities=[3,5"]).message).toContain("data.severities: cannot read the value");
    expect(configError(["defaults.method=tent"]).path).toBe("defaults.method");
  });
});

describe("cross-checks against the model presets", () => {
  test("model presets of the wrong kind or unknown", () => {
    const e = configError(["model.task=sit-xl-2"]);
    expect(e.message).toContain("model.task: sit-xl-2 is a sit model; expected one of convnext-large, convnext-tiny-fm");
    expect(configError(["model.vae=nope"]).message).toContain('model.vae: no model preset "nope"; expected one of sd-vae, vae-tiny-fm');
  });

  test("topk + rand_budget over the class count", () => {
    expect(configError(["method.topk=9"]).message).toContain("method.topk: topk 9 + rand_budget 2 exceeds the 10 classes");
  });

  test("family and t against the generative model", () => {
    expect(configError(["method.family=dit"]).message).toContain("method.family: dit does not match model.generative sit-tiny-fm");
    expect(configError(["method.t=2"]).message).toContain("method.t: 2 is out of range for a flow model");
    expect(configError(["experiment=imagenet_c_convnext_l_dit", "method.t=0.5"]).message).toContain("method.t: 0.5 is out of range for a diffusion model; expected an integer DDPM step");
  });

  test("transforms against the models", () => {
    expect(configError(["data.task_transform.channels=3"]).message).toContain("data.task_transform.channels: 3 does not match model.task convnext-tiny-fm (1 input channels)");
    expect(configError(["data.aux_transform.size=64"]).message).toContain("data.aux_transform.size: 64 does not match model.vae vae-tiny-fm");
    expect(configError(["model.vae=sd-vae"]).path).toBe("data.aux_transform.size");
    expect(configError(["model.generative=sit-xl-2"]).path).toBe("model.generative");
  });

  test("sharding needs episodic mode; folders need a root; dusa needs every weights file", () => {
    expect(configError(["mode=continual", "shard=0/2"]).message).toContain("shard: continual runs");
    expect(configError(["experiment=imagenet_c_convnext_l_sit", "data.root=null"]).path).toBe("data.root");
    expect(configError(["model.weights.vae=null"]).message).toContain("model.weights.vae: is null, but method dusa needs");
    expect(loadConfig(["method=tent", "model.weights.vae=null"]).config.model.weights.vae).toBeNull();
  });

  test("every loss weight zero", () => {
    expect(configError(["method.loss.mse=0"]).path).toBe("method.loss");
  });
});

describe("errors in files name the file", () => {
  const dir = tempDir("config-errors");
  cpSync(defaultConfigDir, dir, { recursive: true });

  test("a bad key in an experiment file", () => {
    writeFileSync(join(dir, "experiment", "broken.yaml"), "defaults: { data: fmnist-c, method: dusa }\nmethod:\n  topk: many\n");
    const e = configError(["experiment=broken"], { configDir: dir });
    expect(e.message).toContain(`method.topk: "many" has the wrong type; expected an integer >= 1 (set in ${join(dir, "experiment", "broken.yaml")})`);
  });

  test("invalid YAML, a non-mapping file, a bad defaults entry", () => {
    writeFileSync(join(dir, "experiment", "bad-yaml.yaml"), "method: [1, 2\n");
    expect(configError(["experiment=bad-yaml"], { configDir: dir }).message).toContain(`${join(dir, "experiment", "bad-yaml.yaml")}: not valid YAML`);
    writeFileSync(join(dir, "experiment", "list.yaml"), "- 1\n- 2\n");
    expect(configError(["experiment=list"], { configDir: dir }).message).toContain("must hold a mapping");
    writeFileSync(join(dir, "experiment", "bad-defaults.yaml"), "defaults: { model: big }\n");
    expect(configError(["experiment=bad-defaults"], { configDir: dir }).path).toBe("defaults.model");
  });

  test("values from a group file are attributed to it", () => {
    writeFileSync(join(dir, "method", "odd.yaml"), "name: dusa\nwarmup: 3\n");
    expect(configError(["method=odd"], { configDir: dir }).message).toContain(`method.warmup: unknown key`);
    expect(configError(["method=odd"], { configDir: dir }).message).toContain(join(dir, "method", "odd.yaml"));
  });
});

test("an unknown section set from the command line is attributed to it", () => {
  const e = configError(["foo.bar=1"]);
  expect(e.message).toContain("foo: unknown key");
  expect(e.message).toContain("(set on the command line)");
});
