// Plain config trees (what YAML parses into): deep merge that remembers which source set each value, and
// dotted-path get/set.
export type Tree = Record<string, unknown>;

/** Which source (file or "command line") last set each dotted path. */
export type Provenance = Map<string, string>;

export const isTree = (x: unknown): x is Tree => typeof x === "object" && x !== null && !Array.isArray(x);

export const joinPath = (prefix: string, key: string): string => (prefix ? `${prefix}.${key}` : key);

/** Merges `over` into `base` in place: mappings merge key by key, anything else (lists included) replaces. */
export function mergeInto(base: Tree, over: Tree, source: string, provenance: Provenance, prefix = ""): Tree {
  for (const [key, value] of Object.entries(over)) {
    const path = joinPath(prefix, key);
    if (isTree(value) && isTree(base[key])) {
      mergeInto(base[key] as Tree, value, source, provenance, path);
      continue;
    }
    base[key] = isTree(value) ? structuredClone(value) : value;
    forgetBelow(provenance, path);
    provenance.set(path, source);
    if (isTree(value)) for (const leaf of leafPaths(value, path)) provenance.set(leaf, source);
  }
  return base;
}

function forgetBelow(provenance: Provenance, path: string): void {
  for (const key of provenance.keys()) if (key.startsWith(`${path}.`)) provenance.delete(key);
}

/** Sets a dotted path, creating mappings on the way (a scalar in the way is replaced by a mapping). */
export function setPath(tree: Tree, path: string, value: unknown, source: string, provenance: Provenance): void {
  const keys = path.split(".");
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  mergeInto(node, { [keys[keys.length - 1]]: value }, source, provenance, keys.slice(0, -1).join("."));
}

export function getPath(tree: unknown, path: string): unknown {
  let node = tree;
  for (const key of path.split(".")) {
    if (!isTree(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** Dotted paths of every non-mapping value (lists are leaves). */
export function leafPaths(tree: Tree, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([key, value]) => {
    const path = joinPath(prefix, key);
    return isTree(value) && Object.keys(value).length > 0 ? leafPaths(value, path) : [path];
  });
}

/** The source that set `path`, else the nearest enclosing path's, else the first of a value below it. */
export function sourceOf(provenance: Provenance, path: string): string | undefined {
  for (let p = path; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
    const source = provenance.get(p);
    if (source) return source;
  }
  for (const [p, source] of provenance) if (p.startsWith(`${path}.`)) return source;
  return undefined;
}
