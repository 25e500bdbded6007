// Command-line overrides: `dotted.key=value`, the value read as a YAML flow scalar or list, so that
// `[3,5]`, `null`, `1e-4`, `true`, `'quoted text'` mean what they look like; anything else is a string.
import { parse } from "yaml";
import { ConfigError } from "./config-error.ts";
import { isTree } from "./tree.ts";

export interface Override {
  key: string; // dotted path
  value: unknown;
  text: string; // as typed, for messages
}

const KEY = /^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/;
const VALUE_FORMS = "a YAML value such as 3, 1e-4, true, null, [3, 5], 'text'";

export function parseOverrideValue(key: string, text: string): unknown {
  if (text.trim() === "") return "";
  let value: unknown;
  try {
    value = parse(text);
  } catch (e) {
    throw new ConfigError({ path: key, problem: `cannot read the value ${JSON.stringify(text)} (${(e as Error).message.split("\n")[0]})`, allowed: VALUE_FORMS, source: "command line" });
  }
  // `name=a: b` is a string, not a mapping; `{...}` is taken at its word
  if (isTree(value) && !text.trim().startsWith("{")) return text;
  return value;
}

export function parseOverride(token: string): Override {
  const eq = token.indexOf("=");
  const key = eq < 0 ? token : token.slice(0, eq);
  if (eq < 0 || !KEY.test(key)) {
    throw new ConfigError({ path: token, problem: "not an override", allowed: "key=value with a dotted key, e.g. method.lr=1e-4 or data.severities=[3,5]", source: "command line" });
  }
  const text = token.slice(eq + 1);
  return { key, value: parseOverrideValue(key, text), text };
}
