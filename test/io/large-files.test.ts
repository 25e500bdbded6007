import { describe, expect, test } from "bun:test";
import { closeSync, ftruncateSync, openSync, statSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { readSafetensors } from "../../src/io/safetensors.ts";
import { readTorchCheckpoint } from "../../src/io/torch-checkpoint.ts";
import { expectSameTensor, fixture, reference, tempDir } from "./helpers.ts";

const dir = tempDir("large");

describe("files read range by range (as files over 4 GiB are)", () => {
  test("torch checkpoints, zip64 included, read the same as whole-file mapping", () => {
    for (const name of ["raw_state_dict", "dtypes", "train_checkpoint"]) {
      const ranged = readTorchCheckpoint(fixture(`${name}.pt`), { mapWhole: false }).tensors;
      const ref = reference(name);
      for (const [key, t] of ranged) expectSameTensor(key, t, ref.get(`${key}::f32`) ?? ref.get(key));
    }
    const zip64 = readTorchCheckpoint(fixture("raw_state_dict_zip64.pt"), { mapWhole: false, mmap: false }).tensors;
    for (const [key, t] of zip64) expectSameTensor(key, t, reference("raw_state_dict").get(key));
  });

  test("safetensors", () => {
    const ranged = readSafetensors(fixture("vae_encoder.safetensors"), { mapWhole: false }).tensors;
    for (const [key, t] of readSafetensors(fixture("vae_encoder.safetensors")).tensors) expectSameTensor(key, ranged.get(key), t);
  });
});

// A sparse 4.4 GB safetensors file (two 2.2 GB tensors, then a small one): nothing is written but the header and a
// few values, and only the pages read are touched.
const roomForSparseFile = (() => {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize > 1e9;
  } catch {
    return false;
  }
})();

test.skipIf(!roomForSparseFile)("a 4.4 GB safetensors file: tensors past 4 GiB are mapped on their own", () => {
  const path = join(dir, "sparse.safetensors");
  const big = 550_000_000, bigBytes = big * 4;
  const header = JSON.stringify({
    __metadata__: { note: "sparse" },
    a: { dtype: "F32", shape: [big], data_offsets: [0, bigBytes] },
    b: { dtype: "F32", shape: [1000, big / 1000], data_offsets: [bigBytes, 2 * bigBytes] },
    after: { dtype: "F32", shape: [3], data_offsets: [2 * bigBytes, 2 * bigBytes + 12] },
  }).padEnd(256, " ");
  const head = new Uint8Array(8 + header.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(header.length), true);
  head.set(new TextEncoder().encode(header), 8);
  const dataStart = head.length;
  const fd = openSync(path, "w");
  try {
    writeSync(fd, head, 0, head.length, 0);
    ftruncateSync(fd, dataStart + 2 * bigBytes + 12);
    writeSync(fd, new Uint8Array(new Float32Array([7, 8]).buffer), 0, 8, dataStart + bigBytes - 8); // end of a
    writeSync(fd, new Uint8Array(new Float32Array([-1]).buffer), 0, 4, dataStart + bigBytes); // start of b
    writeSync(fd, new Uint8Array(new Float32Array([1, 2, 3]).buffer), 0, 12, dataStart + 2 * bigBytes);
  } finally {
    closeSync(fd);
  }
  expect(statSync(path).size).toBeGreaterThan(2 ** 32);
  const c = loadCheckpoint(path);
  expect(c.metadata.note).toBe("sparse");
  expect(Array.from(c.tensors.get("after")!.data)).toEqual([1, 2, 3]);
  const a = c.tensors.get("a")!.data, b = c.tensors.get("b")!.data;
  expect(Array.from(a.subarray(a.length - 3))).toEqual([0, 7, 8]);
  expect(b[0]).toBe(-1);
  expect(c.tensors.get("b")!.shape).toEqual([1000, 550000]);
});
