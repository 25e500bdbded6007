// The blocks of diffusers' AutoencoderKL on the kernel library, and the chain that runs them. Every block maps one
// NCHW tensor to the next; a chain runs its blocks forward, and backward in reverse order.
//   Resnet        (ResnetBlock2D)  out = shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))))))
//   MidAttention  (Attention)      out = x + nchw(to_out.0(attention(to_q, to_k, to_v of nhwc(group_norm(x)))))
//   Conv          conv_in, downsamplers.0.conv, post_quant_conv
//   UpsampleConv  (Upsample2D)     out = conv(nearest2x(x))
//   NormConv      conv_out(silu(conv_norm_out(x)))
// A training plan keeps every block's input and what its backward reads; GroupNorm outputs and upsampled maps are
// recomputed in backward instead of kept. A forward-only plan runs the whole chain in three rotating buffers.
import type { Context, TensorView } from "../native/index.ts";
import { Arena } from "../nn/arena.ts";
import type { ParamTable, Parameters } from "../nn/params.ts";

export type Ptr = TensorView | { ptr: number };
export type Shape = { C: number; H: number; W: number }; // one image
type Geometry = { k: number; stride: number; pad: [top: number, bottom: number, left: number, right: number] };

const EPS = 1e-6;
export const conv3x3: Geometry = { k: 3, stride: 1, pad: [1, 1, 1, 1] };
export const conv1x1: Geometry = { k: 1, stride: 1, pad: [0, 0, 0, 0] };
/** Downsample2D: diffusers pads (0, 1, 0, 1), then convolves 3x3 / 2 unpadded. */
export const downsample: Geometry = { k: 3, stride: 2, pad: [0, 1, 0, 1] };

/** What blocks run with. In a forward-only plan (training false) the values a backward would read are not kept. */
export type Run = { ctx: Context; P: Parameters; B: number; groups: number; arena: Arena; training: boolean };
/** A block's scratch in backward: two gradient buffers and one for recomputed forward values. */
export type Scratch = { g0: TensorView; g1: TensorView; re: TensorView };

export interface Block {
  readonly name: string;
  /** In a forward-only plan the output may overwrite the input. */
  readonly inPlace: boolean;
  addParams(t: ParamTable): void;
  outShape(s: Shape): Shape;
  /** Floats each temporary of a forward-only forward must hold (training forwards keep more and need less). */
  tempFloats(B: number, s: Shape): number;
  /** Reserves the block's own buffers (before the arena is committed): what backward reads, in a training plan. */
  reserve(r: Run, s: Shape): void;
  forward(r: Run, s: Shape, x: Ptr, out: Ptr, t0: TensorView, t1: TensorView | null): void;
  /** dx may be null for the first block only (no input gradient wanted). */
  backward(r: Run, s: Shape, x: Ptr, dout: Ptr, dx: Ptr | null, t: Scratch): void;
}

const numel = (B: number, s: Shape) => B * s.C * s.H * s.W;
const nchw = (B: number, s: Shape) => [B, s.C, s.H, s.W];
const at = (v: TensorView, offset: number, shape: readonly number[]) => v.base.slice(v.offset + offset, shape);
/** A value kept for backward in a training plan; in a forward-only plan it lives where `fallback` says. */
const kept = (r: Run, name: string, fallback: () => TensorView) => (r.training ? r.arena.get(name) : fallback());

function addConv(t: ParamTable, name: string, outC: number, inC: number, k: number): void {
  t.add(`${name}.weight`, [outC, inC, k, k], "weight");
  t.add(`${name}.bias`, [outC], "bias");
}

function addNorm(t: ParamTable, name: string, C: number): void {
  t.add(`${name}.weight`, [C], "norm");
  t.add(`${name}.bias`, [C], "norm");
}

function addLinear(t: ParamTable, name: string, C: number): void {
  t.add(`${name}.weight`, [C, C], "weight");
  t.add(`${name}.bias`, [C], "bias");
}

