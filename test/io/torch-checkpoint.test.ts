import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CheckpointError } from "../../src/io/checkpoint-error.ts";
import { TorchStorage, TorchStorageType, TorchTensorRef } from "../../src/io/pickle-globals.ts";
import { parseTorchCheckpoint, readTorchCheckpoint, storedTensorOf } from "../../src/io/torch-checkpoint.ts";
import { checkpointError, expectSameTensor, expectSameValues, fixture, reference, tempDir, truncatedCopy } from "./helpers.ts";

const dir = tempDir("torch");

// Every tensor of <name>.pt against <name>.safetensors (torch's contiguous copies); reduced-precision dtypes
// against torch's own float32 upcast.
function expectMatchesReference(name: string, file = `${name}.pt`): void {
  const tensors = readTorchCheckpoint(fixture(file)).tensors;
  const ref = reference(name);
  expect([...tensors.keys()]).toEqual([...ref.keys()].filter((k) => !k.endsWith("::f32")));
  for (const [key, t] of tensors) {
    expect(t.dtype, key).toBe(ref.get(key)!.dtype);
    expectSameTensor(key, t, ref.get(`${key}::f32`) ?? ref.get(key));
  }
}

describe("values match torch exactly", () => {
  test("raw state dict: contiguous, transposed, offset, strided, channels-last, expanded, 0-d, empty, Parameter", () => {
    expectMatchesReference("raw_state_dict");
    const t = readTorchCheckpoint(fixture("raw_state_dict.pt")).tensors;
    expect(t.get("linear.weight_t")!.shape).toEqual([4, 3]);
    expect(t.get("flat_slice")!.shape).toEqual([4]);
    expect(t.get("expanded")!.shape).toEqual([2, 3]);
    expect(t.get("scale")!.shape).toEqual([]);
    expect(t.get("empty")!.shape).toEqual([0, 3]);
    expect(t.get("conv.weight")!.shape).toEqual([2, 3, 2, 2]);
  });

  test("zip64 and deflated archives of the same state dict", () => {
    expectMatchesReference("raw_state_dict", "raw_state_dict_zip64.pt");
    expectMatchesReference("raw_state_dict", "raw_state_dict_deflated.pt");
  });

  test("F16 (inf, -0, subnormal), BF16, F64, I64, I32, U8, bool, contiguous and transposed", () => {
    expectMatchesReference("dtypes");
    const t = readTorchCheckpoint(fixture("dtypes.pt")).tensors;
    expect(t.get("f16")!.data).toBeInstanceOf(Float32Array);
    expect(t.get("i64")!.data).toBeInstanceOf(Int32Array);
    expectSameValues("i64", t.get("i64")!.data, [0, -1, 2 ** 31 - 1, -(2 ** 31), 7, 123456789]);
    expectSameValues("flags", t.get("flags")!.data, [1, 0, 1]);
  });

  test("a train checkpoint lists every tensor of every nested dict under its dotted path", () => {
    expectMatchesReference("train_checkpoint");
    const { tensors, extra } = readTorchCheckpoint(fixture("train_checkpoint.pt"));
    expect(tensors.has("ema.blocks.0.attn.qkv.weight")).toBe(true);
    expect(tensors.has("opt.state.1.exp_avg")).toBe(true);
    expect(extra.steps).toBe(3);
    expect(extra.args).toEqual({ model: "SiT-XL/2", encoder_depth: 8, proj_coeff: 0.5, enc_type: "dinov2-vit-b", z_dims: [5], learning_rate: 1e-4, adam_betas: [0.9, 0.999], qk_norm: false, output_dir: null });
    expect(extra.metrics).toEqual({ best_loss: 0.125, seen: 96 });
    expect(extra.model).toBeUndefined(); // only tensors: left out of extra
    expect((extra.opt as { param_groups: { lr: number }[] }).param_groups[0].lr).toBe(1e-4);
  });
});

describe("memory", () => {
  test("contiguous F32 tensors are views of the mapped file; views of one storage share its bytes", () => {
    const path = fixture("raw_state_dict.pt");
    const t = readTorchCheckpoint(path).tensors;
    const weight = t.get("linear.weight")!.data, slice = t.get("flat_slice")!.data;
    expect(weight.buffer.byteLength).toBe(readFileSync(path).length);
    expect(slice.buffer).toBe(weight.buffer);
    expect(slice.byteOffset).toBe(weight.byteOffset + 5 * 4);
    expect(t.get("linear.weight_t")!.data.buffer).not.toBe(weight.buffer); // made contiguous: a copy
  });

  test("tensors are decoded once, on first access", () => {
    const t = readTorchCheckpoint(fixture("dtypes.pt")).tensors.get("bf16")!;
    expect(t.data).toBe(t.data);
  });
});

