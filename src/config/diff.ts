// Differences between two configs, key by key (lists compare whole): what `bun run merge` refuses on.
import { getPath, isTree, leafPaths } from "./tree.ts";

export interface ConfigDifference {
  path: string;
  a: unknown;
  b: unknown;
}

/** Keys that may differ between the shards of one run. */
export const SHARD_KEYS = ["shard", "name", "resume"];

export function configDiff(a: object, b: object, ignore: readonly string[] = []): ConfigDifference[] {
  const paths = [...new Set([...leafPaths(a as Record<string, unknown>), ...leafPaths(b as Record<string, unknown>)])];
  const ignored = (p: string) => ignore.some((i) => p === i || p.startsWith(`${i}.`));
  return paths
    .filter((p) => !ignored(p))
    .map((path) => ({ path, a: getPath(a, path), b: getPath(b, path) }))
    .filter(({ a, b }) => JSON.stringify(normal(a)) !== JSON.stringify(normal(b)));
}

const normal = (x: unknown): unknown => (isTree(x) && Object.keys(x).length === 0 ? undefined : x);

export const formatDifference = (d: ConfigDifference): string => `${d.path}: ${JSON.stringify(d.a) ?? "(absent)"} vs ${JSON.stringify(d.b) ?? "(absent)"}`;
