// bun run build [cpu|cuda|all]: builds the native libraries now (they are otherwise built on first use).
import { ensureLibrary, isStale, libraryPath, type Backend } from "./build.ts";

const which = process.argv[2] ?? "cpu";
const backends: Backend[] = which === "all" ? ["cpu", "cuda"] : [which as Backend];
for (const backend of backends) {
  if (backend !== "cpu" && backend !== "cuda") throw new Error(`bun run build: unknown backend '${backend}' (cpu, cuda, all)`);
  const path = ensureLibrary(backend);
  console.log(`${backend}: ${path}${isStale(backend) ? " (stale)" : ""}`);
}
void libraryPath;