describe("bad checkpoints", () => {
  test("a pickle with a code global is refused, naming the global", () => {
    const e = checkpointError(() => readTorchCheckpoint(fixture("malicious.pt")));
    expect(e.message).toBe(`${fixture("malicious.pt")}: refusing pickle global 'posix.system' (only state-dict pickles are read; found in malicious/data.pkl at byte 183)`);
  });

  test("an int64 tensor outside int32 fails when read, naming the tensor", () => {
    const t = readTorchCheckpoint(fixture("int64_overflow.pt")).tensors;
    expectSameValues("ok", t.get("ok")!.data, [1, 1]);
    expect(checkpointError(() => t.get("counter")!.data).message).toBe(`${fixture("int64_overflow.pt")}: tensor 'counter': I64 element 1 = 1099511627776 does not fit in int32`);
  });

  test("the legacy pre-1.6 format is recognised and refused", () => {
    expect(checkpointError(() => readTorchCheckpoint(fixture("legacy_format.pt"))).message).toContain("is a legacy (PyTorch < 1.6, non-zip) checkpoint, which is not supported");
  });

  test("truncated copies (files written at run time) fail with a CheckpointError", () => {
    for (const name of ["raw_state_dict.pt", "train_checkpoint.pt", "dtypes.pt", "convnext_fb.pth", "raw_state_dict_zip64.pt"]) {
      const size = readFileSync(fixture(name)).length;
      for (const length of [1, 4, 30, 100, Math.floor(size / 3), Math.floor(size / 2), size - 100, size - 23, size - 1]) {
        const path = truncatedCopy(dir, name, length);
        const e = checkpointError(() => readTorchCheckpoint(path));
        expect(e.file).toBe(path);
        expect(e.message).toMatch(/truncated|not a PyTorch zip|corrupt zip/);
      }
    }
  });

  test("every truncation in memory fails with a CheckpointError", () => {
    const bytes = new Uint8Array(readFileSync(fixture("raw_state_dict.pt")));
    for (let cut = 0; cut < bytes.length; cut++) checkpointError(() => parseTorchCheckpoint("cut.pt", bytes.subarray(0, cut)));
  });

  test("random corruption never escapes as anything but a CheckpointError", () => {
    const original = new Uint8Array(readFileSync(fixture("raw_state_dict.pt")));
    let state = 2026;
    const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 2000; trial++) {
      const bytes = original.slice();
      for (let k = 0; k < 1 + (trial % 3); k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      try {
        for (const t of parseTorchCheckpoint("fuzz.pt", bytes).tensors.values()) void t.data;
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
      }
    }
  });

  // Renames a zip entry in place (same length) in the central directory and local header.
  function renameEntry(bytes: Uint8Array, from: string, to: string): Uint8Array {
    const out = bytes.slice(), a = new TextEncoder().encode(from), b = new TextEncoder().encode(to);
    for (let i = 0; i + a.length <= out.length; i++) if (a.every((v, k) => out[i + k] === v)) out.set(b, i);
    return out;
  }

  test("a missing storage, a TorchScript archive, a zip that is no checkpoint", () => {
    const bytes = new Uint8Array(readFileSync(fixture("raw_state_dict.pt")));
    expect(checkpointError(() => parseTorchCheckpoint("x.pt", renameEntry(bytes, "raw_state_dict/data/0", "raw_state_dict/data/Z"))).message).toContain(
      "storage '0' is missing (no raw_state_dict/data/0 in the archive)",
    );
    const script = renameEntry(renameEntry(bytes, "raw_state_dict/data.pkl", "raw_state_dict/datx.pkl"), "raw_state_dict/version", "raw_state_dict/code/ve");
    expect(checkpointError(() => parseTorchCheckpoint("x.pt", script)).message).toContain("is a TorchScript archive");
    expect(checkpointError(() => parseTorchCheckpoint("x.pt", renameEntry(bytes, "raw_state_dict/data.pkl", "raw_state_dict/datx.pkl"))).message).toContain("without a data.pkl entry");
  });

  test("a view reaching past its storage", () => {
    const storage = new TorchStorage(new TorchStorageType("torch.FloatStorage", "F32") as TorchStorageType & { dtype: "F32" }, "0", 6, () => new Uint8Array(24));
    expect(storedTensorOf("x.pt", "w", new TorchTensorRef(storage, 0, [2, 3], [3, 1])).shape).toEqual([2, 3]);
    expect(checkpointError(() => storedTensorOf("x.pt", "w", new TorchTensorRef(storage, 1, [2, 3], [3, 1]))).message).toBe(
      "x.pt: tensor 'w': view (offset 1, shape [2, 3], stride [3, 1]) reaches element 6 of a 6-element storage",
    );
  });
});
