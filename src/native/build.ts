// Builds the native libraries on demand with CMake, so a clean clone needs no separate build step, and rebuilds
// a library whose sources are newer than it. DUSA_LIB_DIR points at prebuilt libraries (no build);
// DUSA_BUILD_DIR picks the build folder; DUSA_CMAKE_ARGS adds configure options (e.g. -DDUSA_USE_BLAS=OFF).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export type Backend = "cpu" | "cuda";
export const repoRoot = join(import.meta.dir, "..", "..");

export function buildDir(): string {
  return process.env.DUSA_BUILD_DIR ?? join(repoRoot, "build");
}

export function libraryPath(backend: Backend): string {
  return join(process.env.DUSA_LIB_DIR ?? buildDir(), `libdusa_${backend}.so`);
}

function newestSourceTime(): number {
  let newest = statSync(join(repoRoot, "CMakeLists.txt")).mtimeMs;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(c|cc|cpp|h|hpp|cu|cuh|txt|cmake)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(repoRoot, "cuda"));
  return newest;
}

export function isStale(backend: Backend): boolean {
  const lib = libraryPath(backend);
  return !existsSync(lib) || statSync(lib).mtimeMs < newestSourceTime();
}

function run(cmd: string[], what: string): void {
  const proc = Bun.spawnSync(cmd, { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) {
    const output = (proc.stdout.toString() + proc.stderr.toString()).split("\n").slice(-40).join("\n");
    throw new Error(`dusa: ${what} failed (${cmd.join(" ")}):\n${output}`);
  }
}

// A directory as a lock: mkdir is atomic; a lock older than 15 minutes is taken to be left by a dead build.
function withLock<T>(dir: string, fn: () => T): T {
  const lock = join(dir, ".build-lock");
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`dusa: timed out waiting for the build lock ${lock}`);
      Bun.sleepSync(250);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function ensureLibrary(backend: Backend, options: { quiet?: boolean } = {}): string {
  const lib = libraryPath(backend);
  if (process.env.DUSA_LIB_DIR) {
    if (!existsSync(lib)) throw new Error(`dusa: DUSA_LIB_DIR is set but ${lib} does not exist`);
    return lib;
  }
  if (!isStale(backend)) return lib;
  const dir = buildDir();
  mkdirSync(dir, { recursive: true });
  withLock(dir, () => {
    if (!isStale(backend)) return;
    if (!options.quiet) console.error(`dusa: building the ${backend} library in ${dir} ...`);
    const extra = (process.env.DUSA_CMAKE_ARGS ?? "").split(/\s+/).filter(Boolean);
    if (!existsSync(join(dir, "CMakeCache.txt")) || extra.length > 0)
      run(["cmake", "-S", repoRoot, "-B", dir, "-DCMAKE_BUILD_TYPE=Release", ...extra], "cmake configure");
    run(["cmake", "--build", dir, "--target", `dusa_${backend}`, "-j", "2"], `building dusa_${backend}`);
  });
  if (!existsSync(lib)) throw new Error(`dusa: the build finished but ${lib} is missing`);
  return lib;
}
