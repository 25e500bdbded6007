// loadConfig: command line → composed tree → schema validation → cross-checks and derived values.
// With resume=<run folder> the run's own config.yaml is the base and only machine-level keys may change.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { splitCommandLine, type CommandLine } from "./command-line.ts";
import { COMMAND_LINE, compose } from "./compose.ts";
import { ConfigError } from "./config-error.ts";
import { defaultConfigDir, isGroup } from "./groups.ts";
import { parseOverride, type Override } from "./override.ts";
import { resolveConfig } from "./resolve.ts";
import type { Config } from "./schema/index.ts";
import { getPath, leafPaths, setPath, type Provenance } from "./tree.ts";
import { validateTree } from "./validate.ts";
import { readYamlMapping } from "./yaml-file.ts";

export interface LoadOptions {
  configDir?: string; // default: the repository's configs/
}

export interface LoadedConfig {
  config: Config;
  sources: string[]; // files merged in order, then the command line
  commandLine: CommandLine; // --print-config / --help, for the caller to act on
}

/** Keys that may differ when a run is resumed: where and how fast it runs, never what it computes. */
export const RESUME_MUTABLE = ["resume", "device", "threads", "graph", "data.workers", "data.prefetch", "explain"];

export const RUN_CONFIG_FILE = "config.yaml";

/** Keys added after runs were already written, with the value that reproduces what those runs did. */
const ADDED_KEYS: Record<string, unknown> = { storage: "f32", graph: "auto" };

export function loadConfig(argv: readonly string[], options: LoadOptions = {}): LoadedConfig {
  const commandLine = splitCommandLine(argv);
  const overrides = commandLine.overrides.map(parseOverride);
  const resume = overrides.findLast((o) => o.key === "resume" && o.value !== null);
  const configDir = options.configDir ?? defaultConfigDir;
  const loaded = resume ? loadForResume(String(resume.value), overrides, configDir) : loadComposed(configDir, overrides);
  return { ...loaded, commandLine };
}

function loadComposed(configDir: string, overrides: Override[]): Omit<LoadedConfig, "commandLine"> {
  const { tree, provenance, sources, choices } = compose(configDir, overrides);
  const raw = validateTree(tree, provenance);
  return { config: resolveConfig(raw, { experiment: choices.experiment, provenance }), sources };
}

/**
 * A group choice given again when resuming (method=source, experiment=fmnist_tent: the run's own command line) is
 * accepted when it composes to what the run's config.yaml holds under that group (everything, for experiment); the
 * first value that differs is named otherwise.
 */
function groupChangeWhenResuming(saved: Record<string, unknown>, group: string, overrides: Override[], configDir: string): string | null {
  // both resolved (config.yaml is written from the resolved config: derived values such as method.family filled in)
  const fresh = loadComposed(configDir, overrides.filter((o) => o.key !== "resume" && !RESUME_MUTABLE.includes(o.key))).config as unknown as Record<string, unknown>;
  const scope = group === "experiment" ? "" : group;
  const paths = new Set([...leafPaths(saved), ...leafPaths(fresh)].filter((p) => (scope === "" || p === scope || p.startsWith(`${scope}.`)) && !RESUME_MUTABLE.includes(p) && p !== "resume"));
  for (const path of paths) {
    const [was, now] = [getPath(saved, path), getPath(fresh, path)];
    if (JSON.stringify(was) !== JSON.stringify(now)) return `${path} is ${JSON.stringify(was)} in the run, ${JSON.stringify(now)} from this command line`;
  }
  return null;
}

function loadForResume(runDir: string, overrides: Override[], configDir: string): Omit<LoadedConfig, "commandLine"> {
  const file = join(runDir, RUN_CONFIG_FILE);
  if (!existsSync(file)) throw new ConfigError({ path: "resume", problem: `${runDir} is not a run folder (no ${RUN_CONFIG_FILE} in it)`, allowed: "the path of a folder written by bun run tta", source: COMMAND_LINE });
  const tree = readYamlMapping(file);
  const provenance: Provenance = new Map(leafPaths(tree).map((p) => [p, file]));
  for (const [key, value] of Object.entries(ADDED_KEYS)) if (getPath(tree, key) === undefined) setPath(tree, key, value, file, provenance);
  for (const o of overrides) {
    if (isGroup(o.key)) {
      const change = groupChangeWhenResuming(tree, o.key, overrides, configDir);
      if (change) throw new ConfigError({ path: o.key, problem: `cannot change when resuming ${runDir} (its ${RUN_CONFIG_FILE} fixes it): ${change}`, allowed: `the run's own choice, or overrides of ${RESUME_MUTABLE.join(", ")}`, source: COMMAND_LINE });
      continue; // the saved tree already holds what the group gives
    }
    const unchanged = JSON.stringify(getPath(tree, o.key)) === JSON.stringify(o.value);
    if (!RESUME_MUTABLE.includes(o.key) && !unchanged) {
      throw new ConfigError({ path: o.key, problem: `cannot change when resuming ${runDir} (its ${RUN_CONFIG_FILE} fixes it)`, allowed: `overrides of ${RESUME_MUTABLE.join(", ")} only; start a new run to change anything else`, source: COMMAND_LINE });
    }
    setPath(tree, o.key, o.value, COMMAND_LINE, provenance);
  }
  setPath(tree, "resume", runDir, COMMAND_LINE, provenance);
  const raw = validateTree(tree, provenance);
  return { config: resolveConfig(raw, { provenance }), sources: [file, `${COMMAND_LINE}: ${overrides.map((o) => `${o.key}=${o.text}`).join(" ")}`] };
}
