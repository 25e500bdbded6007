// Composition of configs/ and command-line overrides: group swaps, dotted keys, lists and YAML scalars.
import { describe, expect, test } from "bun:test";
import { BENCHMARK_CORRUPTIONS } from "../../src/data/corruptions/names.ts";
import { loadConfig } from "../../src/config/index.ts";
import { parseOverride } from "../../src/config/override.ts";

describe("composition", () => {
  test("no arguments: the embedded default (experiment fmnist = dusa on fmnist-c with the tiny models)", () => {
    const { config, sources } = loadConfig([]);
    expect(sources).toEqual(["configs/default.yaml", "configs/data/fmnist-c.yaml", "configs/method/dusa.yaml", "configs/experiment/fmnist.yaml"]);
    expect(config.name).toBe("fmnist-dusa");
    expect(config.model).toEqual({
      task: "convnext-tiny-fm", vae: "vae-tiny-fm", generative: "sit-tiny-fm",
      weights: { task: "weights/classifier.safetensors", vae: "weights/vae.safetensors", generative: "weights/sit.safetensors" },
    });
    expect(config.data.dataset).toBe("fmnist-c");
    expect(config.data.root).toBeNull();
    expect(config.data.corruptions).toEqual([...BENCHMARK_CORRUPTIONS]);
    expect(config.data.severities).toEqual([5]);
    expect(config.data.task_transform).toMatchObject({ pad: 32, channels: 1, mean: [0.286], std: [0.353] });
    expect(config.method).toMatchObject({ name: "dusa", family: "sit", t: 0.25, topk: 4, rand_budget: 2, adapt: { task: "all", aux: true } });
    expect(config.method.aux_lr).toBe(config.method.lr);
    expect(config.mode).toBe("episodic");
  });

  test("the issue's example: method swap, list override and dotted override", () => {
    const { config, sources } = loadConfig(["experiment=fmnist", "method=tent", "data.severities=[3,5]", "method.lr=1e-4"]);
    expect(config.method.name).toBe("tent");
    expect(config.method.adapt).toEqual({ task: "norm", aux: false });
    expect(config.method.lr).toBe(1e-4);
    expect(config.data.severities).toEqual([3, 5]);
    expect(config.name).toBe("fmnist-tent");
    expect(sources).toContain("configs/method/tent.yaml");
    expect(sources.at(-1)).toBe("command line: experiment=fmnist method=tent data.severities=[3,5] method.lr=1e-4");
  });

  test("a group swap keeps the experiment's own keys (Hydra order: group file < experiment < command line)", () => {
    const { config } = loadConfig(["experiment=imagenet_c_convnext_l_sit", "method=tent"]);
    expect(config.method.name).toBe("tent");
    expect(config.method.lr).toBe(1e-5); // from the experiment, not tent.yaml's 1e-3
    expect(config.method.adapt.task).toBe("norm"); // from tent.yaml: experiments leave it alone
    expect(config.data.batch_size).toBe(8);
  });

  test("data group swap and nested dotted keys", () => {
    const { config } = loadConfig(["data=imagenet-c", "model.task=convnext-large", "model.vae=sd-vae", "model.generative=sit-xl-2", "data.task_transform.center_crop=200", "method.optimizer.betas=[0.8, 0.99]"]);
    expect(config.data.dataset).toBe("imagenet-c");
    expect(config.data.task_transform.center_crop).toBe(200);
    expect(config.data.aux_transform.size).toBe(256);
    expect(config.method.optimizer.betas).toEqual([0.8, 0.99]);
  });

  test("derived values: name, family and t from the generative preset, aux_lr from lr", () => {
    const dit = loadConfig(["experiment=imagenet_c_convnext_l_dit", "method.family=null", "method.t=null", "method.aux_lr=null", "method.lr=3e-5"]).config;
    expect(dit.method.family).toBe("dit");
    expect(dit.method.t).toBe(100);
    expect(dit.method.aux_lr).toBe(3e-5);
    expect(loadConfig(["name=mine"]).config.name).toBe("mine");
    expect(loadConfig(["experiment=fmnist_tent"]).config.name).toBe("fmnist_tent");
  });

  test("--fast-dev-run is fast_dev_run=true; --print-config and --help are reported to the caller", () => {
    const { config, commandLine } = loadConfig(["--fast-dev-run", "--print-config", "data.limit=8"]);
    expect(config.fast_dev_run).toBe(true);
    expect(config.data.limit).toBe(8);
    expect(commandLine.printConfig).toBe(true);
    expect(commandLine.help).toBe(false);
    expect(loadConfig(["--help"]).commandLine.help).toBe(true);
  });

  test("later overrides win", () => {
    expect(loadConfig(["seed=1", "seed=7"]).config.seed).toBe(7);
  });
});

describe("override values are YAML", () => {
  const value = (text: string) => parseOverride(`k=${text}`).value;
  test.each([
    ["[3,5]", [3, 5]],
    ["[3, 5]", [3, 5]],
    ["[fog, snow]", ["fog", "snow"]],
    ["null", null],
    ["~", null],
    ["1e-4", 1e-4],
    ["1.0e-5", 1e-5],
    ["-2", -2],
    ["0.25", 0.25],
    ["true", true],
    ["false", false],
    ["'quoted text'", "quoted text"],
    ['"0/4"', "0/4"],
    ["0/4", "0/4"],
    ["runs/2025-01-31-fmnist-dusa", "runs/2025-01-31-fmnist-dusa"],
    ["a: b", "a: b"],
    ["{mse: 1, cosine: 0.5}", { mse: 1, cosine: 0.5 }],
    ["", ""],
  ])("%p", (text, expected) => {
    expect(value(text)).toEqual(expected);
  });

  test("the key keeps its dots; the value may contain '='", () => {
    expect(parseOverride("name=a=b")).toEqual({ key: "name", value: "a=b", text: "a=b" });
    expect(parseOverride("method.optimizer.lr=1").key).toBe("method.optimizer.lr");
  });
});
