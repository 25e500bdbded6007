// Every op of dusa.h is tested on every backend: each compute op's name appears in a CPU test (test/, outside
// test/cuda/) and in a CUDA test (test/cuda/). Context, memory, copy and profiler functions are exercised through
// the Context class (test/runtime.test.ts and the CUDA runtime test) and are not listed here; so are the graph functions.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const header = readFileSync(join(root, "cuda/include/dusa.h"), "utf8");
const ops = [...header.matchAll(/^DUSA_API [^(]*\b(dusa_\w+)\(/gm)].map((m) => m[1]);
const runtimeApi = new Set([
  "dusa_last_error", "dusa_build_info", "dusa_has_blas", "dusa_ctx_create", "dusa_ctx_destroy", "dusa_ctx_set_threads",
  "dusa_ctx_get_threads", "dusa_ctx_set_reference", "dusa_ctx_set_gemm_path", "dusa_ctx_set_memory_limit", "dusa_ctx_set_storage", "dusa_ctx_get_storage", "dusa_sync",
  "dusa_alloc", "dusa_free", "dusa_memory_stats", "dusa_memory_reset_peak", "dusa_copy_h2d", "dusa_copy_d2h",
  "dusa_copy_d2d", "dusa_fill", "dusa_profile_enable", "dusa_profile_reset", "dusa_profile_count", "dusa_profile_entry",
  // graphs: through Context.record (test/graph.test.ts, test/cuda/graph.test.ts, which also calls them raw)
  "dusa_graph_begin", "dusa_graph_end", "dusa_graph_launch", "dusa_graph_destroy",
]);

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => readFileSync(join(e.parentPath, e.name), "utf8"));
}

test("every compute op of dusa.h has a CPU test and a CUDA test", () => {
  const cuda = testSources(join(root, "test/cuda")).join("\n");
  const cpu = readdirSync(join(root, "test"), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? (e.name === "cuda" ? [] : testSources(join(root, "test", e.name))) : e.name.endsWith(".ts") ? [readFileSync(join(root, "test", e.name), "utf8")] : []))
    .join("\n");
  const compute = ops.filter((op) => !runtimeApi.has(op));
  expect(compute.length).toBeGreaterThan(60);
  const untested = compute.flatMap((op) => [
    ...(cpu.includes(`"${op}"`) ? [] : [`${op} (cpu)`]),
    ...(cuda.includes(`"${op}"`) ? [] : [`${op} (cuda)`]),
  ]);
  expect(untested).toEqual([]);
});
