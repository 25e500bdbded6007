// Each corruption's measurable property against the reference's formula (CIFAR table unless noted).
import { beforeAll, describe, expect, test } from "bun:test";
import { makeImage, type Image } from "../../src/data/image.ts";
import { CIFAR_PARAMS } from "../../src/data/corruptions/params.ts";
import { corruptImages, corruptionRng, makeCorruptionContext, type CorruptionContext, type CorruptionName } from "../../src/data/corruptions/index.ts";
import { diskKernel } from "../../src/data/corruptions/blur.ts";
import { rgbToHsv } from "../../src/data/corruptions/hsv.ts";
import { encodeJpeg, jpegBatch, jpegRoundTrip } from "../../src/data/corruptions/jpeg.ts";
import { motionBlur, motionKernel } from "../../src/data/corruptions/motion-blur.ts";
import pil from "./fixtures/pil-reference.json";
import { colourImage, constantImage, fmnistImages, fromBase64, mean } from "./helpers.ts";

let ctx: CorruptionContext;
beforeAll(async () => { ctx = await makeCorruptionContext({ family: "cifar", seed: 0 }); });

const run = async (name: CorruptionName, img: Image, severity: number, seed = 0, index = 0) =>
  (await corruptImages([img], [index], name, severity, seed, ctx))[0];
const residuals = (out: Image, value: number) => Array.from(out.data, (v) => (v - value) / 255);
const variance = (xs: number[]) => { const m = mean(xs); return mean(xs.map((x) => (x - m) * (x - m))); };
const P = CIFAR_PARAMS;
const mid = constantImage(64, 64, 3, 128); // 12,288 values, far from the clip limits

describe("noise", () => {
  test("gaussian_noise: residual std = sigma, mean = -0.5/255 (np.uint8 truncation)", async () => {
    for (let s = 1; s <= 5; s++) {
      const r = residuals(await run("gaussian_noise", mid, s), 128);
      const sigma = P.gaussian_noise[s - 1];
      expect(Math.abs(Math.sqrt(variance(r)) / Math.sqrt(sigma * sigma + 1 / (12 * 255 * 255)) - 1)).toBeLessThan(0.03); // SE of std ≈ 0.6%
      expect(Math.abs(mean(r) + 0.5 / 255)).toBeLessThan((4 * sigma) / Math.sqrt(r.length));
    }
  });

  test("shot_noise: outputs are trunc(k/c*255) for integer k; mean x, variance x/c", async () => {
    const x = 51 / 255, img = constantImage(64, 64, 3, 51);
    for (let s = 1; s <= 5; s++) {
      const c = P.shot_noise[s - 1], out = await run("shot_noise", img, s);
      const allowed = new Set(Array.from({ length: 3 * c }, (_, k) => Math.trunc(Math.min(k / c, 1) * 255)));
      expect(Array.from(out.data).every((v) => allowed.has(v))).toBe(true);
      const counts = Array.from(out.data, (v) => v / 255);
      expect(Math.abs(mean(counts) - x)).toBeLessThan(4 * Math.sqrt(x / c / counts.length) + 1 / 255);
      expect(Math.abs(variance(counts) / (x / c) - 1)).toBeLessThan(0.1 + (s === 1 ? 0.05 : 0)); // truncation adds ~1/12 level² (sev 1)
    }
  });

  test("impulse_noise: a fraction `amount` of values flips to 0 or 255, half each", async () => {
    for (let s = 1; s <= 5; s++) {
      const amount = P.impulse_noise[s - 1], out = await run("impulse_noise", mid, s);
      const n = out.data.length, changed = out.data.filter((v) => v !== 128), salt = changed.filter((v) => v === 255).length;
      expect(changed.every((v) => v === 0 || v === 255)).toBe(true);
      expect(Math.abs(changed.length / n - amount)).toBeLessThan(4 * Math.sqrt((amount * (1 - amount)) / n));
      expect(Math.abs(salt / changed.length - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / changed.length));
    }
  });

  test("speckle_noise: residual std = sigma * x", async () => {
    for (let s = 1; s <= 5; s++) {
      const r = residuals(await run("speckle_noise", mid, s), 128), sd = P.speckle_noise[s - 1] * (128 / 255);
      expect(Math.abs(Math.sqrt(variance(r)) / Math.sqrt(sd * sd + 1 / (12 * 255 * 255)) - 1)).toBeLessThan(0.03);
    }
  });
});

