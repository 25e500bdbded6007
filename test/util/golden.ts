// Loads a committed golden fixture written by test/golden/make_<group>.py (PyTorch).
import { join } from "node:path";
import { readSafetensors } from "../../src/io/safetensors.ts";

export type Golden = Record<string, Float32Array | Int32Array> & { __shapes: Record<string, number[]>; __metadata: Record<string, string> };

export function goldenPath(name: string): string {
  return join(import.meta.dir, "..", "golden", "data", `${name}.safetensors`);
}

export function loadGolden(name: string): Golden {
  const file = readSafetensors(goldenPath(name));
  const out: Record<string, Float32Array | Int32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const [key, t] of file.tensors) {
    out[key] = t.data;
    shapes[key] = t.shape;
  }
  return Object.assign(out, { __shapes: shapes, __metadata: file.metadata }) as Golden;
}

/** The `param.<name>` entries of a model fixture, as (name, tensor) pairs for Parameters.set. */
export function goldenParams(g: Golden): [string, { shape: number[]; data: Float32Array }][] {
  return Object.keys(g.__shapes)
    .filter((k) => k.startsWith("param."))
    .map((k) => [k.slice("param.".length), { shape: g.__shapes[k], data: g[k] as Float32Array }]);
}
