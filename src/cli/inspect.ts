// bun run inspect <checkpoint> [--filter <regex>] [--raw] [--unwrap <keys>]
// Lists every tensor of a safetensors or PyTorch checkpoint (name, dtype, shape, numel) with totals, the wrapper
// that was unwrapped, prefixes stripped, safetensors metadata and the non-tensor entries of a training checkpoint.
// Reads headers and pickles only: no tensor data is decoded.
import { cac } from "cac";
import { CheckpointError, DEFAULT_UNWRAP_KEYS, loadCheckpoint, type LoadedCheckpoint } from "../io/checkpoint.ts";
import { dtypeBytes, formatShape, numelOf, type StoredDtype } from "../io/tensor.ts";

class UsageError extends Error {}

const count = (n: number): string => n.toLocaleString("en-US");
const tensorCount = (n: number): string => `${count(n)} ${n === 1 ? "tensor" : "tensors"}`;

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 3)}...`;
}

function json(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? `<${v.length} bytes>` : v)) ?? String(value);
}

function describeSource(c: LoadedCheckpoint, fileBytes: number): string[] {
  const lines = [`${c.file}: ${c.format === "torch" ? "PyTorch zip checkpoint" : "safetensors"}, ${count(fileBytes)} bytes`];
  if (c.unwrapped.length) lines.push(`top-level keys: ${c.topLevelKeys.join(", ")}`, `unwrapped: ${c.unwrapped.map((k) => `'${k}'`).join(" > ")}`);
  if (c.strippedPrefixes.length) lines.push(`stripped prefixes: ${c.strippedPrefixes.map((p) => `'${p}'`).join(", ")}`);
  return lines;
}

export function formatInspection(c: LoadedCheckpoint, fileBytes: number, filter?: RegExp): string {
  const lines = describeSource(c, fileBytes);
  const rows = [...c.tensors].filter(([name]) => !filter || filter.test(name));
  const nameWidth = Math.max(4, ...rows.map(([name]) => name.length));
  const shapeWidth = Math.max(5, ...rows.map(([, t]) => formatShape(t.shape).length));
  const numelWidth = Math.max(5, ...rows.map(([, t]) => count(numelOf(t.shape)).length));
  lines.push("", `${"name".padEnd(nameWidth)}  dtype  ${"shape".padEnd(shapeWidth)}  ${"numel".padStart(numelWidth)}`);
  const byDtype = new Map<StoredDtype, { tensors: number; bytes: number }>();
  let parameters = 0, bytes = 0;
  for (const [name, t] of rows) {
    const numel = numelOf(t.shape), size = numel * dtypeBytes[t.dtype];
    lines.push(`${name.padEnd(nameWidth)}  ${t.dtype.padEnd(5)}  ${formatShape(t.shape).padEnd(shapeWidth)}  ${count(numel).padStart(numelWidth)}`);
    parameters += numel;
    bytes += size;
    const d = byDtype.get(t.dtype) ?? { tensors: 0, bytes: 0 };
    byDtype.set(t.dtype, { tensors: d.tensors + 1, bytes: d.bytes + size });
  }
  const perDtype = [...byDtype].map(([dtype, d]) => `${dtype}: ${tensorCount(d.tensors)}, ${count(d.bytes)} bytes`).join("; ");
  const filtered = filter ? ` matching /${filter.source}/ (of ${count(c.tensors.size)})` : "";
  lines.push("", `${tensorCount(rows.length)}${filtered}, ${count(parameters)} parameters, ${count(bytes)} bytes${perDtype ? ` (${perDtype})` : ""}`);
  const metadata = Object.entries(c.metadata);
  if (metadata.length) lines.push("", "metadata:", ...metadata.map(([k, v]) => `  ${k} = ${clip(v, 200)}`));
  const extra = Object.entries(c.extra);
  if (extra.length) lines.push("", "other entries:", ...extra.map(([k, v]) => `  ${k}: ${clip(json(v), 200)}`));
  return lines.join("\n");
}

function main(file: string | undefined, o: Record<string, unknown>): void {
  if (!file) throw new UsageError("usage: bun run inspect <checkpoint> [--filter <regex>] [--raw] [--unwrap <keys>]");
  let filter: RegExp | undefined;
  if (o.filter !== undefined) {
    try {
      filter = new RegExp(String(o.filter));
    } catch (e) {
      throw new UsageError(`--filter: ${(e as Error).message}`);
    }
  }
  const unwrap = o.raw ? false : o.unwrap !== undefined ? String(o.unwrap).split(",").map((k) => k.trim()).filter(Boolean) : DEFAULT_UNWRAP_KEYS;
  const checkpoint = loadCheckpoint(file, { unwrap, stripPrefixes: o.raw ? [] : undefined });
  console.log(formatInspection(checkpoint, Bun.file(file).size, filter));
}

if (import.meta.main) {
  const cli = cac("inspect");
  cli
    .command("[checkpoint]", "List the tensors of a safetensors or PyTorch (.pt/.pth) checkpoint")
    .option("--filter <regex>", "only tensors whose name matches")
    .option("--raw", "list every tensor as stored: no unwrapping of ema/model/state_dict, no prefix stripping")
    .option("--unwrap <keys>", `wrapper keys to descend into, in order of preference (default ${DEFAULT_UNWRAP_KEYS.join(",")})`)
    .example("bun run inspect last.pt --filter '^blocks\\.0\\.'")
    .action(main);
  cli.help();
  try {
    cli.parse(process.argv, { run: false });
    if (!cli.options.help) await cli.runMatchedCommand();
  } catch (e) {
    if (e instanceof CheckpointError || e instanceof UsageError || (e as Error).name === "CACError") {
      console.error(`inspect: ${(e as Error).message}`);
      process.exit(2);
    }
    throw e;
  }
}
