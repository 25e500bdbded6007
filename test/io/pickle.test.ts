import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CheckpointError } from "../../src/io/checkpoint-error.ts";
import { unpickle, type PyValue } from "../../src/io/pickle.ts";
import { PyRecord, resolveStateDictGlobal } from "../../src/io/pickle-globals.ts";
import { checkpointError, fixture } from "./helpers.ts";

const read = (bytes: Uint8Array, persistentLoad?: (pid: PyValue) => PyValue): PyValue =>
  unpickle(bytes, { file: "test.pkl", where: "data.pkl", resolveGlobal: resolveStateDictGlobal, persistentLoad });

// Pickle bytes from opcode strings (UTF-8) and raw byte arrays.
const bytesOf = (...parts: (string | number[])[]): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...new TextEncoder().encode(p)] : p)));

const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const unicode = (s: string) => ["X", u32(new TextEncoder().encode(s).length), s] as const;
const refusal = (bytes: Uint8Array) => checkpointError(() => read(bytes)).message;

describe("plain pickles of protocols 2-5 (written by python's pickle)", () => {
  for (const protocol of [2, 3, 4, 5])
    test(`protocol ${protocol}`, () => {
      const value = read(readFileSync(fixture(`pickles/plain_p${protocol}.pkl`))) as Map<string, PyValue>;
      expect(value).toBeInstanceOf(Map);
      const get = (k: string) => value.get(k);
      expect(get("int")).toBe(5);
      expect(get("neg")).toBe(-300);
      expect(get("i2")).toBe(40000);
      expect(get("i4")).toBe(-(2 ** 31));
      expect(get("big")).toBe(2n ** 70n);
      expect(get("negbig")).toBe(-(2n ** 65n));
      expect(get("float")).toBe(1.5);
      expect(get("str")).toBe("h\u00e9llo \u2713");
      expect(get("long_str")).toBe("x".repeat(300));
      expect(get("bytes")).toEqual(new Uint8Array([0, 255]));
      expect(get("none")).toBeNull();
      expect(get("t")).toBe(true);
      expect(get("f")).toBe(false);
      expect(get("tuple0")).toEqual([]);
      expect(get("tuple1")).toEqual([1]);
      expect(get("tuple3")).toEqual([1, 2, 3]);
      expect(get("tuple5")).toEqual([1, 2, 3, 4, 5]);
      expect(get("list")).toEqual([1, [2, 3]]);
      expect(get("dict")).toEqual(new Map<PyValue, PyValue>([[1, "a"], ["b", 2]]) as never);
      expect(get("od")).toEqual(new Map([["a", 1]]));
      expect(get("set")).toEqual([3]);
      expect(get("shared")).toEqual([1, 2]);
      expect(get("shared2")).toBe(get("shared")!); // one object, through the memo
      expect(get("empty_list")).toEqual([]);
      expect(((get("nested") as Map<string, Map<string, Map<string, PyValue>>>).get("a")!.get("b")!.get("c"))).toEqual([null]);
    });
});

describe("code is never run: globals outside the allow-list are refused", () => {
  test("GLOBAL os.system (protocol 2)", () => {
    const exploit = bytesOf([0x80, 2], "cos\nsystem\n", ...unicode("echo pwned"), [0x85], "R.");
    expect(refusal(exploit)).toBe("test.pkl: refusing pickle global 'os.system' (only state-dict pickles are read; found in data.pkl at byte 2)");
  });

  test("STACK_GLOBAL builtins.eval (protocol 4)", () => {
    const exploit = bytesOf([0x80, 4, 0x8c, 8], "builtins", [0x8c, 4], "eval", [0x93], ...unicode("1"), [0x85], "R.");
    expect(refusal(exploit)).toContain("refusing pickle global 'builtins.eval'");
  });

  test("python 2 module names are normalised before the check", () => {
    expect(refusal(bytesOf([0x80, 2], "c__builtin__\ngetattr\n."))).toContain("refusing pickle global 'builtins.getattr'");
  });

  test("lookalikes of allowed globals", () => {
    for (const [module, name] of [
      ["torch", "load"],
      ["torch.serialization", "load"],
      ["torch._utils", "_rebuild_device_tensor_from_numpy"],
      ["collections", "namedtuple"],
      ["numpy", "load"],
      ["numpy.core.multiarray", "_reconstruct"],
      ["argparse", "ArgumentParser"],
      ["subprocess", "Popen"],
      ["posix", "system"],
      ["torch", "constructor"], // names of Object.prototype members are not allow-list entries
      ["torch", "__proto__"],
      ["constructor", "name"],
    ])
      expect(refusal(bytesOf([0x80, 2], `c${module}\n${name}\n.`))).toContain(`refusing pickle global '${module}.${name}'`);
  });

  test("INST / OBJ, extension codes and out-of-band buffers are refused", () => {
    expect(refusal(bytesOf("(ios\nsystem\n."))).toContain("opcode INST (protocol 0/1 object construction) is not supported");
    expect(refusal(bytesOf("(o."))).toContain("opcode OBJ");
    expect(refusal(bytesOf([0x80, 2, 0x82, 1], "."))).toContain("EXT1/2/4");
    expect(refusal(bytesOf([0x80, 5, 0x97], "."))).toContain("out-of-band buffers");
  });

  test("REDUCE only applies allowed callables", () => {
    expect(refusal(bytesOf([0x80, 2], ...unicode("os.system"), ")R."))).toContain("REDUCE on string os.system, which is not an allowed callable");
    expect(refusal(bytesOf([0x80, 2], "ctorch\nfloat16\n)R."))).toContain("REDUCE on torch.float16, which is not an allowed callable");
  });
});

