// Schema validation of a composed config tree: every valibot issue becomes a ConfigIssue that names the full
// dotted key, says whether the key is unknown, the type wrong or the value out of range, lists what is allowed,
// and names the file or command line that set it.
import * as v from "valibot";
import { ConfigError, type ConfigIssue } from "./config-error.ts";
import { describeSchema, keysAt, schemaAt } from "./describe-schema.ts";
import { closest } from "./did-you-mean.ts";
import { ConfigSchema, type RawConfig } from "./schema/index.ts";
import { sourceOf, type Provenance } from "./tree.ts";

const show = (x: unknown): string => {
  const text = typeof x === "string" ? JSON.stringify(x) : x === undefined ? "nothing" : JSON.stringify(x) ?? String(x);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const parentOf = (path: string) => (path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "");
const lastKey = (path: string) => path.slice(path.lastIndexOf(".") + 1);

function toIssue(issue: v.BaseIssue<unknown>, provenance: Provenance): ConfigIssue {
  const path = v.getDotPath(issue) ?? "(top level)";
  const source = sourceOf(provenance, path);
  if (issue.type === "strict_object" && issue.expected === "never") {
    const parent = parentOf(path), keys = keysAt(ConfigSchema, parent);
    const guess = closest(lastKey(path), keys);
    return {
      path,
      problem: `unknown key${guess ? ` (did you mean ${parent ? `${parent}.` : ""}${guess}?)` : ""}`,
      allowed: `one of the keys of ${parent || "the top level"}: ${keys.join(", ")}`,
      source,
    };
  }
  const schema = schemaAt(ConfigSchema, path);
  const allowed = schema ? describeSchema(schema) : undefined;
  if (issue.input === undefined) return { path, problem: "is missing", allowed, source };
  if (issue.kind === "schema") {
    const problem = issue.type === "picklist" || issue.type === "literal" ? `${show(issue.input)} is not allowed` : `${show(issue.input)} has the wrong type`;
    return { path, problem, allowed, source };
  }
  if (issue.type === "check" || issue.type === "min_length") return { path, problem: `${issue.message} (got ${show(issue.input)})`, allowed, source };
  if (issue.type === "regex") return { path, problem: `${show(issue.input)} is not well formed`, allowed, source };
  return { path, problem: `${show(issue.input)} is out of range`, allowed, source };
}

/** Validates a composed tree against the schema; throws a ConfigError listing every problem, one per key. */
export function validateTree(tree: unknown, provenance: Provenance = new Map()): RawConfig {
  const result = v.safeParse(ConfigSchema, tree, { abortEarly: false });
  if (result.success) return result.output;
  const seen = new Set<string>(), issues: ConfigIssue[] = [];
  for (const raw of result.issues) {
    const issue = toIssue(raw, provenance);
    if (seen.has(issue.path)) continue;
    seen.add(issue.path);
    issues.push(issue);
  }
  throw new ConfigError(issues);
}
