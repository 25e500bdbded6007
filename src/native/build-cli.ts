// bun run build [cpu|cuda|all]: builds the native libraries now (they are otherwise built on first use).
// cuda needs nvcc (a clear error without it); all builds cpu, and cuda when nvcc is there (a line says when not).
import { BackendUnavailable, ensureLibrary, findNvcc, type Backend } from "./build.ts";

const which = process.argv[2] ?? "cpu";
if (!["cpu", "cuda", "all"].includes(which)) {
  console.error(`bun run build: unknown backend '${which}' (cpu, cuda, all)`);
  process.exit(2);
}
const backends: Backend[] = which === "all" ? ["cpu", "cuda"] : [which as Backend];
for (const backend of backends) {
  if (backend === "cuda" && which === "all" && !findNvcc()) {
    console.log("cuda: skipped (no nvcc on PATH: the CUDA toolkit is not installed)");
    continue;
  }
  try {
    console.log(`${backend}: ${ensureLibrary(backend)}`);
  } catch (e) {
    console.error(e instanceof BackendUnavailable ? e.message : `bun run build ${backend}: ${(e as Error).message}`);
    process.exit(1);
  }
}