function convOut(s: Shape, outC: number, g: Geometry): Shape {
  const [pt, pb, pl, pr] = g.pad;
  return { C: outC, H: Math.floor((s.H + pt + pb - g.k) / g.stride) + 1, W: Math.floor((s.W + pl + pr - g.k) / g.stride) + 1 };
}

function conv(r: Run, out: Ptr, x: Ptr, name: string, s: Shape, outC: number, g: Geometry): void {
  r.ctx.call("dusa_conv2d_forward", out, x, r.P.w(`${name}.weight`), r.P.p(`${name}.bias`), r.B, s.C, s.H, s.W, outC, g.k, g.k, g.stride, g.stride, ...g.pad);
}

function convBackward(r: Run, dx: Ptr | null, dout: Ptr, x: Ptr, name: string, s: Shape, outC: number, g: Geometry): void {
  const dw = r.P.g(`${name}.weight`), db = r.P.g(`${name}.bias`);
  if (dx || dw || db) r.ctx.call("dusa_conv2d_backward", dx, dw, db, dout, x, r.P.w(`${name}.weight`), r.B, s.C, s.H, s.W, outC, g.k, g.k, g.stride, g.stride, ...g.pad);
}

function norm(r: Run, out: Ptr, mean: Ptr, rstd: Ptr, x: Ptr, name: string, s: Shape, silu: boolean): void {
  r.ctx.call("dusa_groupnorm_forward", out, mean, rstd, x, r.P.p(`${name}.weight`), r.P.p(`${name}.bias`), r.B, s.C, s.H * s.W, r.groups, EPS, silu ? 1 : 0);
}

function normBackward(r: Run, dx: Ptr | null, dout: Ptr, x: Ptr, mean: Ptr, rstd: Ptr, name: string, s: Shape, silu: boolean): void {
  const { P } = r;
  r.ctx.call("dusa_groupnorm_backward", dx, P.g(`${name}.weight`), P.g(`${name}.bias`), dout, x, P.p(`${name}.weight`), P.p(`${name}.bias`), mean, rstd, r.B, s.C, s.H * s.W, r.groups, silu ? 1 : 0);
}

/** Recomputes a GroupNorm output for backward (into scratch statistics; the kept ones stay untouched). */
function renorm(r: Run, out: Ptr, x: Ptr, name: string, s: Shape, silu: boolean): void {
  norm(r, out, r.arena.get("stats.mean"), r.arena.get("stats.rstd"), x, name, s, silu);
}

function reserveStats(r: Run, name: string): void {
  r.arena.reserve(`${name}.mean`, [r.B * r.groups], "f32");
  r.arena.reserve(`${name}.rstd`, [r.B * r.groups], "f32");
}

export class Conv implements Block {
  readonly inPlace = false;
  constructor(readonly name: string, readonly inC: number, readonly outC: number, readonly geometry: Geometry) {}

  addParams(t: ParamTable): void {
    addConv(t, this.name, this.outC, this.inC, this.geometry.k);
  }

  outShape(s: Shape): Shape {
    return convOut(s, this.outC, this.geometry);
  }

  tempFloats(): number {
    return 0;
  }

  reserve(): void {}

  forward(r: Run, s: Shape, x: Ptr, out: Ptr): void {
    conv(r, out, x, this.name, s, this.outC, this.geometry);
  }

  backward(r: Run, s: Shape, x: Ptr, dout: Ptr, dx: Ptr | null): void {
    convBackward(r, dx, dout, x, this.name, s, this.outC, this.geometry);
  }
}

export class Resnet implements Block {
  readonly inPlace = true;
  constructor(readonly name: string, readonly inC: number, readonly outC: number) {}

  get hasShortcut(): boolean {
    return this.inC !== this.outC;
  }

