import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeSafetensors, MAX_HEADER_BYTES, parseSafetensors, readSafetensors, writeSafetensors, writeSafetensorsSync } from "../../src/io/safetensors.ts";
import { checkpointError, expectSameValues, fixture, tempDir } from "./helpers.ts";

const dir = tempDir("safetensors");

// A safetensors file from a header (object or raw text) and data bytes; headerLength overrides the length field.
function build(header: unknown, data = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
const parseError = (bytes: Uint8Array) => checkpointError(() => parseSafetensors("bad.safetensors", bytes)).message;

describe("round trip", () => {
  test("F32 / I32 / F16 / BF16 / F64 / I64 / I16 / I8 / U8 / BOOL with metadata", async () => {
    const path = join(dir, "all.safetensors");
    const floats = new Float32Array([0, -0, 1.5, -2.25, 1024, Number.POSITIVE_INFINITY]);
    const ints = new Int32Array([0, -1, 7, 2147483647, -2147483648, 3]);
    await writeSafetensors(
      path,
      {
        f32: { shape: [2, 3], data: floats },
        f16: { shape: [6], data: floats, dtype: "F16" },
        bf16: { shape: [3, 2], data: floats, dtype: "BF16" },
        f64: { shape: [6], data: floats, dtype: "F64" },
        i32: { shape: [6], data: ints },
        i64: { shape: [2, 3], data: ints, dtype: "I64" },
        i16: { shape: [2], data: new Int32Array([-32768, 32767]), dtype: "I16" },
        i8: { shape: [2], data: new Int32Array([-128, 127]), dtype: "I8" },
        u8: { shape: [2], data: new Int32Array([0, 255]), dtype: "U8" },
        flags: { shape: [3], data: new Int32Array([1, 0, 1]), dtype: "BOOL" },
        scalar: { shape: [], data: new Float32Array([3]) },
        empty: { shape: [0, 4], data: new Float32Array(0) },
      },
      { scaling_factor: 0.18215, note: "tiny VAE" },
    );
    const file = readSafetensors(path);
    expect(file.metadata).toEqual({ scaling_factor: "0.18215", note: "tiny VAE" });
    expect([...file.tensors.keys()]).toEqual(["f32", "f16", "bf16", "f64", "i32", "i64", "i16", "i8", "u8", "flags", "scalar", "empty"]);
    for (const name of ["f32", "f16", "bf16", "f64"]) {
      expect(file.tensors.get(name)!.data).toBeInstanceOf(Float32Array);
      expectSameValues(name, file.tensors.get(name)!.data, floats);
    }
    expect(file.tensors.get("bf16")!.dtype).toBe("BF16");
    expect(file.tensors.get("bf16")!.shape).toEqual([3, 2]);
    expectSameValues("i32", file.tensors.get("i32")!.data, ints);
    expectSameValues("i64", file.tensors.get("i64")!.data, ints);
    expectSameValues("i16", file.tensors.get("i16")!.data, [-32768, 32767]);
    expectSameValues("i8", file.tensors.get("i8")!.data, [-128, 127]);
    expectSameValues("u8", file.tensors.get("u8")!.data, [0, 255]);
    expectSameValues("flags", file.tensors.get("flags")!.data, [1, 0, 1]);
    expect(file.tensors.get("scalar")!.shape).toEqual([]);
    expect(file.tensors.get("empty")!.data.length).toBe(0);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  test("a read tensor is written back in its stored dtype", () => {
    const read = readSafetensors(fixture("dtypes.safetensors")).tensors;
    const path = join(dir, "rewrite.safetensors");
    writeSafetensorsSync(path, read);
    const back = readSafetensors(path).tensors;
    expect([...back.keys()]).toEqual([...read.keys()]);
    for (const [name, t] of read) {
      expect(back.get(name)!.dtype).toBe(t.dtype);
      expect(back.get(name)!.shape).toEqual(t.shape);
      expectSameValues(name, back.get(name)!.data, t.data);
    }
  });

  test("encodeSafetensors matches writeSafetensors byte for byte; the data section starts 8-byte aligned", () => {
    const tensors = { "a.weight": { shape: [3], data: new Float32Array([1, 2, 3]) }, "é": { shape: [1], data: new Int32Array([4]) } };
    const path = join(dir, "encode.safetensors");
    writeSafetensorsSync(path, tensors, { k: "v" });
    const bytes = encodeSafetensors(tensors, { k: "v" });
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
  });

  test("F32 -> F16 / BF16 rounds exactly like torch .half() / .bfloat16() (ties to even, overflow, subnormals, NaN)", () => {
    const ref = readSafetensors(fixture("rounding.safetensors")).tensors;
    const x = ref.get("x")!.data as Float32Array;
    const bytes = encodeSafetensors({ x_f16: { shape: [x.length], data: x, dtype: "F16" }, x_bf16: { shape: [x.length], data: x, dtype: "BF16" } });
    const mine = parseSafetensors("mine", bytes).tensors;
    for (const name of ["x_f16", "x_bf16"]) {
      const got = mine.get(name)!.data, want = ref.get(name)!.data;
      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i])) expect(Number.isNaN(got[i])).toBe(true);
        else if (!Object.is(got[i], want[i])) expect(`${name}[${i}] from ${x[i]}: ${got[i]}`).toBe(`${name}[${i}] from ${x[i]}: ${want[i]}`);
      }
    }
  });

  test("writing out-of-range or mistyped data fails clearly", () => {
    expect(checkpointError(() => encodeSafetensors({ u: { shape: [1], data: new Int32Array([256]), dtype: "U8" } })).message).toContain("element 0 = 256 does not fit U8");
    expect(checkpointError(() => encodeSafetensors({ f: { shape: [1], data: new Int32Array([1]), dtype: "F16" } })).message).toContain("cannot store integer data as F16");
    expect(checkpointError(() => encodeSafetensors({ f: { shape: [2, 2], data: new Float32Array(3) } })).message).toContain("shape [2,2] does not match its 3 elements");
  });

  test("a failed write leaves neither a partial file nor a temporary", () => {
    const path = join(dir, "failed.safetensors");
    expect(checkpointError(() => writeSafetensorsSync(path, { a: { shape: [1], data: new Float32Array([1]) }, b: { shape: [1], data: new Int32Array([300]), dtype: "U8" } })).file).toBe(path);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith("failed"))).toEqual([]);
  });
});

