// Config groups are folders of YAML files: configs/<group>/<option>.yaml. Choosing an option (`method=tent`)
// puts that file's mapping under the group's key (experiment files are merged at the top level).
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { ConfigError } from "./config-error.ts";

export const GROUPS = ["experiment", "data", "method"] as const;
export type Group = (typeof GROUPS)[number];
export const isGroup = (key: string): key is Group => (GROUPS as readonly string[]).includes(key);

export const defaultConfigDir = join(import.meta.dir, "..", "..", "configs");

export function groupOptions(configDir: string, group: Group): string[] {
  const dir = join(configDir, group);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => basename(f, ".yaml")).sort();
}

/** The file of a group option; an unknown option is an error listing the known ones. */
export function groupFile(configDir: string, group: Group, option: unknown, source: string): string {
  const options = groupOptions(configDir, group);
  const file = join(configDir, group, `${String(option)}.yaml`);
  if (typeof option !== "string" || !/^[\w.-]+$/.test(option) || !existsSync(file)) {
    throw new ConfigError({ path: group, problem: `no option ${JSON.stringify(option)} (no ${join(configDir, group, `${String(option)}.yaml`)})`, allowed: `one of ${options.join(", ")}`, source });
  }
  return file;
}
