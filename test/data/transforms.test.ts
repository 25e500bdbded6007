import { describe, expect, test } from "bun:test";
import { centerCrop, makeImage, padTo, toChannels } from "../../src/data/image.ts";
import { resample, resizeShorterSide } from "../../src/data/resample.ts";
import { applyGeometry, FASHION_MNIST_AUX, FASHION_MNIST_TASK, taskShape, writeAuxTensor, writeTaskTensor } from "../../src/data/transforms.ts";
import pil from "./fixtures/pil-reference.json";
import { fromBase64 } from "./helpers.ts";

describe("transforms", () => {
  test("aux: bilinear align_corners=True, hand-computed 2x2 → 3x3, then x/255*2-1", () => {
    // corners keep their values; edge midpoints are pair means; the centre is the mean of all four
    const img = makeImage(2, 2, 1, Uint8Array.of(0, 60, 120, 255));
    const out = new Float32Array(9);
    writeAuxTensor(img, { size: 3 }, out, 0);
    const expected = [0, 30, 60, 60, 108.75, 157.5, 120, 187.5, 255].map((v) => (v / 255) * 2 - 1);
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  test("aux: 3x3 → 5x5 hits every source pixel exactly at even positions, channels planar (C, H, W)", () => {
    const img = makeImage(3, 3, 2, Uint8Array.from({ length: 18 }, (_, i) => i * 10));
    const out = new Float32Array(2 * 25);
    writeAuxTensor(img, { size: 5 }, out, 0);
    for (let c = 0; c < 2; c++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++)
      expect(out[c * 25 + 2 * y * 5 + 2 * x]).toBeCloseTo((img.data[(y * 3 + x) * 2 + c] / 255) * 2 - 1, 6);
    expect(out[1]).toBeCloseTo(((img.data[0] + img.data[2]) / 2 / 255) * 2 - 1, 6); // between (0,0) and (0,1), channel 0
  });

  test("task: (x/255 - mean) / std per channel, planar", () => {
    const img = makeImage(1, 2, 3, Uint8Array.of(0, 128, 255, 51, 102, 204));
    const t = { channels: 3 as const, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const out = new Float32Array(6);
    writeTaskTensor(img, t, out, 0);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 2; p++) expect(out[c * 2 + p]).toBeCloseTo((img.data[p * 3 + c] / 255 - t.mean[c]) / t.std[c], 5);
  });

  test("Fashion-MNIST: 28 → 32 zero padding, 2 px each side, mean 0.286 / std 0.353", () => {
    const img = makeImage(28, 28, 1, new Uint8Array(784).fill(255));
    const p = applyGeometry(img, FASHION_MNIST_TASK);
    expect([p.height, p.width]).toEqual([32, 32]);
    expect(p.data[1 * 32 + 1]).toBe(0);
    expect(p.data[2 * 32 + 2]).toBe(255);
    expect(p.data[29 * 32 + 29]).toBe(255);
    expect(p.data[30 * 32 + 30]).toBe(0);
    const task = new Float32Array(1024), aux = new Float32Array(1024);
    writeTaskTensor(p, FASHION_MNIST_TASK, task, 0);
    writeAuxTensor(p, FASHION_MNIST_AUX, aux, 0);
    expect(task[0]).toBeCloseTo(-0.286 / 0.353, 6);
    expect(task[2 * 32 + 2]).toBeCloseTo((1 - 0.286) / 0.353, 6);
    expect([aux[0], aux[2 * 32 + 2]]).toEqual([-1, 1]); // same size: identity resize
    expect(taskShape(FASHION_MNIST_TASK, 28, 28)).toEqual([1, 32, 32]);
  });

  test("centre crop offsets round like torchvision (ties to even) and pad when smaller", () => {
    const img = makeImage(5, 5, 1, Uint8Array.from({ length: 25 }, (_, i) => i));
    expect(Array.from(centerCrop(img, 2, 2).data)).toEqual([12, 13, 17, 18]); // round(1.5) = 2
    const six = makeImage(6, 6, 1, Uint8Array.from({ length: 36 }, (_, i) => i));
    expect(Array.from(centerCrop(six, 1, 1).data)).toEqual([14]); // round(2.5) = 2, not 3
    const c3 = centerCrop(img, 3, 3);
    expect(Array.from(c3.data)).toEqual([6, 7, 8, 11, 12, 13, 16, 17, 18]);
    const padded = padTo(makeImage(1, 1, 1, Uint8Array.of(9)), 4, 4);
    expect(padded.data.indexOf(9)).toBe(1 * 4 + 1);
  });

  test("resize shorter side keeps the aspect ratio (torchvision int Resize)", () => {
    const img = makeImage(300, 400, 3);
    const r = resizeShorterSide(img, 256);
    expect([r.height, r.width]).toEqual([256, 341]);
    expect(taskShape({ resize: 256, centerCrop: 224, channels: 3, mean: [0], std: [1] }, 300, 400)).toEqual([3, 224, 224]);
  });

  test("channel conversion: gray → RGB replicates, RGB → gray is Rec. 601 luma", () => {
    const rgb = toChannels(makeImage(1, 1, 1, Uint8Array.of(77)), 3);
    expect(Array.from(rgb.data)).toEqual([77, 77, 77]);
    expect(Array.from(toChannels(makeImage(1, 1, 3, Uint8Array.of(255, 0, 0)), 1).data)).toEqual([76]);
  });

  for (const name of ["colour", "gray"] as const) {
    test(`PIL bilinear/bicubic resize is bit-exact (${name})`, () => {
      const e = pil.images[name];
      const img = makeImage(e.shape[0], e.shape[1], e.shape[2] ?? 1, fromBase64(e.data));
      for (const r of e.resize) {
        const out = resample(img, r.width, r.height, r.filter as "bilinear" | "bicubic");
        expect(Buffer.from(out.data).equals(Buffer.from(fromBase64(r.data)))).toBe(true);
      }
    });
  }
});