describe("reading", () => {
  test("aligned F32 tensors are zero-copy views of one mapping of the file", () => {
    const path = fixture("vae_encoder.safetensors");
    const tensors = [...readSafetensors(path).tensors.values()];
    const buffer = tensors[0].data.buffer;
    expect(buffer.byteLength).toBe(readFileSync(path).length);
    for (const t of tensors) expect(t.data.buffer).toBe(buffer);
  });

  test("without mmap the file is read and decodes the same", () => {
    const mapped = readSafetensors(fixture("dtypes.safetensors")).tensors;
    const read = readSafetensors(fixture("dtypes.safetensors"), { mmap: false }).tensors;
    for (const [name, t] of mapped) expectSameValues(name, read.get(name)!.data, t.data);
  });

  test("F32 data at an unaligned offset is copied, not misread", () => {
    const header = '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}';
    const data = new Uint8Array(9);
    data.set(f32([1.25, -3]), 1);
    const b = parseSafetensors("unaligned", build(header, data)).tensors.get("b")!;
    expectSameValues("b", b.data, [1.25, -3]);
  });

  test("existing golden fixtures still read (test/golden/data)", () => {
    const golden = join(import.meta.dir, "..", "golden", "data");
    for (const name of readdirSync(golden).filter((f) => f.endsWith(".safetensors")))
      for (const t of readSafetensors(join(golden, name)).tensors.values()) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
  });
});

