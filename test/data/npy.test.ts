import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openNpyTask } from "../../src/data/corruption-datasets.ts";
import { encodeNpy, encodeNpyLabels, npyHeaderBytes, NpyRowWriter, readNpyHeader, readNpyImages, readNpyLabels } from "../../src/data/npy.ts";
import { tempDir } from "./helpers.ts";

const dir = tempDir("npy");
const file = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

describe("npy", () => {
  test("header is numpy's: magic, v1.0, 64-byte aligned, dict with trailing newline", () => {
    const h = npyHeaderBytes("|u1", [50000, 32, 32, 3]);
    expect(h.length % 64).toBe(0);
    expect(Array.from(h.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const text = new TextDecoder().decode(h.subarray(10));
    expect(text.startsWith("{'descr': '|u1', 'fortran_order': False, 'shape': (50000, 32, 32, 3), }")).toBe(true);
    expect(text.endsWith("\n")).toBe(true);
    expect(new TextDecoder().decode(npyHeaderBytes("<i8", [7]))).toContain("'shape': (7,)");
  });

  test("reads (N,H,W) and (N,H,W,C) uint8 images, whole or a row range", () => {
    const p3 = file("g.npy", encodeNpy("|u1", [4, 2, 3], seq(24)));
    const g = readNpyImages(p3);
    expect([g.count, g.height, g.width, g.channels]).toEqual([4, 2, 3, 1]);
    expect(Array.from(g.data)).toEqual(Array.from(seq(24)));
    const p4 = file("c.npy", encodeNpy("|u1", [5, 2, 2, 3], seq(60)));
    const c = readNpyImages(p4, { start: 2, end: 4 });
    expect([c.count, c.height, c.width, c.channels, c.totalRows]).toEqual([2, 2, 2, 3, 5]);
    expect(Array.from(c.data)).toEqual(Array.from(seq(60).subarray(24, 48)));
  });

  test("labels in any integer dtype", () => {
    expect(Array.from(readNpyLabels(file("l1.npy", encodeNpyLabels(Int32Array.of(3, 1, 2)))))).toEqual([3, 1, 2]);
    const wide = encodeNpyLabels(Int32Array.of(999, 0, 500));
    expect(new TextDecoder().decode(wide.subarray(0, 64))).toContain("'<i8'");
    expect(Array.from(readNpyLabels(file("l8.npy", wide)))).toEqual([999, 0, 500]);
    const i2 = new Uint8Array(new Int16Array([7, 300]).buffer);
    expect(Array.from(readNpyLabels(file("l2.npy", encodeNpy("<i2", [2], i2))))).toEqual([7, 300]);
  });

  test("wrong dtype or shape is an error naming the file, dtype and shape", () => {
    const p = file("f.npy", encodeNpy("<f4", [10, 3], new Uint8Array(120)));
    expect(() => readNpyImages(p)).toThrow(`${p}: expected uint8 array of shape (N,H,W[,C]), got <f4 (10, 3)`);
    const q = file("c5.npy", encodeNpy("|u1", [2, 2, 2, 5], new Uint8Array(40)));
    expect(() => readNpyImages(q)).toThrow("got |u1 (2, 2, 2, 5)");
    expect(() => readNpyLabels(file("lf.npy", encodeNpy("<f8", [2], new Uint8Array(16))))).toThrow("expected 1-D integer label array, got <f8 (2,)");
    const fortran = encodeNpy("|u1", [2, 2, 2], new Uint8Array(8));
    const text = new TextDecoder().decode(fortran).replace("'fortran_order': False", "'fortran_order': True ");
    expect(() => readNpyImages(file("fo.npy", new TextEncoder().encode(text).map((b, i) => (i < 10 ? fortran[i] : b))))).toThrow("fortran-order");
  });

  test("truncated data, truncated header and bad magic", () => {
    const full = encodeNpy("|u1", [10, 4, 4], new Uint8Array(160));
    const p = file("t.npy", full.subarray(0, full.length - 7));
    expect(() => readNpyImages(p)).toThrow(`${p}: truncated: |u1 (10, 4, 4) needs 160 data bytes, file has 153`);
    expect(() => readNpyImages(file("th.npy", full.subarray(0, 40)))).toThrow("truncated .npy header");
    expect(() => readNpyImages(file("m.npy", new Uint8Array(100)))).toThrow("not a .npy file (bad magic");
    expect(() => readNpyImages(join(dir, "none.npy"))).toThrow("cannot open .npy file (ENOENT)");
    expect(() => readNpyImages(file("x.npy", new Uint8Array([...full, 1, 2])))).toThrow("2 unexpected bytes after the (10, 4, 4) data");
  });

  test("row writer fills rows in any order", () => {
    const p = join(dir, "w.npy");
    const w = new NpyRowWriter(p, [4, 2, 2]);
    w.writeRows(2, Uint8Array.of(9, 9, 9, 9, 8, 8, 8, 8));
    w.writeRows(0, Uint8Array.of(1, 1, 1, 1, 2, 2, 2, 2));
    w.close();
    expect(readNpyHeader(p).shape).toEqual([4, 2, 2]);
    expect(Array.from(readNpyImages(p).data)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 9, 9, 9, 9, 8, 8, 8, 8]);
  });

  test("CIFAR-10-C layout: severity s is rows (s-1)n .. sn", () => {
    const root = join(dir, "CIFAR-10-C");
    mkdirSync(root);
    const n = 3, rows = Uint8Array.from({ length: 5 * n * 4 }, (_, i) => Math.floor(i / (n * 4)) * 10 + ((i >> 2) % n));
    writeFileSync(join(root, "fog.npy"), encodeNpy("|u1", [5 * n, 2, 2], rows));
    writeFileSync(join(root, "labels.npy"), encodeNpyLabels(Int32Array.from({ length: 5 * n }, (_, i) => i % n)));
    const task = openNpyTask(root, "fog", 4);
    expect(task.length).toBe(n);
    expect(Array.from(task.image(2).data)).toEqual([32, 32, 32, 32]);
    expect(Array.from(task.labels)).toEqual([0, 1, 2]);
    expect(() => openNpyTask(root, "snow", 1)).toThrow(`${join(root, "snow.npy")}: no file for corruption 'snow'`);
    expect(() => openNpyTask(root, "fog", 6)).toThrow("severity 6 not stored");
    writeFileSync(join(root, "meta.json"), JSON.stringify({ severities: [5] }));
    writeFileSync(join(root, "fog.npy"), encodeNpy("|u1", [n, 2, 2], rows.subarray(0, n * 4)));
    expect(() => openNpyTask(root, "fog", 5)).toThrow("15 labels for 3 rows");
    writeFileSync(join(root, "labels.npy"), encodeNpyLabels(Int32Array.of(0, 1, 2)));
    expect(openNpyTask(root, "fog", 5).length).toBe(n);
  });
});