describe("allowed globals build inert values", () => {
  test("argparse.Namespace -> a record of its attributes", () => {
    const ns = read(bytesOf([0x80, 2], "cargparse\nNamespace\n)", [0x81], "}(", ...unicode("lr"), "G", [0x3f, 0x1a, 0x36, 0xe2, 0xeb, 0x1c, 0x43, 0x2d], "ub."));
    expect(ns).toBeInstanceOf(PyRecord);
    expect((ns as PyRecord).pyClass).toBe("argparse.Namespace");
    expect((ns as PyRecord).fields.get("lr")).toBe(1e-4);
  });

  test("protocol-2 bytes via _codecs.encode, numpy scalars, torch.Size, torch.device, sets", () => {
    expect(read(bytesOf([0x80, 2], "c_codecs\nencode\n", ...unicode("\u00ffA"), ...unicode("latin1"), [0x86], "R."))).toEqual(new Uint8Array([255, 65]));
    const scalar = bytesOf([0x80, 2], "cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\n", ...unicode("f8"), [0x89, 0x88, 0x87], "R", "(K", [3], ...unicode("<"), "NNNJ", u32(-1), "J", u32(-1), "K", [0], "tb", "C", [8], [0, 0, 0, 0, 0, 0, 0xe0, 0x3f], [0x86], "R.");
    expect(read(scalar)).toBe(0.5);
    expect(read(bytesOf([0x80, 2], "ctorch\nSize\n", "(K", [2], "K", [3], "t", [0x85], "R."))).toEqual([2, 3]);
    expect(read(bytesOf([0x80, 2], "ctorch\ndevice\n", ...unicode("cuda"), "K", [0], [0x86], "R."))).toBe("cuda:0");
  });
});

describe("malformed pickles fail with a CheckpointError", () => {
  test("specific faults", () => {
    expect(refusal(bytesOf([0x80, 6], "."))).toContain("pickle protocol 6 is not supported");
    expect(refusal(bytesOf([0x80, 2, 0xff]))).toContain("unknown or unsupported pickle opcode 0xff");
    expect(refusal(bytesOf([0x80, 2], "h", [9], "."))).toContain("memo entry 9 does not exist");
    expect(refusal(bytesOf([0x80, 2], "]K", [1], "K", [2], "s."))).toContain("SETITEM(S) on a sequence of 0, not a dict");
    expect(refusal(bytesOf([0x80, 2], "."))).toContain("stack underflow");
    expect(refusal(bytesOf([0x80, 2], "]"))).toContain("truncated pickle (no STOP opcode)");
    expect(refusal(bytesOf([0x80, 2], "X", u32(100), "abc"))).toContain("truncated pickle (needs 100 more bytes, 3 left)");
    expect(refusal(bytesOf([0x80, 2], "(K", [1], "Q."))).toContain("persistent id in a pickle without external storage");
    expect(refusal(bytesOf([0x80, 2], [0x8b], u32(1 << 20), "."))).toContain("integer of 1048576 bytes is not supported");
    expect(refusal(bytesOf([0x80, 2], "0."))).toContain("stack underflow");
    expect(refusal(bytesOf([0x80, 2], "e."))).toContain("no MARK");
  });

  test("every truncation of a real pickle", () => {
    const bytes = readFileSync(fixture("pickles/plain_p4.pkl"));
    for (let cut = 0; cut < bytes.length; cut++) expect(checkpointError(() => read(bytes.subarray(0, cut))).message).toMatch(/truncated|underflow/);
  });

  test("random corruption never escapes as anything but a CheckpointError", () => {
    const original = new Uint8Array(readFileSync(fixture("pickles/plain_p2.pkl")));
    let state = 12345;
    const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let failures = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const bytes = original.slice();
      for (let k = 0; k < 1 + (trial % 4); k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      try {
        read(bytes);
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(100);
  });
});
