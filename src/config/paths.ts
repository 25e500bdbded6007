// Before any compute: every file and folder the run will read must exist. All problems are reported at once,
// each with its dotted key, the missing path and how to get it.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { readNpyBenchmarkMeta } from "../data/corruption-datasets.ts";
import { fashionMnistDirs } from "../data/fashion-mnist.ts";
import { ConfigError, type ConfigIssue } from "./config-error.ts";
import type { Config } from "./schema/index.ts";
import { weightSource } from "./weight-sources.ts";

const MAX_LISTED = 5;

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

function listMissing(path: string, missing: string[], what: string): ConfigIssue[] {
  if (!missing.length) return [];
  const shown = missing.slice(0, MAX_LISTED).join(", ") + (missing.length > MAX_LISTED ? `, and ${missing.length - MAX_LISTED} more` : "");
  return [{ path, problem: `${missing.length} ${what} missing: ${shown}` }];
}

/** The models whose weights a method reads. */
export function neededWeights(config: Pick<Config, "method">): ("task" | "vae" | "generative")[] {
  return config.method.name === "dusa" ? ["task", "vae", "generative"] : ["task"];
}

function weightProblems(config: Config, at: (p: string) => string): ConfigIssue[] {
  return neededWeights(config).flatMap((role) => {
    const file = config.model.weights[role];
    if (file === null) return [{ path: `model.weights.${role}`, problem: `is null, but method ${config.method.name} needs it`, allowed: "a weights file path" }];
    if (existsSync(at(file))) return [];
    return [{ path: `model.weights.${role}`, problem: `${file} not found; ${weightSource(config.model[role])}` }];
  });
}

function dataProblems(config: Config, at: (p: string) => string): ConfigIssue[] {
  const { data } = config;
  if (data.dataset === "fmnist-c" && data.root === null) {
    const found = fashionMnistDirs("test").some((d) => existsSync(join(d, "t10k-images-idx3-ubyte.gz")) || existsSync(join(d, "t10k-images-idx3-ubyte")));
    const issues: ConfigIssue[] = found ? [] : [{ path: "data.root", problem: `null means "generate Fashion-MNIST-C from the test set", but no test set is in ${fashionMnistDirs("test").join(" or ")}` }];
    const frost = data.generate.frost_dir;
    if (frost !== null && !isDir(at(frost))) issues.push({ path: "data.generate.frost_dir", problem: `${frost} is not a folder` });
    return issues;
  }
  if (data.root === null) return [{ path: "data.root", problem: `is null, but dataset ${data.dataset} is read from a folder` }];
  const root = at(data.root);
  const hint = data.dataset === "fmnist-c" ? " (make it with: bun run corrupt --dataset fmnist --out " + data.root + ")" : "";
  if (!isDir(root)) return [{ path: "data.root", problem: `${data.root} is not a folder${hint}` }];
  if (data.dataset === "folder") return [];
  if (data.dataset === "imagenet-c") {
    const missing = data.corruptions.flatMap((c) => data.severities.map((s) => join(c, String(s)))).filter((p) => !isDir(join(root, p)));
    return listMissing("data.root", missing.map((p) => join(data.root!, p)), "task folders (<root>/<corruption>/<severity>) are");
  }
  const missing = [...data.corruptions.map((c) => `${c}.npy`), "labels.npy"].filter((f) => !existsSync(join(root, f))).map((f) => join(data.root!, f));
  if (missing.length) return listMissing("data.root", missing, `files are${hint}`);
  let stored: number[];
  try {
    stored = readNpyBenchmarkMeta(root).severities;
  } catch (e) {
    return [{ path: "data.root", problem: (e as Error).message }];
  }
  const absent = data.severities.filter((s) => !stored.includes(s));
  return absent.length ? [{ path: "data.severities", problem: `severities ${absent.join(", ")} are not stored in ${data.root} (it has ${stored.join(", ")})` }] : [];
}

export function pathProblems(config: Config, options: { cwd?: string } = {}): ConfigIssue[] {
  const at = (p: string) => resolve(options.cwd ?? process.cwd(), p);
  return [...weightProblems(config, at), ...dataProblems(config, at)];
}

/** Throws a ConfigError naming every missing weights file and data path. */
export function checkPaths(config: Config, options: { cwd?: string } = {}): void {
  const issues = pathProblems(config, options);
  if (issues.length) throw new ConfigError(issues);
}
