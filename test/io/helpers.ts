import { expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";
import { CheckpointError } from "../../src/io/checkpoint-error.ts";
import { readSafetensors } from "../../src/io/safetensors.ts";
import type { StoredTensor } from "../../src/io/tensor.ts";

// Written by test/golden/make_checkpoints.py (PyTorch 1.13).
export const FIXTURES = join(import.meta.dir, "..", "fixtures", "checkpoints");
export const fixture = (name: string): string => join(FIXTURES, name);

// <name>.safetensors: the same tensors as <name>.pt, contiguous, in their own dtype, plus "<key>::f32" upcasts by torch.
export const reference = (name: string): Map<string, StoredTensor> => readSafetensors(fixture(`${name}.safetensors`)).tensors;

// A temporary folder removed after the test file.
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `dusa-io-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Writes the first `length` bytes of a fixture to `dir` and returns the path.
export function truncatedCopy(dir: string, name: string, length: number): string {
  const path = join(dir, `${name}.cut${length}`);
  writeFileSync(path, readFileSync(fixture(name)).subarray(0, length));
  return path;
}

// Bitwise equality of values (NaN equals NaN, -0 differs from 0), with the first difference in the failure.
export function expectSameValues(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) expect(`${name}[${i}] = ${got[i]}`).toBe(`${name}[${i}] = ${want[i]}`);
}

export function expectSameTensor(name: string, got: StoredTensor | undefined, want: StoredTensor | undefined): void {
  expect(got, `${name} present`).toBeDefined();
  expect(want, `${name} in reference`).toBeDefined();
  expect(got!.shape, `${name}: shape`).toEqual(want!.shape);
  expectSameValues(name, got!.data, want!.data);
}

// Runs fn and returns the CheckpointError it throws (failing if it throws anything else or nothing).
export function checkpointError(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CheckpointError) return e;
    throw new Error(`expected a CheckpointError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error("expected a CheckpointError, nothing was thrown");
}
