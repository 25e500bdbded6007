import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "../../src/data/errors.ts";
import { FASHION_MNIST_CLASSES, loadFashionMnist, readIdxDataset, SHIPPED_FASHION_MNIST_DIR } from "../../src/data/fashion-mnist.ts";
import { parseIdx, readIdx } from "../../src/data/idx.ts";
import { tempDir } from "./helpers.ts";

const dir = tempDir("idx");
const idxBytes = (type: number, shape: number[], data: number[]) => {
  const head = new Uint8Array(4 + 4 * shape.length);
  head[2] = type; head[3] = shape.length;
  shape.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...head, ...data]);
};

describe("idx", () => {
  test("raw and gzipped files give the same array", () => {
    const raw = idxBytes(0x08, [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    writeFileSync(join(dir, "a-idx3-ubyte"), raw);
    writeFileSync(join(dir, "a-idx3-ubyte.gz"), Bun.gzipSync(raw));
    const a = readIdx(join(dir, "a-idx3-ubyte")), b = readIdx(join(dir, "a-idx3-ubyte.gz"));
    expect(a.shape).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(b.shape).toEqual(a.shape);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  test("header validation names the file and the problem", () => {
    const bad = (bytes: Uint8Array) => () => parseIdx(bytes, "x.idx");
    expect(bad(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 1, 5]))).toThrow("x.idx: not an idx file: magic starts with 0x0100");
    expect(bad(idxBytes(0x0d, [1], [0, 0, 0, 0]))).toThrow("unsupported idx element type 0x0d (float32)");
    expect(bad(idxBytes(0x08, [3, 2], [1, 2, 3]))).toThrow("x.idx: truncated: shape (3, 2) needs 6 data bytes, file has 3");
    expect(bad(idxBytes(0x08, [2], [1, 2, 3]))).toThrow("1 unexpected trailing bytes");
    expect(bad(new Uint8Array([0, 0, 8, 3, 0, 0]))).toThrow("truncated idx header");
    expect(bad(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2]))).toThrow(DataError);
    expect(() => readIdx(join(dir, "missing.gz"))).toThrow(`${join(dir, "missing.gz")}: cannot read idx file (ENOENT)`);
  });

  test("truncated gzip is a DataError naming the file", () => {
    const gz = Bun.gzipSync(idxBytes(0x08, [100], Array.from({ length: 100 }, (_, i) => i)));
    writeFileSync(join(dir, "cut.gz"), gz.subarray(0, gz.length - 10));
    expect(() => readIdx(join(dir, "cut.gz"))).toThrow(`${join(dir, "cut.gz")}: corrupt or truncated gzip data`);
  });

  test("the shipped Fashion-MNIST test set", () => {
    const ds = loadFashionMnist("test");
    expect(ds.length).toBe(10000);
    expect([ds.height, ds.width, ds.channels]).toEqual([28, 28, 1]);
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    expect(ds.spec().images.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  test("images and labels must agree", () => {
    writeFileSync(join(dir, "l-idx1-ubyte"), idxBytes(0x08, [3], [0, 1, 2]));
    writeFileSync(join(dir, "i-idx3-ubyte"), idxBytes(0x08, [2, 1, 1], [0, 1]));
    expect(() => readIdxDataset(join(dir, "i-idx3-ubyte"), join(dir, "l-idx1-ubyte"), "t")).toThrow("3 labels for 2 images");
    expect(() => loadFashionMnist("train", dir)).toThrow("Fashion-MNIST train set not found");
    expect(readFileSync(join(SHIPPED_FASHION_MNIST_DIR, "t10k-labels-idx1-ubyte.gz")).length).toBe(5125);
  });
});
