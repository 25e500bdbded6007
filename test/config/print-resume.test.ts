// --print-config output reads back to the same config; resume=<run folder> reloads it and allows only
// machine-level changes.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ConfigError, loadConfig, printConfig, resolveConfig, validateTree } from "../../src/config/index.ts";
import { tempDir } from "./temp-dir.ts";

const dir = tempDir("print-resume");

describe("printConfig", () => {
  test("a header of sources, keys in schema order, short lists inline", () => {
    const { config, sources } = loadConfig(["method.lr=1e-4", "data.severities=[3,5]"]);
    const text = printConfig(config, sources);
    expect(text).toStartWith("# resolved from:\n#   configs/default.yaml\n");
    expect(text).toContain("#   command line: method.lr=1e-4 data.severities=[3,5]\nname: fmnist-dusa\nseed: 0\n");
    expect(text).toContain("  severities: [3, 5]\n");
    expect(text).toContain("  corruptions:\n    - gaussian_noise\n");
    expect(text.indexOf("model:")).toBeLessThan(text.indexOf("data:"));
    expect(text.indexOf("data:")).toBeLessThan(text.indexOf("method:"));
  });

  test("round trip: printed YAML validates and resolves to the same config", () => {
    for (const argv of [[], ["experiment=imagenet_c_convnext_l_dit"], ["experiment=fmnist_tent", "data.limit=10", "method.t=0.1"]]) {
      const { config } = loadConfig(argv);
      expect(resolveConfig(validateTree(parse(printConfig(config, ["x"]))))).toEqual(config);
    }
  });
});

describe("resume", () => {
  const run = join(dir, "2025-01-31-fmnist-dusa");
  mkdirSync(run);
  const original = loadConfig(["seed=3", "data.limit=100", "name=fmnist-dusa"]).config;
  writeFileSync(join(run, "config.yaml"), printConfig(original, ["configs/default.yaml"]));

  test("the run folder's config.yaml is the config, whatever the defaults say now", () => {
    const { config, sources } = loadConfig([`resume=${run}`]);
    expect(config).toEqual({ ...original, resume: run });
    expect(sources[0]).toBe(join(run, "config.yaml"));
  });

  test("machine-level keys may change; anything else is refused with the reason", () => {
    expect(loadConfig([`resume=${run}`, "device=cpu", "threads=4", "data.workers=0"]).config).toMatchObject({ device: "cpu", threads: 4, data: { workers: 0 } });
    expect(loadConfig([`resume=${run}`, "seed=3"]).config.seed).toBe(3); // same value: fine
    let error: unknown;
    try {
      loadConfig([`resume=${run}`, "method.lr=1"]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`method.lr: cannot change when resuming ${run}`);
    expect(() => loadConfig([`resume=${run}`, "method=tent"])).toThrow(/method: cannot change when resuming .*: method\.name is "dusa" in the run, "tent" from this command line/);
  });

  test("the run's own command line given again with resume= is accepted, group choices included", () => {
    const argv = ["experiment=fmnist_tent", "method=tent", "data.limit=50", "name=again"];
    const tentRun = join(dir, "tent-run");
    mkdirSync(tentRun, { recursive: true });
    const first = loadConfig(argv).config;
    writeFileSync(join(tentRun, "config.yaml"), printConfig(first, ["configs/default.yaml"]));
    expect(loadConfig([...argv, `resume=${tentRun}`, "threads=1"]).config).toEqual({ ...first, resume: tentRun, threads: 1 });
    expect(() => loadConfig(["experiment=fmnist", "data.limit=50", "name=again", `resume=${tentRun}`])).toThrow(/experiment: cannot change when resuming .* in the run, .* from this command line/);
  });

  test("a run written before a key existed resumes with the value that reproduces it (storage f32)", () => {
    const old = join(dir, "old-run");
    mkdirSync(old, { recursive: true });
    const yaml = printConfig(original, ["configs/default.yaml"]);
    expect(yaml).toContain("storage: f32");
    writeFileSync(join(old, "config.yaml"), yaml.replace(/^storage: .*\n/m, ""));
    expect(loadConfig([`resume=${old}`]).config.storage).toBe("f32");
  });

  test("a folder without config.yaml is not a run", () => {
    expect(() => loadConfig([`resume=${dir}/nothing`])).toThrow(`resume: ${dir}/nothing is not a run folder (no config.yaml in it)`);
  });
});
