// CUDA vs CPU: layout ops. Pure copies (NCHW <-> NHWC, patchify / unpatchify and their backwards, upsample
// forward, pad, crop) must be bit-identical; sums (avgpool, upsample backward) and the bilinear resize within 1e-5.
import { test } from "bun:test";
import { freshRng, uniform } from "../util/random.ts";
import { check, cudaSuite, inp, out } from "./harness.ts";

const exact = { exact: true };

cudaSuite("cuda: layout", (pair) => {
  test("nchw_to_nhwc and nhwc_to_nchw", () => {
    const rng = freshRng();
    for (const [B, C, H, W] of [[1, 1, 1, 1], [2, 3, 5, 7], [1, 33, 9, 40], [8, 32, 16, 16], [8, 256, 2, 2]]) {
      const n = B * C * H * W, where = `${[B, C, H, W]} seed ${rng.seed}`;
      check(pair, { label: `nchw_to_nhwc ${where}`, op: "dusa_nchw_to_nhwc", args: [out("out", n, exact), inp(uniform(rng, n)), B, C, H, W] });
      check(pair, { label: `nhwc_to_nchw ${where}`, op: "dusa_nhwc_to_nchw", args: [out("out", n, exact), inp(uniform(rng, n)), B, C, H, W] });
    }
  });

  test("patchify and unpatchify, forward and backward", () => {
    const rng = freshRng();
    // [B, C, H, W, P]: one patch of one pixel; odd channels; rectangular; the tiny SiT's latents (B·K = 96, 4x8x8, P 2)
    for (const [B, C, H, W, P] of [[1, 1, 1, 1, 1], [2, 3, 4, 6, 2], [1, 5, 9, 3, 3], [96, 4, 8, 8, 2]]) {
      const n = B * C * H * W, sizes = [B, C, H, W, P], where = `${sizes} seed ${rng.seed}`;
      for (const op of ["dusa_patchify_forward", "dusa_patchify_backward", "dusa_unpatchify_forward", "dusa_unpatchify_backward"] as const)
        check(pair, { label: `${op} ${where}`, op, args: [out("out", n, exact), inp(uniform(rng, n)), ...sizes] });
    }
  });

  test("avgpool forward and backward", () => {
    const rng = freshRng();
    // the tiny ConvNeXt's head: (8, 256, 2x2)
    for (const [B, C, HW] of [[1, 1, 1], [2, 3, 7], [4, 64, 300], [8, 256, 4]]) {
      const where = `${[B, C, HW]} seed ${rng.seed}`;
      check(pair, { label: `avgpool fwd ${where}`, op: "dusa_avgpool_forward", args: [out("out", B * C), inp(uniform(rng, B * C * HW)), B, C, HW], absFloor: true });
      check(pair, { label: `avgpool bwd ${where}`, op: "dusa_avgpool_backward", args: [out("din", B * C * HW), inp(uniform(rng, B * C)), B, C, HW] });
    }
  });

  test("upsample2x forward and backward", () => {
    const rng = freshRng();
    // the tiny VAE decoder's upsamples (8, 64, 8x8) and (8, 64, 16x16)
    for (const [B, C, H, W] of [[1, 1, 1, 1], [2, 3, 5, 4], [8, 64, 8, 8], [8, 64, 16, 16]]) {
      const n = B * C * H * W, where = `${[B, C, H, W]} seed ${rng.seed}`;
      check(pair, { label: `upsample fwd ${where}`, op: "dusa_upsample2x_forward", args: [out("out", 4 * n, exact), inp(uniform(rng, n)), B, C, H, W] });
      check(pair, { label: `upsample bwd ${where}`, op: "dusa_upsample2x_backward", args: [out("din", n), inp(uniform(rng, 4 * n)), B, C, H, W], absFloor: true });
    }
  });

  test("resize_bilinear (align_corners), up, down, identity, to and from one pixel", () => {
    const rng = freshRng();
    for (const [B, C, H, W, OH, OW] of [[1, 1, 1, 1, 3, 4], [2, 3, 5, 7, 5, 7], [1, 2, 6, 6, 1, 1], [2, 1, 28, 28, 32, 32], [1, 3, 64, 48, 17, 23], [8, 1, 32, 32, 16, 16]]) {
      const where = `${[B, C, H, W]} -> ${[OH, OW]} seed ${rng.seed}`;
      check(pair, { label: `resize ${where}`, op: "dusa_resize_bilinear", args: [out("out", B * C * OH * OW), inp(uniform(rng, B * C * H * W)), B, C, H, W, OH, OW], absFloor: true });
    }
  });

  test("pad2d forward (zero pad) and backward (crop)", () => {
    const rng = freshRng();
    // [B, C, H, W, top, bottom, left, right]: no padding; one side; the tiny VAE downsample's (0, 1, 0, 1)
    for (const [B, C, H, W, t, b, l, r] of [[1, 1, 1, 1, 0, 0, 0, 0], [2, 3, 4, 5, 1, 2, 3, 0], [1, 1, 1, 1, 2, 2, 2, 2], [8, 32, 32, 32, 0, 1, 0, 1]]) {
      const n = B * C * H * W, m = B * C * (H + t + b) * (W + l + r), where = `${[B, C, H, W, t, b, l, r]} seed ${rng.seed}`;
      check(pair, { label: `pad ${where}`, op: "dusa_pad2d_forward", args: [out("out", m, exact), inp(uniform(rng, n)), B, C, H, W, t, b, l, r] });
      check(pair, { label: `crop ${where}`, op: "dusa_pad2d_backward", args: [out("din", n, exact), inp(uniform(rng, m)), B, C, H, W, t, b, l, r] });
    }
  });
});