  addParams(t: ParamTable): void {
    const n = this.name;
    addNorm(t, `${n}.norm1`, this.inC);
    addConv(t, `${n}.conv1`, this.outC, this.inC, 3);
    addNorm(t, `${n}.norm2`, this.outC);
    addConv(t, `${n}.conv2`, this.outC, this.outC, 3);
    if (this.hasShortcut) addConv(t, `${n}.conv_shortcut`, this.outC, this.inC, 1);
  }

  outShape(s: Shape): Shape {
    return { ...s, C: this.outC };
  }

  tempFloats(B: number, s: Shape): number {
    return B * Math.max(this.inC, this.outC) * s.H * s.W;
  }

  reserve(r: Run, s: Shape): void {
    if (!r.training) return;
    r.arena.reserve(`${this.name}.c1`, nchw(r.B, this.outShape(s)));
    reserveStats(r, `${this.name}.norm1`);
    reserveStats(r, `${this.name}.norm2`);
  }

  forward(r: Run, s: Shape, x: Ptr, out: Ptr, t0: TensorView, t1: TensorView | null): void {
    const n = this.name, o = this.outShape(s), A = r.arena.get.bind(r.arena);
    const c1 = kept(r, `${n}.c1`, () => t1!);
    const stats = (k: string) => [kept(r, `${n}.${k}.mean`, () => A("stats.mean")), kept(r, `${n}.${k}.rstd`, () => A("stats.rstd"))] as const;
    norm(r, t0, ...stats("norm1"), x, `${n}.norm1`, s, true); // (B, inC, H, W)
    conv(r, c1, t0, `${n}.conv1`, s, this.outC, conv3x3); // (B, outC, H, W)
    norm(r, t0, ...stats("norm2"), c1, `${n}.norm2`, o, true);
    conv(r, t1!, t0, `${n}.conv2`, o, this.outC, conv3x3); // forward-only: c1 (t1) is consumed by now
    if (this.hasShortcut) {
      conv(r, t0, x, `${n}.conv_shortcut`, s, this.outC, conv1x1);
      r.ctx.call("dusa_add", out, t0, t1!, numel(r.B, o));
    } else r.ctx.call("dusa_add", out, x, t1!, numel(r.B, o));
  }

  backward(r: Run, s: Shape, x: Ptr, dout: Ptr, dx: Ptr | null, { g0, g1, re }: Scratch): void {
    const n = this.name, o = this.outShape(s), A = r.arena.get.bind(r.arena), c1 = A(`${n}.c1`);
    renorm(r, re, c1, `${n}.norm2`, o, true);
    convBackward(r, g0, dout, re, `${n}.conv2`, o, this.outC, conv3x3); // d(norm2 out)
    normBackward(r, g1, g0, c1, A(`${n}.norm2.mean`), A(`${n}.norm2.rstd`), `${n}.norm2`, o, true); // d(c1)
    renorm(r, re, x, `${n}.norm1`, s, true);
    convBackward(r, g0, g1, re, `${n}.conv1`, s, this.outC, conv3x3); // d(norm1 out)
    normBackward(r, dx, g0, x, A(`${n}.norm1.mean`), A(`${n}.norm1.rstd`), `${n}.norm1`, s, true);
    if (this.hasShortcut) {
      convBackward(r, g0, dout, x, `${n}.conv_shortcut`, s, this.outC, conv1x1);
      r.ctx.call("dusa_add", dx!, dx!, g0, numel(r.B, s));
    } else r.ctx.call("dusa_add", dx!, dx!, dout, numel(r.B, s));
  }
}

/** The VAE's mid-block attention: one head of dimension C over the H*W pixels, scale 1/sqrt(C). */
export class MidAttention implements Block {
  readonly inPlace = true;
  constructor(readonly name: string, readonly C: number) {}

  addParams(t: ParamTable): void {
    addNorm(t, `${this.name}.group_norm`, this.C);
    for (const proj of ["to_q", "to_k", "to_v", "to_out.0"]) addLinear(t, `${this.name}.${proj}`, this.C);
  }

  outShape(s: Shape): Shape {
    return s;
  }

