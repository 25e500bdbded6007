// Backend selection: the one place a run, a CLI or a benchmark gets its Context from a `device` setting.
//   cpu   the CPU backend.
//   cuda  the CUDA backend (libdusa_cuda.so, built on demand); anything in the way is an error that says why:
//         no nvcc to build it, a build failure, or dusa_ctx_create's own message (no GPU, no driver, bad device).
//   auto  cuda when the library can be built/opened and dusa_ctx_create("cuda") succeeds, else cpu; one line says
//         which was picked and, for cpu, why. Without an NVIDIA driver on the machine the CUDA library is not even
//         built (building it takes minutes and could only end in "no device").
import { existsSync } from "node:fs";
import { BackendUnavailable, isStale } from "./build.ts";
import { Context } from "./context.ts";
import { DusaError } from "./errors.ts";

export type Device = "auto" | "cpu" | "cuda";
export const DEVICES: readonly Device[] = ["auto", "cpu", "cuda"];

export type OpenOptions = {
  /** the CUDA device index (cuda and auto); default 0 */
  index?: number;
  /** where the "device: ..." line goes (auto, or cuda when picked); null = nowhere. Default: stderr. */
  log?: ((line: string) => void) | null;
};

/** Files an NVIDIA driver puts on a machine (Linux, containers with a GPU passed through, WSL). */
const driverFiles = ["/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia/version", "/dev/dxg"];

/**
 * Null when the machine shows an NVIDIA driver, else why not (the cheap check before building anything).
 * DUSA_ASSUME_GPU=1 skips it (a driver in a place not listed, or testing the paths after it).
 */
export function noDriverReason(): string | null {
  if (process.env.DUSA_ASSUME_GPU === "1") return null;
  return driverFiles.some((f) => existsSync(f)) ? null : "no NVIDIA driver on this machine: /dev/nvidiactl is missing";
}

export type CudaAttempt = { ctx: Context; reason?: undefined } | { ctx: null; reason: string; error: unknown };

/**
 * A CUDA context, or why there is none: the library cannot be built (no nvcc: BackendUnavailable) or opened, or
 * dusa_ctx_create fails (its message). `probeDriver` first skips all of that when no NVIDIA driver is present and
 * the library would have to be built.
 */
export function tryCudaContext(options: { index?: number; probeDriver?: boolean } = {}): CudaAttempt {
  if (options.probeDriver && isStale("cuda") && !process.env.DUSA_LIB_DIR) {
    const reason = noDriverReason();
    if (reason) return { ctx: null, reason, error: new BackendUnavailable(reason) };
  }
  try {
    return { ctx: Context.create("cuda", options.index ?? 0) };
  } catch (error) {
    return { ctx: null, reason: error instanceof BackendUnavailable ? error.short : firstLine(error), error };
  }
}

function firstLine(error: unknown): string {
  if (error instanceof DusaError) return error.detail; // e.g. "dusa_ctx_create: no usable CUDA device: ..."
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0].replace(/^dusa: /, "");
}

/** A short description of the context's device, for logs and the run profile. */
export function describeDevice(ctx: Context): string {
  return ctx.backend === "cuda" ? `cuda:${ctx.device}` : `cpu (${ctx.threads} threads)`;
}

/**
 * The context for a `device` setting; threads > 0 sets the CPU thread count (the CUDA backend accepts and ignores it).
 * device=cuda throws an Error naming the cause (the DusaError or build error is its `cause`).
 */
export function openContext(device: Device, threads = 0, options: OpenOptions = {}): Context {
  const log = options.log === undefined ? (line: string) => console.error(line) : options.log;
  let ctx: Context;
  if (device === "cpu") ctx = Context.create("cpu");
  else if (device === "cuda") {
    const attempt = tryCudaContext({ index: options.index });
    if (!attempt.ctx) {
      const message = attempt.error instanceof Error ? attempt.error.message : String(attempt.error);
      throw new Error(`device=cuda: the CUDA backend is not usable here: ${message.replace(/^dusa: /, "")}\n(use device=cpu, or device=auto to fall back to the CPU)`, { cause: attempt.error });
    }
    ctx = attempt.ctx;
    log?.(`device: cuda:${ctx.device}`);
  } else if (device === "auto") {
    const attempt = tryCudaContext({ index: options.index, probeDriver: true });
    if (attempt.ctx) {
      ctx = attempt.ctx;
      log?.(`device: cuda:${ctx.device} (auto)`);
    } else {
      ctx = Context.create("cpu");
      log?.(`device: cpu (auto: ${attempt.error instanceof BackendUnavailable ? "no CUDA — " : "CUDA unusable — "}${attempt.reason})`);
    }
  } else throw new Error(`device: expected one of ${DEVICES.join(", ")}, got '${device}'`);
  if (threads > 0) ctx.threads = threads;
  return ctx;
}

/** Parses a --device option of a CLI (default auto). */
export function parseDevice(value: string | undefined, fallback: Device = "auto"): Device {
  if (value === undefined) return fallback;
  if (!(DEVICES as readonly string[]).includes(value)) throw new Error(`--device must be one of ${DEVICES.join(", ")}, got '${value}'`);
  return value as Device;
}
