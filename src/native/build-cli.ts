// bun run build [cpu|cuda|all]: builds the native libraries now (they are otherwise built on first use).
import { ensureLibrary, type Backend } from "./build.ts";

const which = process.argv[2] ?? "cpu";
const backends: Backend[] = which === "all" ? ["cpu", "cuda"] : [which as Backend];
for (const backend of backends) {
  if (backend !== "cpu" && backend !== "cuda") throw new Error(`bun run build: unknown backend '${backend}' (cpu, cuda, all)`);
  console.log(`${backend}: ${ensureLibrary(backend)}`);
}