  // forward-only: t0 holds q, k, v and the attention output one after another
  tempFloats(B: number, s: Shape): number {
    return 4 * numel(B, s);
  }

  reserve(r: Run, s: Shape): void {
    const n = this.name, rows = r.B * s.H * s.W;
    r.arena.reserve(`${n}.lse`, [r.B, s.H * s.W], "f32"); // kept by every plan: the attention always writes it
    if (!r.training) return;
    for (const k of ["tokens", "q", "k", "v", "att"]) r.arena.reserve(`${n}.${k}`, [rows, s.C]);
    reserveStats(r, `${n}.group_norm`);
  }

  forward(r: Run, s: Shape, x: Ptr, out: Ptr, t0: TensorView, t1: TensorView | null): void {
    const { ctx, B } = r, { C, H, W } = s, n = this.name, T = H * W, rows = B * T, size = rows * C;
    const A = r.arena.get.bind(r.arena), p = (k: string) => r.P.p(`${n}.${k}`), w = (k: string) => r.P.w(`${n}.${k}`);
    const tokens = kept(r, `${n}.tokens`, () => at(t1!, 0, [rows, C]));
    const [q, k, v, att] = ["q", "k", "v", "att"].map((key, i) => kept(r, `${n}.${key}`, () => at(t0, i * size, [rows, C])));
    const mean = kept(r, `${n}.group_norm.mean`, () => A("stats.mean")), rstd = kept(r, `${n}.group_norm.rstd`, () => A("stats.rstd"));
    norm(r, t0, mean, rstd, x, `${n}.group_norm`, s, false); // (B, C, H, W)
    ctx.call("dusa_nchw_to_nhwc", tokens, t0, B, C, H, W); // (B, HW, C)
    ctx.call("dusa_linear_forward", q, tokens, w("to_q.weight"), p("to_q.bias"), rows, C, C);
    ctx.call("dusa_linear_forward", k, tokens, w("to_k.weight"), p("to_k.bias"), rows, C, C);
    ctx.call("dusa_linear_forward", v, tokens, w("to_v.weight"), p("to_v.bias"), rows, C, C);
    ctx.call("dusa_attention_forward", att, A(`${n}.lse`), q, k, v, B, T, 1, C, C);
    ctx.call("dusa_linear_forward", t1!, att, w("to_out.0.weight"), p("to_out.0.bias"), rows, C, C); // forward-only: over the tokens
    ctx.call("dusa_nhwc_to_nchw", t0, t1!, B, C, H, W); // forward-only: over q
    ctx.call("dusa_add", out, x, t0, size);
  }

  backward(r: Run, s: Shape, x: Ptr, dout: Ptr, dx: Ptr | null, { g0, g1, re }: Scratch): void {
    const { ctx, B, P } = r, { C, H, W } = s, n = this.name, T = H * W, rows = B * T, size = rows * C;
    const A = (k: string) => r.arena.get(`${n}.${k}`), w = (k: string) => P.w(`${n}.${k}`), g = (k: string) => P.g(`${n}.${k}`);
    const tokens = A("tokens");
    const [dq, dk, dv] = [0, 1, 2].map((i) => at(re, i * size, [rows, C]));
    ctx.call("dusa_nchw_to_nhwc", g0, dout, B, C, H, W); // d(to_out.0 output) as tokens
    ctx.call("dusa_linear_backward", g1, g("to_out.0.weight"), g("to_out.0.bias"), g0, A("att"), w("to_out.0.weight"), rows, C, C);
    ctx.call("dusa_attention_backward", dq, dk, dv, g1, A("q"), A("k"), A("v"), A("att"), A("lse"), B, T, 1, C, C);
    ctx.call("dusa_linear_backward", g0, g("to_q.weight"), g("to_q.bias"), dq, tokens, w("to_q.weight"), rows, C, C);
    ctx.call("dusa_linear_backward", g1, g("to_k.weight"), g("to_k.bias"), dk, tokens, w("to_k.weight"), rows, C, C);
    ctx.call("dusa_add", g0, g0, g1, size);
    ctx.call("dusa_linear_backward", g1, g("to_v.weight"), g("to_v.bias"), dv, tokens, w("to_v.weight"), rows, C, C);
    ctx.call("dusa_add", g0, g0, g1, size); // d(tokens)
    ctx.call("dusa_nhwc_to_nchw", g1, g0, B, C, H, W); // d(group_norm output)
    normBackward(r, dx, g1, x, A("group_norm.mean"), A("group_norm.rstd"), `${n}.group_norm`, s, false);
    ctx.call("dusa_add", dx!, dx!, dout, size);
  }
}

