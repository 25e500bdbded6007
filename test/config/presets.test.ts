// The shipped experiment presets load, carry the official DUSA settings, and every config key is documented.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BENCHMARK_CORRUPTIONS } from "../../src/data/corruptions/names.ts";
import { configHelp, defaultConfigDir, groupOptions, loadConfig } from "../../src/config/index.ts";
import { keyDocs } from "../../src/config/key-docs.ts";
import { leafPaths } from "../../src/config/tree.ts";

describe("official DUSA presets", () => {
  for (const [experiment, family, generative, t, weights] of [
    ["imagenet_c_convnext_l_sit", "sit", "sit-xl-2", 0.25, "weights/sit-xl-2-repa-last.pt"],
    ["imagenet_c_convnext_l_dit", "dit", "dit-xl-2", 100, "weights/DiT-XL-2-256x256.pt"],
  ] as const) {
    test(experiment, () => {
      const { config } = loadConfig([`experiment=${experiment}`]);
      expect(config.seed).toBe(2024);
      expect(config.mode).toBe("episodic");
      expect(config.model).toEqual({
        task: "convnext-large", vae: "sd-vae", generative,
        weights: { task: "weights/convnext_large.fb_in1k.safetensors", vae: "weights/sd-vae-ft-ema.safetensors", generative: weights },
      });
      expect(config.data).toMatchObject({ dataset: "imagenet-c", severities: [5], batch_size: 8, shuffle: true });
      expect(config.data.corruptions).toEqual([...BENCHMARK_CORRUPTIONS]);
      expect(config.data.task_transform).toMatchObject({ resize: null, center_crop: 224, channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
      expect(config.data.aux_transform.size).toBe(256);
      expect(config.method).toMatchObject({
        name: "dusa", family, t, topk: 4, rand_budget: 2, temperature: 1, accumulate: 8, lr: 1e-5, aux_lr: 1e-5,
        loss: { mse: 1, norm_l2: 0, cosine: 0 }, adapt: { task: "all", aux: true }, grad_clip: null,
      });
      expect(config.method.optimizer).toMatchObject({ name: "adam", betas: [0.9, 0.999], weight_decay: 0 });
    });
  }

  test("tent presets", () => {
    const fm = loadConfig(["experiment=fmnist_tent"]).config;
    expect(fm.method).toMatchObject({ name: "tent", lr: 1e-3, adapt: { task: "norm", aux: false } });
    expect(fm.model.task).toBe("convnext-tiny-fm");
    const inet = loadConfig(["experiment=imagenet_c_convnext_l_tent"]).config;
    expect(inet.method).toMatchObject({ name: "tent", lr: 1e-5, optimizer: { name: "adam" }, adapt: { task: "norm", aux: false } });
    expect(inet.data.batch_size).toBe(64);
    expect(inet.model.weights).toMatchObject({ vae: null, generative: null });
  });

  test("every experiment loads with every method", () => {
    for (const experiment of groupOptions(defaultConfigDir, "experiment")) {
      for (const method of groupOptions(defaultConfigDir, "method")) {
        if (experiment === "imagenet_c_convnext_l_tent" && method === "dusa") continue; // it drops the generative weights
        expect(() => loadConfig([`experiment=${experiment}`, `method=${method}`])).not.toThrow();
      }
    }
  });
});

describe("documentation", () => {
  test("every key of the resolved config is documented by a comment in configs/", () => {
    const docs = new Map([
      ...keyDocs(join(defaultConfigDir, "default.yaml")),
      ...keyDocs(join(defaultConfigDir, "data", "fmnist-c.yaml"), "data"),
      ...keyDocs(join(defaultConfigDir, "method", "dusa.yaml"), "method"),
    ]);
    const config = loadConfig([]).config as unknown as Record<string, unknown>;
    const undocumented = leafPaths(config).filter((p) => !docs.has(p));
    expect(undocumented).toEqual([]);
  });

  test("--help lists the groups, options, presets and main keys", () => {
    const help = configHelp();
    expect(help).toContain("experiment  fmnist, fmnist_tent, imagenet_c_convnext_l_dit, imagenet_c_convnext_l_sit");
    expect(help).toContain("method      dusa, source, tent");
    expect(help).toContain("convnext-large");
    for (const key of ["seed", "mode", "shard", "resume", "data.severities", "data.limit", "method.lr", "method.topk", "method.t", "model.weights"]) {
      expect(help).toMatch(new RegExp(`\\n  ${key.replace(".", "\\.")} +\\S`));
    }
  });
});
