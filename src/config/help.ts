// The config part of `bun run tta --help`: the groups and their options, the model presets, and the main keys
// with their documentation (read from the comments of the YAML files, so it cannot drift from them).
import { join } from "node:path";
import { presetNames } from "../models/presets.ts";
import { defaultConfigDir, groupOptions, GROUPS } from "./groups.ts";
import { keyDocs } from "./key-docs.ts";
import { readYamlMapping } from "./yaml-file.ts";

const MAX_DEPTH = 2; // method.optimizer is listed, method.optimizer.betas is not

export function configHelp(options: { configDir?: string } = {}): string {
  const dir = options.configDir ?? defaultConfigDir;
  // default.yaml documents keys generically; the group files add the keys it leaves to them
  const docs = new Map([...keyDocs(join(dir, "data", "fmnist-c.yaml"), "data"), ...keyDocs(join(dir, "method", "dusa.yaml"), "method"), ...keyDocs(join(dir, "default.yaml"))]);
  const sections = ["model", "data", "method"];
  const keys = [...docs.keys()].filter((k) => k !== "defaults" && !sections.includes(k) && k.split(".").length <= MAX_DEPTH);
  const defaults = readYamlMapping(join(dir, "default.yaml")).defaults as Record<string, string> | undefined;
  const order = ["", ...sections];
  keys.sort((a, b) => order.indexOf(a.includes(".") ? a.split(".")[0] : "") - order.indexOf(b.includes(".") ? b.split(".")[0] : ""));
  const width = Math.max(...keys.map((k) => k.length)) + 2;
  return [
    "Commands:",
    "  bun run tta [group=option ...] [key=value ...]   adapt over the corruption tasks and write runs/<date>-<name>/",
    "  bun run merge runs/<dir> ... [--out DIR]         one report from the shard folders of a run",
    "  bun run corrupt ...                              write corrupted benchmarks (Fashion-MNIST-C, CIFAR-10-C or ImageNet-C style)",
    "  bun run pretrain <classifier|vae|sit>            train the tiny models of the embedded default",
    "Flags: --print-config (print the resolved config and exit), --fast-dev-run (one batch per task), --help",
    "",
    "Groups (configs/<group>/<option>.yaml; choose with group=option):",
    ...GROUPS.map((g) => `  ${g.padEnd(12)}${groupOptions(dir, g).join(", ")}`),
    `  ${"model.*".padEnd(12)}presets for model.task / model.vae / model.generative: ${presetNames().join(", ")}`,
    `  (default: ${Object.entries(defaults ?? {}).map(([g, o]) => `${g}=${o}`).join(" ")}; an experiment picks the data and method options)`,
    "",
    "Keys (key=value; lists in brackets: data.severities=[3,5]; null, true/false, 1e-4 as in YAML):",
    ...keys.map((k) => `  ${k.padEnd(width)}${docs.get(k)}`),
    "",
    "Examples:",
    "  bun run tta                                       # the embedded default (experiment fmnist)",
    "  bun run tta experiment=fmnist method=tent data.severities=[3,5] method.lr=1e-4",
    "  bun run tta experiment=imagenet_c_convnext_l_dit data.root=/data/ImageNet-C shard=0/4",
    "  bun run tta resume=runs/2025-01-31-fmnist-dusa",
    "  bun run tta experiment=fmnist --print-config",
  ].join("\n");
}
