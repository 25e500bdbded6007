// checkPaths: every missing weights file and data path at once, with how to get it.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeNpy, encodeNpyLabels } from "../../src/data/npy.ts";
import { checkPaths, ConfigError, loadConfig, pathProblems } from "../../src/config/index.ts";
import { tempDir } from "./temp-dir.ts";

const cwd = tempDir("paths");

describe("checkPaths", () => {
  test("the default's weights missing: names each file and the pretrain command that makes it", () => {
    const { config } = loadConfig([]);
    let error: ConfigError | undefined;
    try {
      checkPaths(config, { cwd });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues.map((i) => i.path)).toEqual(["model.weights.task", "model.weights.vae", "model.weights.generative"]);
    expect(error!.message).toContain("model.weights.task: weights/classifier.safetensors not found; make it with: bun run pretrain classifier");
    expect(error!.message).toContain("bun run pretrain vae");
    expect(error!.message).toContain("model.weights.generative: weights/sit.safetensors not found; make it with: bun run pretrain sit");
  });

  test("only the weights the method uses are needed", () => {
    mkdirSync(join(cwd, "weights"), { recursive: true });
    writeFileSync(join(cwd, "weights", "classifier.safetensors"), "");
    expect(pathProblems(loadConfig(["method=tent"]).config, { cwd })).toEqual([]);
    expect(pathProblems(loadConfig(["method=source"]).config, { cwd })).toEqual([]);
  });

  test("official presets point at the download", () => {
    const problems = pathProblems(loadConfig(["experiment=imagenet_c_convnext_l_dit"]).config, { cwd });
    const text = problems.map((p) => `${p.path}: ${p.problem}`).join("\n");
    expect(text).toContain("timm convnext_large.fb_in1k");
    expect(text).toContain("https://dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-256x256.pt");
    expect(text).toContain("stabilityai/sd-vae-ft-ema");
    expect(text).toContain("data.root: data/ImageNet-C is not a folder");
  });

  test("ImageNet-C folders: the missing (corruption, severity) folders are listed", () => {
    const root = join(cwd, "inet-c");
    mkdirSync(join(root, "fog", "5"), { recursive: true });
    mkdirSync(join(root, "snow", "3"), { recursive: true });
    const { config } = loadConfig(["experiment=imagenet_c_convnext_l_sit", `data.root=${root}`, "data.corruptions=[fog, snow]", "data.severities=[3, 5]"]);
    const data = pathProblems(config, { cwd }).filter((p) => p.path.startsWith("data"));
    expect(data).toHaveLength(1);
    expect(data[0].problem).toBe(`2 task folders (<root>/<corruption>/<severity>) are missing: ${join(root, "fog", "3")}, ${join(root, "snow", "5")}`);
  });

  test(".npy benchmark folders: files and stored severities", () => {
    const root = join(cwd, "fm-c");
    mkdirSync(root);
    writeFileSync(join(root, "fog.npy"), encodeNpy("|u1", [2, 2, 2], new Uint8Array(8)));
    writeFileSync(join(root, "labels.npy"), encodeNpyLabels(Int32Array.of(0)));
    writeFileSync(join(root, "meta.json"), JSON.stringify({ severities: [3, 4] }));
    const problems = (argv: string[]) => pathProblems(loadConfig([`data.root=${root}`, ...argv]).config, { cwd }).filter((p) => p.path.startsWith("data"));
    expect(problems(["data.corruptions=[fog, snow]"])[0].problem).toContain(`1 files are (make it with: bun run corrupt --dataset fmnist --out ${root}) missing: ${join(root, "snow.npy")}`);
    expect(problems(["data.corruptions=[fog]", "data.severities=[3, 5]"])).toEqual([{ path: "data.severities", problem: `severities 5 are not stored in ${root} (it has 3, 4)` }]);
    expect(problems(["data.corruptions=[fog]", "data.severities=[3]"])).toEqual([]);
    expect(problems(["data.root=nowhere"])[0].problem).toContain("nowhere is not a folder");
  });
});
