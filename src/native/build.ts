// Builds the native libraries on demand with CMake, so a clean clone needs no separate build step, and rebuilds
// a library whose sources are newer than it. DUSA_LIB_DIR points at prebuilt libraries (no build);
// DUSA_BUILD_DIR picks the build folder; DUSA_CMAKE_ARGS adds configure options (e.g. -DDUSA_USE_BLAS=OFF).
// The cuda library needs nvcc (PATH, $CUDACXX or /usr/local/cuda/bin); without it ensureLibrary("cuda") throws a
// BackendUnavailable, which device=auto takes as "use the CPU" (src/native/device.ts).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export type Backend = "cpu" | "cuda";
export const repoRoot = join(import.meta.dir, "..", "..");

export function buildDir(): string {
  return process.env.DUSA_BUILD_DIR ?? join(repoRoot, "build");
}

export function libraryPath(backend: Backend): string {
  return join(process.env.DUSA_LIB_DIR ?? buildDir(), `libdusa_${backend}.so`);
}

/** A backend that cannot be had on this machine (no CUDA toolkit to build it): device=auto falls back to the CPU. */
export class BackendUnavailable extends Error {
  /** `short`: the reason in a few words, for device=auto's one line */
  constructor(message: string, readonly short: string = message) {
    super(message);
    this.name = "BackendUnavailable";
  }
}

/** The CUDA compiler CMake would use: $CUDACXX, nvcc on PATH, or the toolkit's default place; null when none. */
export function findNvcc(): string | null {
  const env = process.env.CUDACXX;
  if (env && existsSync(env)) return env;
  const onPath = Bun.which("nvcc");
  if (onPath) return onPath;
  for (const dir of [process.env.CUDA_PATH, process.env.CUDA_HOME, "/usr/local/cuda"])
    if (dir && existsSync(join(dir, "bin", "nvcc"))) return join(dir, "bin", "nvcc");
  return null;
}

// The sources each library is built from: a CUDA kernel being edited does not make the CPU library stale.
const sourceDirs: Record<Backend, string[]> = { cpu: ["cuda/include", "cuda/common", "cuda/cpu"], cuda: ["cuda/include", "cuda/common", "cuda/gpu"] };

function newestSourceTime(backend: Backend): number {
  let newest = statSync(join(repoRoot, "CMakeLists.txt")).mtimeMs;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(c|cc|cpp|h|hpp|cu|cuh|txt|cmake)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of sourceDirs[backend]) if (existsSync(join(repoRoot, dir))) walk(join(repoRoot, dir));
  return newest;
}

export function isStale(backend: Backend): boolean {
  const lib = libraryPath(backend);
  return !existsSync(lib) || statSync(lib).mtimeMs < newestSourceTime(backend);
}

/** Whether the build folder's CMake cache found a CUDA compiler (check_language caches a miss for good). */
function cacheHasCuda(dir: string): boolean {
  const cache = join(dir, "CMakeCache.txt");
  if (!existsSync(cache)) return false;
  const line = readFileSync(cache, "utf8").match(/^CMAKE_CUDA_COMPILER:[A-Z]+=(.*)$/m)?.[1]?.trim();
  return Boolean(line) && !line!.endsWith("NOTFOUND");
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
  const nvcc = backend === "cuda" ? findNvcc() : null;
  if (backend === "cuda" && !nvcc)
    throw new BackendUnavailable(
      `dusa: cannot build the cuda backend (${lib}): nvcc, the CUDA toolkit's compiler, is not on PATH (nor $CUDACXX or /usr/local/cuda/bin); install the toolkit or use device=cpu`,
      "no nvcc to build the CUDA library",
    );
  const dir = buildDir();
  mkdirSync(dir, { recursive: true });
  withLock(dir, () => {
    if (!isStale(backend)) return;
    if (!options.quiet) console.error(`dusa: building the ${backend} library in ${dir} ...`);
    const extra = (process.env.DUSA_CMAKE_ARGS ?? "").split(/\s+/).filter(Boolean);
    // a folder configured before nvcc was there has cached the miss: point CMake at the compiler explicitly
    if (nvcc && !cacheHasCuda(dir)) extra.push(`-DCMAKE_CUDA_COMPILER=${nvcc}`);
    if (!existsSync(join(dir, "CMakeCache.txt")) || extra.length > 0)
      run(["cmake", "-S", repoRoot, "-B", dir, "-DCMAKE_BUILD_TYPE=Release", ...extra], "cmake configure");
    if (backend === "cuda" && !cacheHasCuda(dir))
      throw new BackendUnavailable(`dusa: cannot build the cuda backend: CMake in ${dir} did not accept the CUDA compiler ${nvcc}`, `CMake did not accept ${nvcc}`);
    run(["cmake", "--build", dir, "--target", `dusa_${backend}`, "-j", "2"], `building dusa_${backend}`);
  });
  if (!existsSync(lib)) throw new Error(`dusa: the build finished but ${lib} is missing`);
  return lib;
}
