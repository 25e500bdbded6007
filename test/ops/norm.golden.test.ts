// LayerNorm, LayerNorm + adaLN modulate and LayerNorm2d against PyTorch dumps (test/golden/make_norm.py).
import { expect, test } from "bun:test";
import { expectClose, poisoned } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { loadGolden } from "../util/golden.ts";

const ctx = cpuContext();
const eps = 1e-6;

test("layernorm matches PyTorch (forward and grads)", () => {
  const g = loadGolden("norm_layernorm");
  const [N, C] = g.__shapes.x;
  const x = ctx.upload(g.x, [N, C]), w = ctx.upload(g.weight, [C]), b = ctx.upload(g.bias, [C]);
  const out = poisoned(ctx, [N, C]), mean = ctx.alloc([N]), rstd = ctx.alloc([N]);
  ctx.call("dusa_layernorm_forward", out, mean, rstd, x, w, b, N, C, eps);
  expectClose("out", out.read(), g.out, 1e-5);
  const dout = ctx.upload(g.dout, [N, C]), dx = poisoned(ctx, [N, C]), dw = ctx.zeros([C]), db = ctx.zeros([C]);
  ctx.call("dusa_layernorm_backward", dx, dw, db, dout, x, w, mean, rstd, N, C);
  expectClose("dx", dx.read(), g.dx, 1e-5);
  expectClose("dweight", dw.read(), g.dweight, 1e-5);
  expectClose("dbias", db.read(), g.dbias, 1e-5);
  for (const t of [x, w, b, out, mean, rstd, dout, dx, dw, db]) t.free();
});

test("layernorm + adaLN modulate matches PyTorch (shift/scale are chunks of a (B, 6C) buffer)", () => {
  const g = loadGolden("norm_layernorm_modulate");
  const [B, T, C] = g.__shapes.x;
  const stride = g.__shapes.mod[1];
  expect(stride).toBe(6 * C);
  const x = ctx.upload(g.x, [B, T, C]), mod = ctx.upload(g.mod, [B, stride]);
  const out = poisoned(ctx, [B, T, C]), mean = ctx.alloc([B * T]), rstd = ctx.alloc([B * T]);
  ctx.call("dusa_layernorm_modulate_forward", out, mean, rstd, x, mod.ptr, mod.ptr + 4 * C, B, T, C, stride, eps);
  expectClose("out", out.read(), g.out, 1e-5);
  const dout = ctx.upload(g.dout, [B, T, C]), dx = poisoned(ctx, [B, T, C]), dmod = ctx.zeros([B, stride]);
  ctx.call("dusa_layernorm_modulate_backward", dx, dmod.ptr, dmod.ptr + 4 * C, dout, x, mod.ptr + 4 * C, mean, rstd, B, T, C, stride);
  expectClose("dx", dx.read(), g.dx, 1e-5);
  expectClose("dmod (shift and scale chunks; the other four are zero in both)", dmod.read(), g.dmod, 1e-5);
  for (const t of [x, mod, out, mean, rstd, dout, dx, dmod]) t.free();
});

test("layernorm2d matches timm LayerNorm2d in PyTorch", () => {
  const g = loadGolden("norm_layernorm2d");
  const [B, C, H, W] = g.__shapes.x;
  const x = ctx.upload(g.x, [B, C, H, W]), w = ctx.upload(g.weight, [C]), b = ctx.upload(g.bias, [C]);
  const out = poisoned(ctx, [B, C, H, W]), mean = ctx.alloc([B, H * W]), rstd = ctx.alloc([B, H * W]);
  ctx.call("dusa_layernorm2d_forward", out, mean, rstd, x, w, b, B, C, H * W, eps);
  expectClose("out", out.read(), g.out, 1e-5);
  const dout = ctx.upload(g.dout, [B, C, H, W]), dx = poisoned(ctx, [B, C, H, W]), dw = ctx.zeros([C]), db = ctx.zeros([C]);
  ctx.call("dusa_layernorm2d_backward", dx, dw, db, dout, x, w, mean, rstd, B, C, H * W);
  expectClose("dx", dx.read(), g.dx, 1e-5);
  expectClose("dweight", dw.read(), g.dweight, 1e-5);
  expectClose("dbias", db.read(), g.dbias, 1e-5);
  for (const t of [x, w, b, out, mean, rstd, dout, dx, dw, db]) t.free();
});