/** Upsample2D: nearest 2x, then conv 3x3 (`name` is the conv's). */
export class UpsampleConv implements Block {
  readonly inPlace = false;
  constructor(readonly name: string, readonly C: number) {}

  addParams(t: ParamTable): void {
    addConv(t, this.name, this.C, this.C, 3);
  }

  outShape(s: Shape): Shape {
    return { C: this.C, H: 2 * s.H, W: 2 * s.W };
  }

  tempFloats(B: number, s: Shape): number {
    return numel(B, this.outShape(s));
  }

  reserve(): void {}

  forward(r: Run, s: Shape, x: Ptr, out: Ptr, t0: TensorView): void {
    r.ctx.call("dusa_upsample2x_forward", t0, x, r.B, s.C, s.H, s.W);
    conv(r, out, t0, this.name, this.outShape(s), this.C, conv3x3);
  }

  backward(r: Run, s: Shape, x: Ptr, dout: Ptr, dx: Ptr | null, { g0, re }: Scratch): void {
    r.ctx.call("dusa_upsample2x_forward", re, x, r.B, s.C, s.H, s.W);
    convBackward(r, g0, dout, re, this.name, this.outShape(s), this.C, conv3x3);
    if (dx) r.ctx.call("dusa_upsample2x_backward", dx, g0, r.B, s.C, s.H, s.W);
  }
}

/** conv(silu(groupnorm(x))): conv_norm_out then conv_out. */
export class NormConv implements Block {
  readonly inPlace = false;
  constructor(readonly normName: string, readonly name: string, readonly inC: number, readonly outC: number) {}

  addParams(t: ParamTable): void {
    addNorm(t, this.normName, this.inC);
    addConv(t, this.name, this.outC, this.inC, 3);
  }

  outShape(s: Shape): Shape {
    return { ...s, C: this.outC };
  }

  tempFloats(B: number, s: Shape): number {
    return numel(B, s);
  }

  reserve(r: Run): void {
    if (r.training) reserveStats(r, this.normName);
  }

  forward(r: Run, s: Shape, x: Ptr, out: Ptr, t0: TensorView): void {
    const A = r.arena.get.bind(r.arena);
    const mean = kept(r, `${this.normName}.mean`, () => A("stats.mean")), rstd = kept(r, `${this.normName}.rstd`, () => A("stats.rstd"));
    norm(r, t0, mean, rstd, x, this.normName, s, true);
    conv(r, out, t0, this.name, s, this.outC, conv3x3);
  }

  backward(r: Run, s: Shape, x: Ptr, dout: Ptr, dx: Ptr | null, { g0, re }: Scratch): void {
    const A = r.arena.get.bind(r.arena);
    renorm(r, re, x, this.normName, s, true);
    convBackward(r, g0, dout, re, this.name, s, this.outC, conv3x3);
    normBackward(r, dx, g0, x, A(`${this.normName}.mean`), A(`${this.normName}.rstd`), this.normName, s, true);
  }
}

/**
 * Blocks run one after another on a (B, C, H, W) input, planned once for that shape. A training plan keeps each
 * block's output (`x{i}`, the input of block i) and what the blocks' backward reads; a forward-only plan runs in
 * three rotating buffers, a block writing its output over its input when it can.
 */
