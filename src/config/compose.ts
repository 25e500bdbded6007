// Composition, Hydra-style. configs/default.yaml names an experiment in `defaults`; the experiment's own
// `defaults` pick the data and method group files; `experiment=`, `data=`, `method=` on the command line swap
// them. Merge order, later wins: default.yaml < data group < method group < experiment < dotted overrides.
import { join, relative } from "node:path";
import { ConfigError } from "./config-error.ts";
import { GROUPS, groupFile, isGroup, type Group } from "./groups.ts";
import type { Override } from "./override.ts";
import { isTree, mergeInto, setPath, type Provenance, type Tree } from "./tree.ts";
import { readYamlMapping } from "./yaml-file.ts";

export const COMMAND_LINE = "command line";

export interface Composition {
  tree: Tree;
  provenance: Provenance;
  sources: string[]; // the files merged, in order, then the command line
  choices: Partial<Record<Group, string>>; // the group options used
}

const display = (file: string) => (relative(process.cwd(), file).startsWith("..") ? file : relative(process.cwd(), file));

/** Splits `defaults` off a file's mapping and checks it names only groups, each with a string. */
function takeDefaults(body: Tree, file: string, allowed: readonly Group[]): { defaults: Partial<Record<Group, string>>; rest: Tree } {
  const { defaults = {}, ...rest } = body;
  if (!isTree(defaults)) throw new ConfigError({ path: "defaults", problem: "must be a mapping of group to option", allowed: `keys ${allowed.join(", ")}`, source: display(file) });
  for (const [group, option] of Object.entries(defaults)) {
    if (!(allowed as string[]).includes(group)) throw new ConfigError({ path: `defaults.${group}`, problem: "not a group that can be chosen here", allowed: `one of ${allowed.join(", ")}`, source: display(file) });
    if (option !== null && typeof option !== "string") throw new ConfigError({ path: `defaults.${group}`, problem: `${JSON.stringify(option)} is not an option name`, source: display(file) });
  }
  return { defaults: defaults as Partial<Record<Group, string>>, rest };
}

export function compose(configDir: string, overrides: Override[]): Composition {
  const defaultFile = join(configDir, "default.yaml");
  const base = takeDefaults(readYamlMapping(defaultFile), defaultFile, GROUPS);

  const fromCommandLine: Partial<Record<Group, string>> = {};
  const dotted: Override[] = [];
  for (const o of overrides) {
    if (isGroup(o.key)) fromCommandLine[o.key] = o.value as string;
    else if (o.key === "defaults" || o.key.startsWith("defaults.")) throw new ConfigError({ path: o.key, problem: "cannot be overridden", allowed: "a group choice such as experiment=fmnist, method=tent, data=cifar10-c", source: COMMAND_LINE });
    else dotted.push(o);
  }

  const sources = [display(defaultFile)];
  const choices: Partial<Record<Group, string>> = {};
  const experimentChoice = "experiment" in fromCommandLine ? fromCommandLine.experiment : base.defaults.experiment;
  let experiment: { defaults: Partial<Record<Group, string>>; rest: Tree; file: string } | undefined;
  if (experimentChoice !== null && experimentChoice !== undefined) {
    const file = groupFile(configDir, "experiment", experimentChoice, "experiment" in fromCommandLine ? COMMAND_LINE : display(defaultFile));
    experiment = { ...takeDefaults(readYamlMapping(file), file, ["data", "method"]), file };
    choices.experiment = experimentChoice;
  }

  const tree: Tree = {}, provenance: Provenance = new Map();
  mergeInto(tree, base.rest, display(defaultFile), provenance);
  for (const group of ["data", "method"] as const) {
    const fromFile = experiment?.defaults[group] !== undefined ? { option: experiment.defaults[group], source: display(experiment.file) } : { option: base.defaults[group], source: display(defaultFile) };
    const chosen = group in fromCommandLine ? { option: fromCommandLine[group], source: COMMAND_LINE } : fromFile;
    if (chosen.option === undefined || chosen.option === null) throw new ConfigError({ path: group, problem: "no option chosen", allowed: `${group}=<option> on the command line, or defaults.${group} in the experiment file` });
    const file = groupFile(configDir, group, chosen.option, chosen.source);
    mergeInto(tree, { [group]: readYamlMapping(file) }, display(file), provenance);
    sources.push(display(file));
    choices[group] = chosen.option;
  }
  if (experiment) {
    mergeInto(tree, experiment.rest, display(experiment.file), provenance);
    sources.push(display(experiment.file));
  }
  for (const o of dotted) setPath(tree, o.key, o.value, COMMAND_LINE, provenance);
  if (overrides.length) sources.push(`${COMMAND_LINE}: ${overrides.map((o) => `${o.key}=${o.text}`).join(" ")}`);
  return { tree, provenance, sources, choices };
}
