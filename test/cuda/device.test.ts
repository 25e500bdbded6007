// Backend selection (src/native/device.ts), on any machine: device=cpu is the CPU; device=auto says which backend
// it picked (and why not CUDA) and gives that backend; without an NVIDIA driver auto builds nothing for CUDA; a bad
// device name is an error. (device=cuda itself is tested where a GPU is: test/cuda/runtime.test.ts.)
import { expect, test } from "bun:test";
import { Context, openContext, parseDevice } from "../../src/native/index.ts";
import { noDriverReason } from "../../src/native/device.ts";
import { libraryPath } from "../../src/native/build.ts";
import { existsSync } from "node:fs";

test("device=cpu opens the CPU backend and sets the threads", () => {
  const lines: string[] = [];
  const ctx = openContext("cpu", 1, { log: (l) => lines.push(l) });
  expect(ctx.backend).toBe("cpu");
  expect(ctx.threads).toBe(1);
  ctx.destroy();
});

test("device=auto picks a backend and says which", () => {
  const lines: string[] = [];
  const hadCuda = existsSync(libraryPath("cuda"));
  const ctx = openContext("auto", 0, { log: (l) => lines.push(l) });
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(new RegExp(`^device: ${ctx.backend}`));
  if (ctx.backend === "cpu") expect(lines[0]).toMatch(/^device: cpu \(auto: (no CUDA|CUDA unusable) — .+\)$/);
  // no driver: CUDA is not even built (minutes of nvcc for a library that could only say "no device")
  if (noDriverReason() && !process.env.DUSA_LIB_DIR) {
    expect(ctx.backend).toBe("cpu");
    expect(existsSync(libraryPath("cuda"))).toBe(hadCuda);
  }
  ctx.destroy();
});

test("bad device and backend names are errors", () => {
  expect(() => parseDevice("tpu")).toThrow(/--device must be one of auto, cpu, cuda, got 'tpu'/);
  expect(parseDevice(undefined)).toBe("auto");
  expect(parseDevice(undefined, "cpu")).toBe("cpu");
  expect(() => openContext("tpu" as never)).toThrow(/device: expected one of auto, cpu, cuda/);
  expect(() => Context.create("tpu" as never)).toThrow(/unknown backend 'tpu'/);
});
