// The deterministic building blocks: math functions, random streams, samplers, colour and OpenCV-style ops.
import { describe, expect, test } from "bun:test";
import { dcos, dexp, dlog, dsin } from "../../src/data/detmath.ts";
import { Rng } from "../../src/data/rng.ts";
import { poissonTables, samplePoisson } from "../../src/data/corruptions/noise.ts";
import { hsvToRgb, rgbToHsv } from "../../src/data/corruptions/hsv.ts";
import { canny, distanceTransform5, equalizeHist } from "../../src/data/corruptions/cv.ts";
import { gaussianFilter } from "../../src/data/corruptions/filters.ts";
import { plasmaFractal } from "../../src/data/corruptions/plasma.ts";
import { numpyArange } from "../../src/data/corruptions/params.ts";
import { mean } from "./helpers.ts";

const ulps = (a: number, b: number) => Math.abs(a - b) / (Math.abs(b) * Number.EPSILON);

describe("detmath", () => {
  test("log, exp, sin, cos within 1 ulp of Math on the ranges used", () => {
    const r = new Rng(0, "detmath");
    for (let i = 0; i < 20000; i++) {
      const x = r.uniform() * 100 + 1e-12, y = r.uniformIn(-700, 700), z = r.uniformIn(-7, 7);
      expect(ulps(dlog(x), Math.log(x))).toBeLessThanOrEqual(1);
      expect(ulps(dexp(y), Math.exp(y))).toBeLessThanOrEqual(1);
      if (Math.abs(Math.sin(z)) > 1e-3) expect(ulps(dsin(z), Math.sin(z))).toBeLessThanOrEqual(1);
      if (Math.abs(Math.cos(z)) > 1e-3) expect(ulps(dcos(z), Math.cos(z))).toBeLessThanOrEqual(1);
    }
    expect([dlog(1), dexp(0), dlog(0), dexp(-800)]).toEqual([0, 1, -Infinity, 0]);
  });
});

describe("rng", () => {
  test("the stream for a key is fixed (golden values) and keys give independent streams", () => {
    const r = new Rng(0, "gaussian_noise", 1, 0);
    expect(Array.from({ length: 4 }, () => r.nextU32())).toEqual(GOLDEN_U32);
    const a = new Rng(42, "x", 1, 2), b = new Rng(42, "x", 1, 3), c = new Rng(43, "x", 1, 2), d = new Rng(42, "x", 1, 2);
    const draw = (g: Rng) => Array.from({ length: 8 }, () => g.nextU32());
    const da = draw(a);
    expect(draw(d)).toEqual(da);
    expect(draw(b)).not.toEqual(da);
    expect(draw(c)).not.toEqual(da);
    expect(() => new Rng(-1)).toThrow("seed must be a non-negative integer");
  });

  test("uniform, normal and randint have the right moments", () => {
    const r = new Rng(7), n = 200000;
    const u = Array.from({ length: n }, () => r.uniform()), z = Array.from({ length: n }, () => r.normal());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.003);
    expect(Math.abs(mean(z))).toBeLessThan(0.01);
    expect(Math.abs(mean(z.map((v) => v * v)) - 1)).toBeLessThan(0.015);
    expect(Math.abs(mean(z.map((v) => v * v * v * v)) - 3)).toBeLessThan(0.08);
    const k = Array.from({ length: 30000 }, () => r.int(-1, 1));
    expect(new Set(k)).toEqual(new Set([-1, 0]));
    expect(Math.abs(k.filter((v) => v === 0).length / 30000 - 0.5)).toBeLessThan(0.015);
  });

  test("Poisson sampler by CDF inversion matches the pmf", () => {
    const lambda = (200 / 255) * 5, cdf = poissonTables(5)[200], r = new Rng(3), n = 100000;
    const counts = new Array(20).fill(0);
    for (let i = 0; i < n; i++) counts[samplePoisson(cdf, r)]++;
    let p = Math.exp(-lambda);
    for (let k = 0; k < 8; k++) {
      if (k > 0) p *= lambda / k;
      expect(Math.abs(counts[k] / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n) + 1e-4);
    }
    expect(samplePoisson(poissonTables(500)[0], r)).toBe(0);
  });
});