describe("digital", () => {
  const colour = colourImage(32, 32);

  test("contrast: trunc(clip((x - mean) c + mean) * 255), per-channel spatial mean", async () => {
    for (let s = 1; s <= 5; s++) {
      const c = P.contrast[s - 1], out = await run("contrast", colour, s);
      const means = [0, 1, 2].map((k) => mean(Array.from({ length: 1024 }, (_, p) => colour.data[p * 3 + k] / 255)));
      for (let i = 0; i < out.data.length; i++) {
        const m = means[i % 3], v = Math.min(1, Math.max(0, (colour.data[i] / 255 - m) * c + m));
        expect(out.data[i]).toBe(Math.trunc(v * 255));
      }
    }
  });

  test("brightness: V rises by c in HSV (clipped at 1), hue and saturation kept; gray = min(v + c, 1)", async () => {
    const hsvIn = new Float64Array(3), hsvOut = new Float64Array(3);
    for (let s = 1; s <= 5; s++) {
      const c = P.brightness[s - 1], out = await run("brightness", colour, s);
      const dv: number[] = [], dh: number[] = [];
      for (let p = 0; p < 1024; p++) {
        rgbToHsv(colour.data[p * 3] / 255, colour.data[p * 3 + 1] / 255, colour.data[p * 3 + 2] / 255, hsvIn);
        rgbToHsv(out.data[p * 3] / 255, out.data[p * 3 + 1] / 255, out.data[p * 3 + 2] / 255, hsvOut);
        dv.push(Math.abs(hsvOut[2] - Math.min(hsvIn[2] + c, 1)));
        if (hsvIn[1] > 0.2) dh.push(Math.min(Math.abs(hsvOut[0] - hsvIn[0]), 1 - Math.abs(hsvOut[0] - hsvIn[0])));
      }
      expect(Math.max(...dv)).toBeLessThanOrEqual(1 / 255 + 1e-9);
      expect(Math.max(...dh)).toBeLessThan(0.01);
      const gray = await run("brightness", fmnistImages(1)[0], s), src = fmnistImages(1)[0];
      gray.data.forEach((v, i) => expect(v).toBe(Math.trunc(Math.min(src.data[i] / 255 + c, 1) * 255)));
    }
  });

  test("saturate: S becomes clip(S mult + add); grayscale has S = 0, hue 0", async () => {
    const hsvIn = new Float64Array(3), hsvOut = new Float64Array(3);
    for (let s = 1; s <= 5; s++) {
      const [mult, add] = P.saturate[s - 1], out = await run("saturate", colour, s);
      for (let p = 0; p < 1024; p++) {
        rgbToHsv(colour.data[p * 3] / 255, colour.data[p * 3 + 1] / 255, colour.data[p * 3 + 2] / 255, hsvIn);
        rgbToHsv(out.data[p * 3] / 255, out.data[p * 3 + 1] / 255, out.data[p * 3 + 2] / 255, hsvOut);
        if (hsvOut[2] > 0.3) expect(Math.abs(hsvOut[1] - Math.min(1, hsvIn[1] * mult + add))).toBeLessThan(3 / 255 / hsvOut[2] + 1e-9);
      }
      const v = constantImage(4, 4, 1, 200), g = await run("saturate", v, s);
      const rgbGray = (200 / 255) * (0.299 + (0.587 + 0.114) * (1 - add)); // (v, v(1-s), v(1-s)) → luma
      expect(Math.abs(g.data[0] - rgbGray * 255)).toBeLessThanOrEqual(1);
    }
  });

  for (const name of ["colour", "gray"] as const) {
    test(`pixelate and jpeg_compression are bit-exact with Pillow (${name})`, async () => {
      const e = pil.images[name];
      const img = makeImage(e.shape[0], e.shape[1], e.shape[2] ?? 1, fromBase64(e.data));
      for (let s = 1; s <= 5; s++) {
        expect(Buffer.from((await run("pixelate", img, s)).data).equals(Buffer.from(fromBase64(e.pixelate[s - 1])))).toBe(true);
        expect(Buffer.from((await run("jpeg_compression", img, s)).data).equals(Buffer.from(fromBase64(e.jpeg[s - 1])))).toBe(true);
      }
    });
  }

  test("pixelate: every row is made of at most int(32 c) constant runs", async () => {
    for (let s = 1; s <= 5; s++) {
      const out = await run("pixelate", colour, s), blocks = Math.trunc(32 * P.pixelate[s - 1]);
      for (let y = 0; y < 32; y++) {
        let runs = 1;
        for (let x = 1; x < 32; x++) if ([0, 1, 2].some((c) => out.data[(y * 32 + x) * 3 + c] !== out.data[(y * 32 + x - 1) * 3 + c])) runs++;
        expect(runs).toBeLessThanOrEqual(blocks);
      }
    }
  });

  test("jpeg: quantisation table is libjpeg's Annex K table scaled by quality", async () => {
    const K = [16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40, 26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61, 60, 57, 51, 56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87, 95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99]; // zigzag order
    for (const q of P.jpeg_compression) {
      const bytes = await encodeJpeg(colour, q);
      const at = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xdb);
      const table = Array.from(bytes.subarray(at + 5, at + 5 + 64));
      const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
      expect(table).toEqual(K.map((k) => Math.min(255, Math.max(1, Math.floor((k * scale + 50) / 100)))));
    }
  });

  test("jpeg: grayscale images are 1-component JPEGs (like PIL mode L), colour ones 3-component", async () => {
    const components = async (img: Image) => { const b = await encodeJpeg(img, 50); return b[b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xc0) + 9]; };
    expect(await components(fmnistImages(1)[0])).toBe(1);
    expect(await components(colour)).toBe(3);
  });

  test("jpeg: a grayscale mosaic decodes to exactly the per-image results", async () => {
    const imgs = fmnistImages(40);
    const batch = await jpegBatch(imgs, 40);
    for (let k = 0; k < imgs.length; k += 7) expect(Buffer.from(batch[k].data).equals(Buffer.from((await jpegRoundTrip(imgs[k], 40)).data))).toBe(true);
  });

  test("elastic_transform keeps shape and range; severity 1 (alpha 0) is a pure affine warp", async () => {
    for (let s = 1; s <= 5; s++) {
      const out = await run("elastic_transform", colour, s);
      expect([out.height, out.width, out.channels]).toEqual([32, 32, 3]);
      const lo = Math.min(...colour.data), hi = Math.max(...colour.data);
      expect(Math.min(...out.data)).toBeGreaterThanOrEqual(lo - 1);
      expect(Math.max(...out.data)).toBeLessThanOrEqual(hi);
    }
    const flat = await run("elastic_transform", constantImage(32, 32, 1, 90), 1);
    expect(flat.data.every((v) => v === 89 || v === 90)).toBe(true);
  });
});

