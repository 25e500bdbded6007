// The documentation of config keys is the comments in the YAML files: `key: value # what it is`, or the comment
// that opens a mapping. This reads them back by dotted path (for --help).
import { readFileSync } from "node:fs";
import { isMap, isScalar, parseDocument, type Node } from "yaml";

export function keyDocs(file: string, prefix = ""): Map<string, string> {
  const docs = new Map<string, string>();
  const walk = (node: unknown, path: string) => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const full = path ? `${path}.${key}` : key;
      const value = pair.value as (Node & { comment?: string | null; commentBefore?: string | null }) | null;
      const doc = value?.comment || value?.commentBefore;
      if (doc) docs.set(full, doc.trim().split("\n")[0].trim());
      walk(value, full);
    }
  };
  walk(parseDocument(readFileSync(file, "utf8")).contents, prefix);
  return docs;
}
