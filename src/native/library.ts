// Opens a backend's shared library with the generated symbol table. A backend may lack some functions of the
// header (the CUDA backend while it grows); those are recorded and calling one throws a clear error.
import { dlopen } from "bun:ffi";
import { ensureLibrary, type Backend } from "./build.ts";
import { symbols } from "./symbols.ts";

type Symbols = typeof symbols;
export type NativeLibrary = {
  backend: Backend;
  path: string;
  symbols: ReturnType<typeof dlopen<Symbols>>["symbols"];
  missing: Set<string>;
  close: () => void;
};

const cache = new Map<Backend, NativeLibrary>();

export function openLibrary(backend: Backend): NativeLibrary {
  const cached = cache.get(backend);
  if (cached) return cached;
  const path = ensureLibrary(backend);
  const wanted: Record<string, unknown> = { ...symbols };
  const missing = new Set<string>();
  for (;;) {
    try {
      const handle = dlopen(path, wanted as Symbols);
      const lib = { backend, path, symbols: handle.symbols, missing, close: handle.close };
      cache.set(backend, lib);
      return lib;
    } catch (error) {
      const name = String(error).match(/Symbol "(\w+)" not found/)?.[1];
      if (!name || !(name in wanted)) throw new Error(`dusa: cannot open ${path}: ${error}`);
      missing.add(name);
      delete wanted[name];
    }
  }
}