describe("blur", () => {
  test("blurs keep constant images constant (kernels sum to 1)", async () => {
    const flat = constantImage(32, 32, 3, 173);
    for (const name of ["defocus_blur", "gaussian_blur", "zoom_blur", "motion_blur", "glass_blur"] as const)
      for (let s = 1; s <= 5; s++) {
        const out = await run(name, flat, s);
        expect(out.data.every((v) => v === 173 || v === 172)).toBe(true);
      }
  });

  test("defocus disk: radius 0.3 is a 3x3 Gaussian (sigma 0.4) of a single tap", () => {
    const { kernel, size } = diskKernel(0.3, 0.4);
    const a = Math.exp(-1 / (2 * 0.4 * 0.4)), w = [a, 1, a].map((v) => v / (1 + 2 * a)), c = (size - 1) / 2;
    expect(size).toBe(17);
    expect(kernel[c * size + c]).toBeCloseTo(w[1] * w[1], 6);
    expect(kernel[(c - 1) * size + c + 1]).toBeCloseTo(w[0] * w[0], 6);
    expect(kernel.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    const big = diskKernel(10, 0.5);
    expect(big.size).toBe(21);
  });

  test("motion blur kernel: one-sided, Gaussian weights, ImageMagick offsets", () => {
    const k = motionKernel(6, 2, 0);
    expect(k.weights.length).toBe(13);
    expect(Array.from(k.dx)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    expect(Array.from(k.dy)).toEqual(new Array(13).fill(0));
    const raw = Array.from({ length: 13 }, (_, i) => Math.exp(-(i * i) / 8)), z = raw.reduce((a, b) => a + b);
    k.weights.forEach((w, i) => expect(w).toBeCloseTo(raw[i] / z, 12));
    expect(Array.from(motionKernel(2, 1, 90).dy)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(motionKernel(2, 1, -45).dx)).toEqual([0, 1, 1, 2, 3]);
    expect(Array.from(motionKernel(2, 1, -45).dy)).toEqual([0, -1, -1, -2, -3]);
    // a white dot smears to one side only: out(x) = sum_i w_i in(x + i)
    const dot = constantImage(9, 20, 1, 0);
    dot.data[4 * 20 + 12] = 255;
    const out = motionBlur(dot, k);
    for (let i = 0; i < out.data.length; i++) {
      const y = Math.floor(i / 20), x = i % 20, d = 12 - x;
      const expected = y === 4 && d >= 0 && d < 13 ? Math.round(k.weights[d] * 255) : 0;
      expect(Math.abs(out.data[i] - expected)).toBeLessThanOrEqual(expected === 0 ? 0 : 1);
    }
  });

  test("glass_blur (sigma 0.05: no blur): each pixel takes a value from its up-left 2x2 neighbourhood", async () => {
    const img = fmnistImages(1, 5)[0], out = await run("glass_blur", img, 1), W = 32;
    let moved = 0;
    for (let h = 0; h < 32; h++) for (let w = 0; w < 32; w++) {
      const v = out.data[h * W + w];
      if (h < 2 || w < 2) { expect(v).toBe(img.data[h * W + w]); continue; }
      const candidates = [[0, 0], [-1, 0], [0, -1], [-1, -1]].map(([dy, dx]) => img.data[(h + dy) * W + w + dx]);
      expect(candidates).toContain(v);
      if (v !== img.data[h * W + w]) moved++;
    }
    expect(moved).toBeGreaterThan(50);
  });

  test("zoom_blur keeps shape and range", async () => {
    const img = colourImage(32, 32);
    const out = await run("zoom_blur", img, 5);
    expect([out.height, out.width, out.channels]).toEqual([32, 32, 3]);
    expect(Math.max(...out.data)).toBeLessThanOrEqual(Math.max(...img.data));
  });
});

describe("weather", () => {
  test("frost: trunc(clip(w_img x + w_frost crop)) with the crop drawn from the image's stream", async () => {
    const img = colourImage(32, 32);
    for (let s = 1; s <= 5; s++) {
      const [wi, wf] = P.frost[s - 1], out = await run("frost", img, s, 3, 7);
      const rng = corruptionRng(3, "frost", s, 7), tex = ctx.frostImages[rng.int(0, ctx.frostImages.length)];
      const y0 = rng.int(0, tex.height - 32), x0 = rng.int(0, tex.width - 32);
      for (let y = 0; y < 32; y += 3) for (let x = 0; x < 32; x += 5) for (let c = 0; c < 3; c++) {
        const v = wi * img.data[(y * 32 + x) * 3 + c] + wf * tex.data[((y + y0) * tex.width + x + x0) * 3 + c];
        expect(out.data[(y * 32 + x) * 3 + c]).toBe(Math.trunc(Math.min(255, v)));
      }
    }
  });

  test("fog: never brighter than the image's maximum; black stays black", async () => {
    const img = fmnistImages(1, 2)[0], max = Math.max(...img.data);
    for (let s = 1; s <= 5; s++) {
      expect(Math.max(...(await run("fog", img, s)).data)).toBeLessThanOrEqual(max);
      expect((await run("fog", constantImage(32, 32, 1, 0), s)).data.every((v) => v === 0)).toBe(true);
    }
  });

  test("snow only brightens", async () => {
    const img = colourImage(32, 32);
    for (let s = 1; s <= 5; s++) {
      const out = await run("snow", img, s);
      for (let i = 0; i < out.data.length; i++) expect(out.data[i]).toBeGreaterThanOrEqual(img.data[i] - 1);
    }
  });

  test("spatter: water (1-3) only adds; mud (4-5) pulls pixels towards brown", async () => {
    const img = colourImage(32, 32), mud = [63, 42, 20];
    let changed = 0;
    for (let s = 1; s <= 5; s++) for (let k = 0; k < 4; k++) {
      const out = await run("spatter", img, s, 0, k);
      for (let i = 0; i < out.data.length; i++) {
        if (s <= 3) expect(out.data[i]).toBeGreaterThanOrEqual(img.data[i] - 1);
        else expect(Math.abs(out.data[i] - mud[i % 3])).toBeLessThanOrEqual(Math.abs(img.data[i] - mud[i % 3]) + 1);
        if (out.data[i] !== img.data[i]) changed++;
      }
    }
    expect(changed).toBeGreaterThan(1000);
  });
});
