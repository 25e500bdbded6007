// Loads a committed golden fixture written by test/golden/make_<group>.py (PyTorch).
import { join } from "node:path";
import { readSafetensors } from "../../src/io/safetensors.ts";

export function loadGolden(name: string): Record<string, Float32Array | Int32Array> & { __shapes: Record<string, number[]> } {
  const file = readSafetensors(join(import.meta.dir, "..", "golden", "data", `${name}.safetensors`));
  const out: Record<string, Float32Array | Int32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const [key, t] of file.tensors) {
    out[key] = t.data;
    shapes[key] = t.shape;
  }
  return Object.assign(out, { __shapes: shapes }) as never;
}