describe("colour and filters", () => {
  test("HSV round trip and skimage's conventions", () => {
    const hsv = new Float64Array(3), rgb = new Float64Array(3), r = new Rng(5);
    rgbToHsv(1, 0, 0, hsv); expect(Array.from(hsv)).toEqual([0, 1, 1]);
    rgbToHsv(0, 0.5, 0.5, hsv); expect(Array.from(hsv)).toEqual([0.5, 1, 0.5]); // green/blue tie: blue's formula
    rgbToHsv(0.3, 0.3, 0.3, hsv); expect(Array.from(hsv)).toEqual([0, 0, 0.3]);
    for (let i = 0; i < 1000; i++) {
      const c = [r.uniform(), r.uniform(), r.uniform()];
      rgbToHsv(c[0], c[1], c[2], hsv);
      hsvToRgb(hsv[0], hsv[1], hsv[2], rgb);
      for (let k = 0; k < 3; k++) expect(Math.abs(rgb[k] - c[k])).toBeLessThan(1e-12);
    }
  });

  test("gaussian filter: scipy radius int(4 sigma + 0.5), weights sum to 1, 'nearest' and 'reflect' borders", () => {
    const impulse = new Float64Array(15); impulse[7] = 1;
    const out = gaussianFilter(impulse, 15, 1, 1, 1);
    expect(out.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    expect(out[7 + 4]).toBeGreaterThan(0);
    expect(out[7 + 5]).toBe(0); // radius 4
    const ramp = Float64Array.from({ length: 6 }, (_, i) => i);
    const nearest = gaussianFilter(ramp, 6, 1, 1, 2, "nearest"), reflect = gaussianFilter(ramp, 6, 1, 1, 2, "reflect");
    expect(nearest[0]).toBeGreaterThan(0);
    expect(reflect[0]).toBeGreaterThan(nearest[0]); // reflect mirrors 0,1,2.. instead of repeating 0
    const wide = gaussianFilter(ramp, 6, 1, 1, 30, "reflect", 3); // kernel far longer than the axis
    for (const v of wide) expect(v).toBeCloseTo(2.5, 2);
  });

  test("plasma fractal spans [0, 1]; numpy arange lengths", () => {
    const m = plasmaFractal(32, 2, new Rng(1));
    expect(Math.min(...m)).toBe(0);
    expect(Math.max(...m)).toBe(1);
    expect(numpyArange(1, 1.06, 0.01).length).toBe(7); // 1.06 included, as in numpy
    expect(numpyArange(1, 1.16, 0.01).length).toBe(16);
    expect(numpyArange(1, 1.31, 0.03).length).toBe(11);
  });

  test("distance transform: 5x5 chamfer a=1, b=1.4, c=2.1969", () => {
    const img = new Uint8Array(25).fill(255); img[12] = 0;
    const d = distanceTransform5(img, 5, 5);
    expect([d[12], d[13], d[18], d[19], d[14], d[24]].map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0, 1, 1.4, 2.1969, 2, 2.8]);
  });

  test("Canny finds the outline of a square and nothing in flat areas", () => {
    const H = 16, W = 16, img = new Uint8Array(H * W);
    for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) img[y * W + x] = 200;
    const e = canny(img, H, W, 50, 150);
    expect(e[8 * W + 8]).toBe(0);
    expect(e[1 * W + 1]).toBe(0);
    expect(e[8 * W + 3] + e[8 * W + 4]).toBe(255); // exactly one of the two columns across the left edge
    expect(e.filter((v) => v === 255).length).toBeGreaterThan(20);
  });

  test("equalizeHist: OpenCV's LUT", () => {
    expect(Array.from(equalizeHist(Uint8Array.of(10, 10, 20, 30)))).toEqual([0, 0, 128, 255]);
    expect(Array.from(equalizeHist(Uint8Array.of(7, 7)))).toEqual([7, 7]);
  });
});

const GOLDEN_U32 = [919572023,3074683477,835907735,174510327];
