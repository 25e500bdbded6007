// Matching a checkpoint's tensors against a model's parameter table: every missing, unexpected and mis-shaped key is
// reported by name, and loading fails unless each missing / unexpected key is explicitly allowed.
// Mis-shaped keys are never allowed.
import { CheckpointError } from "./checkpoint-error.ts";
import { formatShape } from "./tensor.ts";

// A string matches a key equal to it or any key below it as a module prefix ("projectors" matches
// "projectors.0.0.weight"); a RegExp matches by test().
export type KeyPattern = string | RegExp;

export type MatchOptions = {
  allowMissing?: readonly KeyPattern[]; // model keys the checkpoint may lack (they keep their initial values)
  allowUnexpected?: readonly KeyPattern[]; // checkpoint keys the model may ignore (e.g. REPA projectors)
  file?: string; // names the checkpoint in the error
};

export type MisshapedKey = { name: string; expected: readonly number[]; got: readonly number[] };

export type LoadReport = {
  loaded: string[]; // present in both with equal shapes, in the model's order
  missing: string[]; // not allowed: loading failed if any
  unexpected: string[];
  misshaped: MisshapedKey[];
  allowedMissing: string[];
  allowedUnexpected: string[];
};

function matchesPattern(pattern: KeyPattern, key: string): boolean {
  if (typeof pattern === "string") return key === pattern || key.startsWith(`${pattern}.`);
  pattern.lastIndex = 0; // a /g or /y RegExp keeps its position between test() calls
  return pattern.test(key);
}

export const matchesKey = (patterns: readonly KeyPattern[], key: string): boolean => patterns.some((p) => matchesPattern(p, key));

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

export function matchStateDict(
  expected: ReadonlyMap<string, readonly number[]>,
  got: ReadonlyMap<string, { readonly shape: readonly number[] }>,
  options: MatchOptions = {},
): LoadReport {
  const allowMissing = options.allowMissing ?? [], allowUnexpected = options.allowUnexpected ?? [];
  const report: LoadReport = { loaded: [], missing: [], unexpected: [], misshaped: [], allowedMissing: [], allowedUnexpected: [] };
  for (const [name, shape] of expected) {
    const tensor = got.get(name);
    if (!tensor) (matchesKey(allowMissing, name) ? report.allowedMissing : report.missing).push(name);
    else if (!sameShape(shape, tensor.shape)) report.misshaped.push({ name, expected: shape, got: tensor.shape });
    else report.loaded.push(name);
  }
  for (const name of got.keys()) if (!expected.has(name)) (matchesKey(allowUnexpected, name) ? report.allowedUnexpected : report.unexpected).push(name);
  if (report.missing.length || report.unexpected.length || report.misshaped.length)
    throw new CheckpointError(options.file ?? "checkpoint", describeMismatch(report, expected, got));
  return report;
}

function describeMismatch(report: LoadReport, expected: ReadonlyMap<string, readonly number[]>, got: ReadonlyMap<string, { readonly shape: readonly number[] }>): string {
  const counts = [
    report.missing.length && `${report.missing.length} missing`,
    report.unexpected.length && `${report.unexpected.length} unexpected`,
    report.misshaped.length && `${report.misshaped.length} mis-shaped`,
  ].filter(Boolean);
  const lines = [`does not match the model: ${counts.join(", ")} (${report.loaded.length} of ${expected.size} model keys match)`];
  for (const name of report.missing) lines.push(`  missing     ${name} ${formatShape(expected.get(name)!)}`);
  for (const name of report.unexpected) lines.push(`  unexpected  ${name} ${formatShape(got.get(name)!.shape)}`);
  for (const m of report.misshaped) lines.push(`  mis-shaped  ${m.name}: model ${formatShape(m.expected)}, checkpoint ${formatShape(m.got)}`);
  if (report.loaded.length === 0 && report.missing.length > 0)
    lines.push("  (no key matches: is the checkpoint wrapped, prefixed, or in another naming? `bun run inspect <file>` lists its keys)");
  return lines.join("\n");
}
