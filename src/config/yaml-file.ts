// Reading one YAML config file; errors name the file (and the line where YAML itself fails).
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { ConfigError } from "./config-error.ts";
import { isTree, type Tree } from "./tree.ts";

export function readYamlMapping(file: string): Tree {
  if (!existsSync(file)) throw new ConfigError({ path: file, problem: "file not found" });
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError({ path: file, problem: `not valid YAML: ${(e as Error).message.split("\n")[0]}` });
  }
  if (raw === null || raw === undefined) return {};
  if (!isTree(raw)) throw new ConfigError({ path: file, problem: "must hold a mapping of keys to values" });
  return raw;
}
