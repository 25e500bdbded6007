// The resolved config as YAML (for --print-config and a run's config.yaml): keys in schema order, short lists of
// scalars on one line, a header naming what it was composed from.
import { Document, isScalar, visit } from "yaml";
import type { Config } from "./schema/index.ts";

const FLOW_LIST_CHARS = 80;

export function configYaml(config: Config | Record<string, unknown>): string {
  const doc = new Document(config);
  visit(doc, {
    Seq(_, node) {
      const short = node.items.every(isScalar) && node.items.reduce((n, item) => n + String(item.value).length + 2, 0) <= FLOW_LIST_CHARS;
      if (short) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false, nullStr: "null" });
}

export function printConfig(config: Config, sources: readonly string[] = []): string {
  const header = sources.length ? `# resolved from:\n${sources.map((s) => `#   ${s}`).join("\n")}\n` : "";
  return header + configYaml(config);
}