export class Chain {
  readonly shapes: Shape[]; // shapes[i]: block i's input; the last is the chain's output
  readonly run: Run;
  #input: Ptr | null = null;
  readonly storage: "f32" | "bf16";

  constructor(ctx: Context, P: Parameters, groups: number, readonly blocks: Block[], readonly B: number, input: Shape, training: boolean, reserveMore: (a: Arena) => void = () => {}) {
    const arena = new Arena();
    this.run = { ctx, P, B, groups, arena, training };
    this.shapes = [input];
    for (const b of blocks) this.shapes.push(b.outShape(this.shapes[this.shapes.length - 1]));
    const largest = Math.max(...this.shapes.map((s) => numel(B, s)));
    const temp = Math.max(largest, ...blocks.map((b, i) => b.tempFloats(B, this.shapes[i])));
    if (training) {
      this.shapes.forEach((s, i) => i > 0 && arena.reserve(`x${i}`, nchw(B, s)));
      for (const k of ["tmp.0", "tmp.1", "grad.a", "grad.b"]) arena.reserve(k, [largest]);
      arena.reserve("grad.re", [temp]);
    } else for (const k of ["pool.0", "pool.1", "pool.2"]) arena.reserve(k, [temp]);
    arena.reserve("stats.mean", [B * groups], "f32");
    arena.reserve("stats.rstd", [B * groups], "f32");
    blocks.forEach((b, i) => b.reserve(this.run, this.shapes[i]));
    reserveMore(arena);
    arena.commit(ctx);
    this.storage = ctx.storage;
  }

  get training(): boolean {
    return this.run.training;
  }

  get output(): Shape {
    return this.shapes[this.shapes.length - 1];
  }

  matches(B: number, input: Shape, training: boolean): boolean {
    const s = this.shapes[0];
    return this.B === B && s.C === input.C && s.H === input.H && s.W === input.W && this.training === training && this.storage === this.run.ctx.storage;
  }

  /** The output (B, C, H, W), valid until the next forward; x must keep its values until backward. */
  forward(x: Ptr): TensorView {
    const { run: r, blocks, shapes, B } = this, A = (n: string) => r.arena.get(n);
    this.#input = x;
    if (r.training) {
      blocks.forEach((b, i) => b.forward(r, shapes[i], i === 0 ? x : A(`x${i}`), A(`x${i + 1}`), A("tmp.0"), A("tmp.1")));
      return A(`x${blocks.length}`);
    }
    const pool = [0, 1, 2].map((j) => A(`pool.${j}`));
    let held = -1; // the pool buffer holding the current activation; -1: the caller's input
    blocks.forEach((b, i) => {
      const free = [0, 1, 2].filter((j) => j !== held);
      const target = b.inPlace && held >= 0 ? held : free.shift()!;
      const [t0, t1] = free.filter((j) => j !== target).map((j) => pool[j]);
      b.forward(r, shapes[i], held < 0 ? x : pool[held], pool[target], t0, t1 ?? null);
      held = target;
    });
    return at(pool[held], 0, nchw(B, this.output));
  }

  /** Backward of the last (training) forward from dout: parameter gradients accumulate; dx (optional) = d(input). */
  backward(dout: Ptr, dx: Ptr | null): void {
    const { run: r, blocks, shapes } = this, A = (n: string) => r.arena.get(n);
    if (!r.training || !this.#input) throw new Error("vae: backward needs a training forward first");
    const ga = A("grad.a"), gb = A("grad.b"), scratch = { g0: A("tmp.0"), g1: A("tmp.1"), re: A("grad.re") };
    let d: Ptr | null = dout;
    for (let i = blocks.length - 1; i >= 0; i--) {
      const din: Ptr | null = i === 0 ? dx : d === ga ? gb : ga;
      blocks[i].backward(r, shapes[i], i === 0 ? this.#input : A(`x${i}`), d!, din, scratch);
      d = din;
    }
  }

  get activationBytes(): number {
    return this.run.arena.bytes;
  }

  free(): void {
    this.run.arena.free();
  }
}
