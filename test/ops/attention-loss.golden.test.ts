// Attention (timm packed qkv and separate q/k/v) and the DUSA flow loss against PyTorch dumps
// (test/golden/make_attention_loss.py). The fixtures were computed by PyTorch in float64 from float32 inputs,
// so the tolerances measure only our float32 error.
import { test } from "bun:test";
import { expectClose, poisoned } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { loadGolden } from "../util/golden.ts";

const ctx = cpuContext();

function inModes(fn: (mode: string) => void) {
  for (const reference of [false, true]) {
    ctx.setReference(reference);
    try {
      fn(reference ? "reference" : "tiled");
    } finally {
      ctx.setReference(false);
    }
  }
}

test("attention matches PyTorch: timm packed qkv (B=2, NH=3, T=17, HD=8)", () => {
  const g = loadGolden("attention_packed");
  const [B, T, rs] = g.__shapes.qkv, [, NH] = g.__shapes.lse, C = g.__shapes.out[2], HD = C / NH;
  const qkv = ctx.upload(g.qkv, [B, T, rs]), dout = ctx.upload(g.dout, [B, T, C]);
  inModes((mode) => {
    const out = poisoned(ctx, [B, T, C]), lse = poisoned(ctx, [B, NH, T]), dqkv = poisoned(ctx, [B, T, rs]);
    const [q, k, v] = [0, 1, 2].map((i) => qkv.ptr + 4 * i * C);
    ctx.call("dusa_attention_forward", out, lse, q, k, v, B, T, NH, HD, rs);
    expectClose(`${mode} out`, out.read(), g.out, 1e-5);
    expectClose(`${mode} lse`, lse.read(), g.lse, 1e-5);
    const [dq, dk, dv] = [0, 1, 2].map((i) => dqkv.ptr + 4 * i * C);
    ctx.call("dusa_attention_backward", dq, dk, dv, dout, q, k, v, out, lse, B, T, NH, HD, rs);
    expectClose(`${mode} dqkv`, dqkv.read(), g.dqkv, 1e-5);
    for (const t of [out, lse, dqkv]) t.free();
  });
  qkv.free();
  dout.free();
});

test("attention matches PyTorch: separate q, k, v (B=1, NH=2, T=24, HD=72)", () => {
  const g = loadGolden("attention_hd72");
  const [B, T, C] = g.__shapes.q, NH = g.__shapes.lse[1], HD = C / NH;
  const [q, k, v, dout] = [g.q, g.k, g.v, g.dout].map((x) => ctx.upload(x, [B, T, C]));
  inModes((mode) => {
    const out = poisoned(ctx, [B, T, C]), lse = poisoned(ctx, [B, NH, T]);
    const [dq, dk, dv] = [0, 1, 2].map(() => poisoned(ctx, [B, T, C]));
    ctx.call("dusa_attention_forward", out, lse, q, k, v, B, T, NH, HD, C);
    expectClose(`${mode} out`, out.read(), g.out, 1e-5);
    expectClose(`${mode} lse`, lse.read(), g.lse, 1e-5);
    ctx.call("dusa_attention_backward", dq, dk, dv, dout, q, k, v, out, lse, B, T, NH, HD, C);
    expectClose(`${mode} dq`, dq.read(), g.dq, 1e-5);
    expectClose(`${mode} dk`, dk.read(), g.dk, 1e-5);
    expectClose(`${mode} dv`, dv.read(), g.dv, 1e-5);
    for (const t of [out, lse, dq, dk, dv]) t.free();
  });
  for (const t of [q, k, v, dout]) t.free();
});

test("flow loss matches PyTorch autograd: each term alone and all together with grad_scale", () => {
  const g = loadGolden("flow_loss");
  const [B, K] = g.__shapes.w, D = g.__shapes.target.slice(1).reduce((a, b) => a * b, 1);
  const w = ctx.upload(g.w, [B, K]), p = ctx.upload(g.p, [B, K, D]), target = ctx.upload(g.target, [B, D]);
  for (let i = 0; g[`terms_${i}`]; i++) {
    const [wMse, wNorm, wCos, gradScale] = g[`loss_weights_${i}`];
    const terms = poisoned(ctx, [4]), dw = poisoned(ctx, [B, K]), dp = poisoned(ctx, [B, K, D]);
    ctx.call("dusa_flow_loss", terms, dw, dp, w, p, target, B, K, D, wMse, wNorm, wCos, gradScale);
    const label = `weights (${wMse}, ${wNorm}, ${wCos}) grad_scale ${gradScale}`;
    const got = terms.read(), want = g[`terms_${i}`];
    ["total", "mse", "norm_l2", "cosine"].forEach((name, j) => expectClose(`${label} ${name}`, [got[j]], [want[j]], 1e-6));
    expectClose(`${label} dw`, dw.read(), g[`dw_${i}`], 1e-5);
    expectClose(`${label} dp`, dp.read(), g[`dp_${i}`], 1e-5);
    for (const t of [terms, dw, dp]) t.free();
  }
  for (const t of [w, p, target]) t.free();
});
