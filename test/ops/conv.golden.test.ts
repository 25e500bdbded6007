// conv2d, depthwise conv2d, GroupNorm (+ SiLU) and bilinear resize against PyTorch dumps
// (test/golden/make_conv.py). The convs and GroupNorm fixtures were computed by PyTorch in float64 from float32
// inputs, so the 1e-5 relative tolerance measures only our float32 error; the resize fixture is PyTorch's
// float32 kernel, whose coordinate arithmetic ours copies.
import { test } from "bun:test";
import { expectClose, poisoned } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { loadGolden } from "../util/golden.ts";

const ctx = cpuContext();

function inModes(fn: () => void) {
  for (const reference of [false, true]) {
    ctx.setReference(reference);
    try {
      fn();
    } finally {
      ctx.setReference(false);
    }
  }
}

// [fixture, stride, [top, bottom, left, right]] as written by make_conv.py
const convs: [string, number, number[]][] = [
  ["conv_conv2d_pad1", 1, [1, 1, 1, 1]],
  ["conv_conv2d_stride2_asym", 2, [0, 1, 0, 1]],
  ["conv_conv2d_stem4", 4, [0, 0, 0, 0]],
];

for (const [name, stride, [pt, pb, pl, pr]] of convs)
  test(`conv2d matches PyTorch: ${name} (forward and grads)`, () => {
    const g = loadGolden(name);
    const [B, IC, H, W] = g.__shapes.input, [OC, , KH, KW] = g.__shapes.weight, outShape = g.__shapes.out;
    const args = [B, IC, H, W, OC, KH, KW, stride, stride, pt, pb, pl, pr] as const;
    const x = ctx.upload(g.input, [B, IC, H, W]), w = ctx.upload(g.weight, [OC, IC, KH, KW]), b = ctx.upload(g.bias, [OC]);
    const dout = ctx.upload(g.dout, outShape);
    inModes(() => {
      for (const path of ["blocked", "auto"] as const) {
        ctx.setGemmPath(path);
        const out = poisoned(ctx, outShape), din = poisoned(ctx, [B, IC, H, W]), dw = ctx.zeros([OC, IC, KH, KW]), db = ctx.zeros([OC]);
        ctx.call("dusa_conv2d_forward", out, x, w, b, ...args);
        expectClose(`${name} out`, out.read(), g.out, 1e-5);
        ctx.call("dusa_conv2d_backward", din, dw, db, dout, x, w, ...args);
        expectClose(`${name} dinput`, din.read(), g.dinput, 1e-5);
        expectClose(`${name} dweight`, dw.read(), g.dweight, 1e-5);
        expectClose(`${name} dbias`, db.read(), g.dbias, 1e-5);
        for (const t of [out, din, dw, db]) t.free();
      }
      ctx.setGemmPath("auto");
    });
    for (const t of [x, w, b, dout]) t.free();
  });

test("depthwise 7x7 conv (groups=C, padding 3) matches PyTorch", () => {
  const g = loadGolden("conv_dwconv7");
  const [B, C, H, W] = g.__shapes.input, K = g.__shapes.weight[2];
  const x = ctx.upload(g.input, [B, C, H, W]), w = ctx.upload(g.weight, [C, 1, K, K]), b = ctx.upload(g.bias, [C]);
  const dout = ctx.upload(g.dout, [B, C, H, W]);
  inModes(() => {
    const out = poisoned(ctx, [B, C, H, W]), din = poisoned(ctx, [B, C, H, W]), dw = ctx.zeros([C, 1, K, K]), db = ctx.zeros([C]);
    ctx.call("dusa_dwconv2d_forward", out, x, w, b, B, C, H, W, K);
    expectClose("out", out.read(), g.out, 1e-5);
    ctx.call("dusa_dwconv2d_backward", din, dw, db, dout, x, w, B, C, H, W, K);
    expectClose("dinput", din.read(), g.dinput, 1e-5);
    expectClose("dweight", dw.read(), g.dweight, 1e-5);
    expectClose("dbias", db.read(), g.dbias, 1e-5);
    for (const t of [out, din, dw, db]) t.free();
  });
  for (const t of [x, w, b, dout]) t.free();
});

for (const [name, silu] of [["conv_groupnorm", 0], ["conv_groupnorm_silu", 1]] as const)
  test(`GroupNorm${silu ? " + SiLU" : ""} (32 channels, 8 groups, eps 1e-6) matches PyTorch`, () => {
    const g = loadGolden(name);
    const [B, C, H, W] = g.__shapes.input, G = g.__shapes.mean[1], HW = H * W, eps = 1e-6;
    const x = ctx.upload(g.input, [B, C, HW]), w = ctx.upload(g.weight, [C]), b = ctx.upload(g.bias, [C]);
    const dout = ctx.upload(g.dout, [B, C, HW]);
    inModes(() => {
      const out = poisoned(ctx, [B, C, HW]), mean = poisoned(ctx, [B, G]), rstd = poisoned(ctx, [B, G]);
      const din = poisoned(ctx, [B, C, HW]), dw = ctx.zeros([C]), db = ctx.zeros([C]);
      ctx.call("dusa_groupnorm_forward", out, mean, rstd, x, w, b, B, C, HW, G, eps, silu);
      expectClose("out", out.read(), g.out, 1e-5);
      expectClose("mean", mean.read(), g.mean, 1e-6);
      expectClose("rstd", rstd.read(), g.rstd, 1e-6);
      ctx.call("dusa_groupnorm_backward", din, dw, db, dout, x, w, b, mean, rstd, B, C, HW, G, silu);
      expectClose("dinput", din.read(), g.dinput, 1e-5);
      expectClose("dweight", dw.read(), g.dweight, 1e-5);
      expectClose("dbias", db.read(), g.dbias, 1e-5);
      for (const t of [out, mean, rstd, din, dw, db]) t.free();
    });
    for (const t of [x, w, b, dout]) t.free();
  });

test("bilinear resize (align_corners=True) matches PyTorch, incl. 1-pixel outputs", () => {
  const g = loadGolden("conv_resize_bilinear");
  const [B, C, H, W] = g.__shapes.input;
  const x = ctx.upload(g.input, [B, C, H, W]);
  const keys = Object.keys(g.__shapes).filter((k) => k.startsWith("out_"));
  if (keys.length !== 5) throw new Error(`expected 5 resize outputs, found ${keys.join(", ")}`);
  inModes(() => {
    for (const key of keys) {
      const [, , OH, OW] = g.__shapes[key];
      const out = poisoned(ctx, [B, C, OH, OW]);
      ctx.call("dusa_resize_bilinear", out, x, B, C, H, W, OH, OW);
      // the same float source coordinates as PyTorch's kernel; the order of the blend differs (~2e-7 seen)
      expectClose(key, out.read(), g[key], 1e-6);
      out.free();
    }
  });
  x.free();
});
