// Light augmentation of classifier batches, on the already normalised (B, C, H, W) task tensor: a random shift of
// up to ±maxShift pixels in each direction with the background filled in, and a horizontal flip with probability
// 1/2 for the classes whose images face both ways. Fashion-MNIST's footwear (sandal, sneaker, ankle boot) always
// points the same way: the mean training image of each is strongly asymmetric (|m − flip(m)| / |m| 0.58–0.99, against
// 0.06–0.24 for the other classes), so a flipped shoe is an image the test set never shows and is not made.
import { Rng } from "../data/rng.ts";

export const FASHION_MNIST_FOOTWEAR = [5, 7, 9];

export type AugmentOptions = {
  maxShift: number;
  flipClass: (label: number) => boolean;
  fill: number; // the value of a background pixel in the tensor's units (black after normalisation)
};

/** Draws for image b of the batch: shift (dy, dx) and whether to flip. */
export type Draw = { dy: number; dx: number; flip: boolean };

export function drawAugment(rng: Rng, label: number, o: AugmentOptions): Draw {
  const dy = rng.int(-o.maxShift, o.maxShift + 1), dx = rng.int(-o.maxShift, o.maxShift + 1);
  const flip = rng.uniform() < 0.5 && o.flipClass(label);
  return { dy, dx, flip };
}

/** out[y, x] = flip?(in)[y − dy, x − dx], background outside. */
export function shiftFlip(src: Float32Array, dst: Float32Array, offset: number, C: number, H: number, W: number, d: Draw, fill: number): void {
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H; y++) {
      const sy = y - d.dy, row = offset + (c * H + y) * W;
      for (let x = 0; x < W; x++) {
        const sx0 = x - d.dx, sx = d.flip ? W - 1 - sx0 : sx0;
        dst[row + x] = sy >= 0 && sy < H && sx0 >= 0 && sx0 < W ? src[offset + (c * H + sy) * W + sx] : fill;
      }
    }
}

/** An augmented copy of a batch (B, C, H, W); `rng` is the batch's own stream, so the result depends only on it. */
export function augmentBatch(x: Float32Array, labels: Int32Array, shape: readonly [number, number, number, number], rng: Rng, o: AugmentOptions): Float32Array {
  const [B, C, H, W] = shape, out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) shiftFlip(x, out, b * C * H * W, C, H, W, drawAugment(rng, labels[b], o), o.fill);
  return out;
}
