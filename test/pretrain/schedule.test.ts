// The cosine schedule with linear warmup.
import { expect, test } from "bun:test";
import { cosineLr, effectiveWarmup } from "../../src/pretrain/schedule.ts";

const s = { base: 1e-3, min: 1e-5, warmup: 10, total: 200 };

test("warmup rises linearly to the base rate, then the cosine falls to the minimum at the last step", () => {
  expect(cosineLr(0, s)).toBeCloseTo(1e-4, 12);
  expect(cosineLr(4, s)).toBeCloseTo(5e-4, 12);
  expect(cosineLr(9, s)).toBeCloseTo(1e-3, 12);
  expect(cosineLr(10, s)).toBeCloseTo(1e-3, 12);
  expect(cosineLr(199, s)).toBeCloseTo(1e-5, 12);
  const mid = 10 + (199 - 10) / 2; // half way along the cosine: the mean of base and min
  expect(cosineLr(Math.floor(mid), s)).toBeGreaterThan((1e-3 + 1e-5) / 2);
  expect(cosineLr(Math.ceil(mid), s)).toBeLessThan((1e-3 + 1e-5) / 2);
  for (let step = 10; step < 199; step++) expect(cosineLr(step + 1, s)).toBeLessThanOrEqual(cosineLr(step, s));
});

test("warmup is capped at a tenth of the run; a one-step run uses the base rate; bad steps throw", () => {
  expect(effectiveWarmup({ ...s, warmup: 500, total: 40 })).toBe(4);
  expect(cosineLr(3, { ...s, warmup: 500, total: 40 })).toBeCloseTo(1e-3, 12);
  expect(cosineLr(0, { ...s, warmup: 0, total: 1 })).toBe(1e-3);
  expect(() => cosineLr(-1, s)).toThrow(/non-negative integer/);
});