describe("bad files", () => {
  const good = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } };
  const data = f32([1, 2, 3]);

  test("missing, empty, a directory", () => {
    expect(checkpointError(() => readSafetensors(join(dir, "nope.safetensors"))).message).toContain("nope.safetensors: no such file");
    writeFileSync(join(dir, "empty.safetensors"), "");
    expect(checkpointError(() => readSafetensors(join(dir, "empty.safetensors"))).message).toContain("empty file");
    expect(checkpointError(() => readSafetensors(dir)).message).toContain("not a regular file");
  });

  test("truncated anywhere: each cut names the file and what is missing", () => {
    const bytes = build(good, data);
    for (let cut = 1; cut < bytes.length; cut++) {
      const path = join(dir, `cut${cut}.safetensors`);
      writeFileSync(path, bytes.subarray(0, cut));
      const e = checkpointError(() => readSafetensors(path));
      expect(e.file).toBe(path);
      expect(e.message).toMatch(/truncated/);
    }
  });

  test("truncated in the data section names the tensor", () => {
    expect(parseError(build(good, data).subarray(0, -2))).toContain("truncated: tensor 'b' ends at byte 12 of the data section, which has 10 bytes");
  });

  test("header", () => {
    expect(parseError(build("{not json", data))).toContain("header is not valid JSON");
    expect(parseError(build('["a"]', data))).toContain("header is not valid JSON"); // must start with {
    expect(parseError(build("{}", data, 1n << 40n))).toContain(`header length ${1n << 40n} exceeds the ${MAX_HEADER_BYTES / 1e6} MB limit`);
    expect(parseError(build("{}", data, 1000n))).toContain("truncated: the header needs 1008 bytes, the file has");
    expect(parseError(build("null   ", data))).toContain("header is not valid JSON");
    const invalidUtf8 = build('{"a":1}');
    invalidUtf8[10] = 0xff;
    expect(parseError(invalidUtf8)).toContain("header is not valid JSON");
    expect(parseError(build({ __metadata__: { k: 1 } }))).toContain("__metadata__ must map strings to strings");
  });

  test("entries", () => {
    const one = (entry: unknown, bytes = data) => parseError(build({ t: entry }, bytes));
    expect(one("x")).toContain("tensor 't': header entry is not an object");
    expect(one({ dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] })).toContain("tensor 't': unsupported dtype \"F8_E4M3\"");
    expect(one({ dtype: "F32", shape: 3, data_offsets: [0, 12] })).toContain("tensor 't': shape 3 is not an array");
    expect(one({ dtype: "F32", shape: [-3], data_offsets: [0, 12] })).toContain("tensor 't': shape [-3] must hold non-negative integers");
    expect(one({ dtype: "F32", shape: [1.5], data_offsets: [0, 12] })).toContain("must hold non-negative integers");
    expect(one({ dtype: "F32", shape: [3], data_offsets: [12, 0] })).toContain("data_offsets [12,0] must be [begin, end]");
    expect(one({ dtype: "F32", shape: [3], data_offsets: [0] })).toContain("data_offsets [0] must be [begin, end]");
    expect(one({ dtype: "F32", shape: [2], data_offsets: [0, 12] })).toContain("tensor 't': shape [2] of F32 needs 8 bytes, data_offsets [0, 12] give 12");
  });

  test("overlapping, gapped, out-of-order and trailing data", () => {
    const overlap = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } };
    expect(parseError(build(overlap, data))).toContain("tensors 'a' [0, 8) and 'b' [4, 12) overlap");
    const same = { a: { dtype: "F32", shape: [3], data_offsets: [0, 12] }, b: { dtype: "F32", shape: [3], data_offsets: [0, 12] } };
    expect(parseError(build(same, data))).toContain("overlap");
    const gap = { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } };
    expect(parseError(build(gap, data))).toContain("data bytes [4, 8) before tensor 'b' belong to no tensor");
    expect(parseError(build({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, data))).toContain("4 bytes after the last tensor belong to no tensor");
    const reversed = { b: { dtype: "F32", shape: [1], data_offsets: [8, 12] }, a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
    expect([...parseSafetensors("ok", build(reversed, data)).tensors.keys()]).toEqual(["a", "b"]); // listed in file order
  });

  test("a PyTorch zip is recognised", () => {
    expect(checkpointError(() => readSafetensors(fixture("raw_state_dict.pt"))).message).toContain("is a PyTorch zip checkpoint, not safetensors");
  });
});
