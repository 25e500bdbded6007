// Light augmentation: shifts with the background filled in, flips never of footwear, reproducible per stream.
import { expect, test } from "bun:test";
import { Rng } from "../../src/data/rng.ts";
import { augmentBatch, drawAugment, FASHION_MNIST_FOOTWEAR, shiftFlip } from "../../src/pretrain/augment.ts";

test("a shift moves every pixel by (dy, dx) and fills what comes in with the background; a flip mirrors first", () => {
  const H = 4, W = 5, src = Float32Array.from({ length: H * W }, (_, i) => i), out = new Float32Array(H * W);
  shiftFlip(src, out, 0, 1, H, W, { dy: 1, dx: -2, flip: false }, -9);
  expect(Array.from(out.subarray(0, W))).toEqual([-9, -9, -9, -9, -9]);
  expect(Array.from(out.subarray(W, 2 * W))).toEqual([2, 3, 4, -9, -9]);
  shiftFlip(src, out, 0, 1, H, W, { dy: 0, dx: 1, flip: true }, -9);
  expect(Array.from(out.subarray(0, W))).toEqual([-9, 4, 3, 2, 1]);
});

test("footwear is never flipped, other classes about half the time; the same stream gives the same batch", () => {
  const flipClass = (label: number) => !FASHION_MNIST_FOOTWEAR.includes(label);
  const o = { maxShift: 2, flipClass, fill: 0 };
  const rng = new Rng(3, "augment", 0);
  let shoes = 0, others = 0;
  const shifts = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const label = i % 10, d = drawAugment(rng, label, o);
    if (FASHION_MNIST_FOOTWEAR.includes(label)) shoes += d.flip ? 1 : 0;
    else others += d.flip ? 1 : 0;
    shifts.add(d.dx).add(d.dy);
  }
  expect(shoes).toBe(0);
  expect(others / 1400).toBeGreaterThan(0.4);
  expect(others / 1400).toBeLessThan(0.6);
  expect([...shifts].sort()).toEqual([-1, -2, 0, 1, 2]);
  const x = Float32Array.from({ length: 3 * 16 }, (_, i) => i), labels = Int32Array.from([0, 5, 8]);
  const a = augmentBatch(x, labels, [3, 1, 4, 4], new Rng(1, "augment", 7), o), b = augmentBatch(x, labels, [3, 1, 4, 4], new Rng(1, "augment", 7), o);
  expect(Array.from(a)).toEqual(Array.from(b));
});
