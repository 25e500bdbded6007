// Generates src/native/symbols.ts (the bun:ffi symbol table and typed op signatures) from cuda/include/dusa.h,
// so the header stays the one description of the ABI. Run: bun run gen:ffi. A test checks it is up to date.
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
export const headerPath = join(root, "cuda", "include", "dusa.h");
export const symbolsPath = join(root, "src", "native", "symbols.ts");

type Param = { name: string; ctype: string };
type Declaration = { name: string; returns: string; params: Param[] };

export function parseHeader(text: string): Declaration[] {
  const body = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const declarations: Declaration[] = [];
  for (const m of body.matchAll(/DUSA_API\s+([\w\s*]+?)\s*\b(dusa_\w+)\s*\(([^)]*)\)\s*;/g)) {
    const params = m[3].trim() === "void" ? [] : m[3].split(",").map((p) => {
      const pm = p.trim().match(/^(.*?)(\w+)$/);
      if (!pm) throw new Error(`dusa.h: cannot parse parameter '${p}' of ${m[2]}`);
      return { ctype: pm[1].replace(/\s+/g, " ").replace(/\s\*/g, "*").trim(), name: pm[2] };
    });
    declarations.push({ name: m[2], returns: m[1].replace(/\s+/g, " ").replace(/\s\*/g, "*").trim(), params });
  }
  return declarations;
}

function ffiType(ctype: string, isReturn: boolean): string {
  if (ctype.endsWith("*")) return isReturn && ctype.includes("char") ? "cstring" : "ptr";
  const table: Record<string, string> = { int: "i32", int32_t: "i32", float: "f32", double: "f64", uint64_t: "u64", int64_t: "i64", void: "void" };
  const t = table[ctype];
  if (!t) throw new Error(`dusa.h: no FFI type for C type '${ctype}'`);
  return t;
}

function tsType(ctype: string): string {
  if (ctype.endsWith("*")) return "PtrArg";
  if (ctype === "uint64_t" || ctype === "int64_t") return "number | bigint";
  return "number";
}

const reserved = new Set(["in", "out_", "default", "function", "var", "new"]);
const argName = (n: string) => (reserved.has(n) ? `${n}_` : n);

export function generate(text: string): string {
  const decls = parseHeader(text);
  const lines: string[] = [
    "// GENERATED from cuda/include/dusa.h by src/native/gen-symbols.ts (bun run gen:ffi). Do not edit.",
    'import type { PtrArg } from "./ptr.ts";',
    "",
    "export const symbols = {",
  ];
  for (const d of decls) {
    const args = d.params.map((p) => `"${ffiType(p.ctype, false)}"`).join(", ");
    lines.push(`  ${d.name}: { args: [${args}], returns: "${ffiType(d.returns, true)}" },`);
  }
  lines.push("} as const;", "", "/** Parameter names and C types of every function, for error messages. */");
  lines.push("export const parameters: Record<string, readonly (readonly [string, string])[]> = {");
  for (const d of decls) lines.push(`  ${d.name}: [${d.params.map((p) => `["${p.name}", "${p.ctype}"]`).join(", ")}],`);
  lines.push("};", "", "/** Functions taking the context first and returning a status: callable as ctx.call(name, ...args). */");
  lines.push("export interface OpArgs {");
  for (const d of decls) {
    if (d.returns !== "int" || d.params[0]?.ctype !== "dusa_ctx*") continue;
    const args = d.params.slice(1).map((p) => `${argName(p.name)}: ${tsType(p.ctype)}`).join(", ");
    lines.push(`  ${d.name}: [${args}];`);
  }
  lines.push("}", "", "export type OpName = keyof OpArgs;", "");
  return lines.join("\n");
}

if (import.meta.main) {
  const out = generate(await Bun.file(headerPath).text());
  await Bun.write(symbolsPath, out);
  console.log(`wrote ${symbolsPath}`);
}
