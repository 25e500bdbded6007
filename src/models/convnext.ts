// ConvNeXt (timm structure and parameter names) on the kernel library: forward, and a hand-written backward in
// reverse order of the forward. Layout: NCHW for convolutions and the residual stream, NHWC (rows of C) inside
// each block for LayerNorm and the MLP.
//   stem: conv p x p / p -> LayerNorm2d
//   stage s: [s > 0: LayerNorm2d -> conv 2x2 / 2] -> blocks: x + gamma * fc2(gelu(fc1(norm(dwconv7x7(x)))))
//   head: global average pool -> LayerNorm -> fc
import type { Context, TensorView } from "../native/index.ts";
import { Arena } from "../nn/arena.ts";
import { Linears } from "../nn/linear.ts";
import { addLora, type LoraConfig } from "../nn/lora.ts";
import { ParamTable, Parameters } from "../nn/params.ts";

export type ConvNeXtConfig = { inChans: number; numClasses: number; depths: number[]; dims: number[]; stemPatch: number };
const EPS = 1e-6;
const KERNEL = 7;
type Buf = { ptr: number } | null;

export function convnextParamTable(c: ConvNeXtConfig): ParamTable {
  const t = new ParamTable();
  const p = c.stemPatch;
  t.add("stem.0.weight", [c.dims[0], c.inChans, p, p], "weight");
  t.add("stem.0.bias", [c.dims[0]], "bias");
  t.add("stem.1.weight", [c.dims[0]], "norm");
  t.add("stem.1.bias", [c.dims[0]], "norm");
  c.depths.forEach((depth, s) => {
    const C = c.dims[s];
    if (s > 0) {
      t.add(`stages.${s}.downsample.0.weight`, [c.dims[s - 1]], "norm");
      t.add(`stages.${s}.downsample.0.bias`, [c.dims[s - 1]], "norm");
      t.add(`stages.${s}.downsample.1.weight`, [C, c.dims[s - 1], 2, 2], "weight");
      t.add(`stages.${s}.downsample.1.bias`, [C], "bias");
    }
    for (let m = 0; m < depth; m++) {
      const b = `stages.${s}.blocks.${m}`;
      t.add(`${b}.gamma`, [C], "scale");
      t.add(`${b}.conv_dw.weight`, [C, 1, KERNEL, KERNEL], "weight");
      t.add(`${b}.conv_dw.bias`, [C], "bias");
      t.add(`${b}.norm.weight`, [C], "norm");
      t.add(`${b}.norm.bias`, [C], "norm");
      t.add(`${b}.mlp.fc1.weight`, [4 * C, C], "weight");
      t.add(`${b}.mlp.fc1.bias`, [4 * C], "bias");
      t.add(`${b}.mlp.fc2.weight`, [C, 4 * C], "weight");
      t.add(`${b}.mlp.fc2.bias`, [C], "bias");
    }
  });
  const last = c.dims[c.dims.length - 1];
  t.add("head.norm.weight", [last], "norm");
  t.add("head.norm.bias", [last], "norm");
  t.add("head.fc.weight", [c.numClasses, last], "weight");
  t.add("head.fc.bias", [c.numClasses], "bias");
  return t;
}

/** The activation buffers of a ConvNeXt for input (B, inChans, H, W), reserved but not allocated. */
export function convnextLayout(c: ConvNeXtConfig, B: number, H: number, W: number): { sizes: { H: number; W: number }[]; arena: Arena } {
  if (H % c.stemPatch || W % c.stemPatch) throw new Error(`convnext: input ${H}x${W} is not divisible by the stem patch ${c.stemPatch}`);
  const sizes: { H: number; W: number }[] = [];
  let h = H / c.stemPatch, w = W / c.stemPatch;
  const a = new Arena();
  a.reserve("stem.conv", [B, c.dims[0], h, w]);
  a.reserve("stem.mean", [B * h * w], "f32");
  a.reserve("stem.rstd", [B * h * w], "f32");
  let maxNCHW = 0, maxHidden = 0;
  c.depths.forEach((depth, s) => {
    const C = c.dims[s];
    if (s > 0) {
      a.reserve(`s${s}.ds.mean`, [B * h * w], "f32");
      a.reserve(`s${s}.ds.rstd`, [B * h * w], "f32");
      maxNCHW = Math.max(maxNCHW, B * c.dims[s - 1] * h * w); // tmp.nchw holds the downsample LayerNorm output
      if (h % 2 || w % 2) throw new Error(`convnext: stage ${s} input ${h}x${w} cannot be downsampled by 2`);
      h /= 2;
      w /= 2;
    }
    sizes.push({ H: h, W: w });
    const rows = B * h * w;
    maxNCHW = Math.max(maxNCHW, rows * C);
    maxHidden = Math.max(maxHidden, rows * 4 * C);
    for (let m = 0; m <= depth; m++) a.reserve(`s${s}.b${m}.in`, [B, C, h, w]); // b{depth}.in is the stage output
    for (let m = 0; m < depth; m++) {
      const k = `s${s}.b${m}`;
      // the LayerNorm and GELU outputs are not kept: backward recomputes them from dw and fc1 (into grad.h1/h2)
      a.reserve(`${k}.dw`, [rows, C]); // depthwise output, NHWC (LayerNorm input)
      a.reserve(`${k}.mean`, [rows], "f32");
      a.reserve(`${k}.rstd`, [rows], "f32");
      a.reserve(`${k}.fc1`, [rows, 4 * C]);
      a.reserve(`${k}.fc2`, [rows, C]);
    }
  });
  const last = c.dims[c.dims.length - 1];
  a.reserve("head.pool", [B, last]);
  a.reserve("head.ln", [B, last]);
  a.reserve("head.mean", [B], "f32");
  a.reserve("head.rstd", [B], "f32");
  a.reserve("logits", [B, c.numClasses]);
  // scratch: NCHW temporaries and gradients; grad.h1/h2 (4C wide) also hold a block's LayerNorm and GELU outputs
  a.reserve("tmp.nchw", [maxNCHW]);
  a.reserve("grad.a", [Math.max(maxNCHW, B * c.numClasses)]);
  a.reserve("grad.b", [maxNCHW]);
  a.reserve("grad.c", [maxNCHW]);
  a.reserve("grad.h1", [maxHidden]);
  a.reserve("grad.h2", [maxHidden]);
  return { sizes, arena: a };
}

type Plan = { B: number; H: number; W: number; storage: "f32" | "bf16"; sizes: { H: number; W: number }[]; arena: Arena };

export class ConvNeXt {
  readonly table: ParamTable;
  readonly params: Parameters;
  readonly linears: Linears;
  readonly loraLayers: string[];
  #plan: Plan | null = null;
  #input: TensorView | { ptr: number } | null = null; // the last forward's x, read again by the stem's weight gradient

  constructor(readonly ctx: Context, readonly config: ConvNeXtConfig, options: { lora?: LoraConfig } = {}) {
    if (config.depths.length !== config.dims.length) throw new Error("convnext: depths and dims differ in length");
    this.table = convnextParamTable(config);
    this.loraLayers = options.lora ? addLora(this.table, options.lora) : [];
    this.params = new Parameters(ctx, this.table);
    this.linears = new Linears(ctx, this.params, options.lora ? options.lora.alpha / options.lora.rank : 0);
  }

  /** Plans the activation arena for input (B, inChans, H, W); re-planned only when the shape changes. */
  plan(B: number, H: number, W: number): Plan {
    const storage = this.ctx.storage;
    if (this.#plan && this.#plan.B === B && this.#plan.H === H && this.#plan.W === W && this.#plan.storage === storage) return this.#plan;
    this.#plan?.arena.free();
    const { sizes, arena } = convnextLayout(this.config, B, H, W);
    this.#plan = { B, H, W, storage, sizes, arena: arena.commit(this.ctx) };
    return this.#plan;
  }

  get activationBytes(): number {
    return this.#plan?.arena.bytes ?? 0;
  }

  /** logits (B, numClasses) for x (B, inChans, H, W); activations are kept for backward. */
  forward(x: TensorView | { ptr: number }, B: number, H: number, W: number): TensorView {
    const { ctx, config: c, params: P } = this;
    const plan = this.plan(B, H, W);
    P.refreshShadow();
    this.#input = x;
    const A = (n: string) => plan.arena.get(n);
    const p = (n: string) => P.p(n);
    const k = c.stemPatch;
    let { H: h, W: w } = plan.sizes[0];
    ctx.call("dusa_conv2d_forward", A("stem.conv"), x, P.w("stem.0.weight"), p("stem.0.bias"), B, c.inChans, H, W, c.dims[0], k, k, k, k, 0, 0, 0, 0);
    ctx.call("dusa_layernorm2d_forward", A("s0.b0.in"), A("stem.mean"), A("stem.rstd"), A("stem.conv"), p("stem.1.weight"), p("stem.1.bias"), B, c.dims[0], h * w, EPS);
    c.depths.forEach((depth, s) => {
      const C = c.dims[s];
      if (s > 0) {
        const Cp = c.dims[s - 1];
        const prev = A(`s${s - 1}.b${c.depths[s - 1]}.in`);
        ctx.call("dusa_layernorm2d_forward", A("tmp.nchw"), A(`s${s}.ds.mean`), A(`s${s}.ds.rstd`), prev, p(`stages.${s}.downsample.0.weight`), p(`stages.${s}.downsample.0.bias`), B, Cp, h * w, EPS);
        ctx.call("dusa_conv2d_forward", A(`s${s}.b0.in`), A("tmp.nchw"), P.w(`stages.${s}.downsample.1.weight`), p(`stages.${s}.downsample.1.bias`), B, Cp, h, w, C, 2, 2, 2, 2, 0, 0, 0, 0);
        ({ H: h, W: w } = plan.sizes[s]);
      }
      const rows = B * h * w;
      for (let m = 0; m < depth; m++) {
        const a = (n: string) => A(`s${s}.b${m}.${n}`);
        const q = (n: string) => p(`stages.${s}.blocks.${m}.${n}`);
        const tmp = A("tmp.nchw"), ln = A("grad.h1"), gelu = A("grad.h2");
        ctx.call("dusa_dwconv2d_forward", tmp, a("in"), P.w(`stages.${s}.blocks.${m}.conv_dw.weight`), q("conv_dw.bias"), B, C, h, w, KERNEL);
        ctx.call("dusa_nchw_to_nhwc", a("dw"), tmp, B, C, h, w);
        ctx.call("dusa_layernorm_forward", ln, a("mean"), a("rstd"), a("dw"), q("norm.weight"), q("norm.bias"), rows, C, EPS);
        this.linears.forward(`stages.${s}.blocks.${m}.mlp.fc1`, a("fc1"), ln, rows, C, 4 * C);
        ctx.call("dusa_gelu_forward", gelu, a("fc1"), rows * 4 * C, 0);
        this.linears.forward(`stages.${s}.blocks.${m}.mlp.fc2`, a("fc2"), gelu, rows, 4 * C, C);
        ctx.call("dusa_channel_scale_forward", A("grad.h1"), a("fc2"), q("gamma"), rows, C); // gamma * fc2, NHWC
        ctx.call("dusa_nhwc_to_nchw", tmp, A("grad.h1"), B, C, h, w);
        ctx.call("dusa_add", A(`s${s}.b${m + 1}.in`), a("in"), tmp, rows * C);
      }
    });
    const S = c.depths.length - 1, last = c.dims[S];
    ctx.call("dusa_avgpool_forward", A("head.pool"), A(`s${S}.b${c.depths[S]}.in`), B, last, h * w);
    ctx.call("dusa_layernorm_forward", A("head.ln"), A("head.mean"), A("head.rstd"), A("head.pool"), p("head.norm.weight"), p("head.norm.bias"), B, last, EPS);
    this.linears.forward("head.fc", A("logits"), A("head.ln"), B, last, c.numClasses);
    return A("logits");
  }

  /**
   * Backward of the last forward from dlogits (B, numClasses). Parameter gradients accumulate into the trainable
   * parameters' gradients (frozen ones cost no weight-gradient work); dx, when given, receives the input gradient.
   * The forward's input must still hold the same values.
   */
  backward(dlogits: TensorView | { ptr: number }, dx: Buf = null): void {
    const plan = this.#plan;
    if (!plan) throw new Error("convnext: backward before forward");
    const { ctx, config: c, params: P } = this;
    const { B, H, W } = plan;
    const A = (n: string) => plan.arena.get(n);
    const p = (n: string) => P.p(n);
    const g = (n: string) => P.g(n);
    const S = c.depths.length - 1, last = c.dims[S];
    let { H: h, W: w } = plan.sizes[S];
    // head
    const dHeadLn = A("grad.b"), dPool = A("grad.c");
    this.linears.backward("head.fc", dHeadLn, dlogits, A("head.ln"), B, last, c.numClasses);
    ctx.call("dusa_layernorm_backward", dPool, g("head.norm.weight"), g("head.norm.bias"), dHeadLn, A("head.pool"), p("head.norm.weight"), A("head.mean"), A("head.rstd"), B, last);
    let dres = A("grad.a"), spare = A("grad.b");
    ctx.call("dusa_avgpool_backward", dres, dPool, B, last, h * w);
    for (let s = S; s >= 0; s--) {
      const C = c.dims[s];
      ({ H: h, W: w } = plan.sizes[s]);
      const rows = B * h * w;
      for (let m = c.depths[s] - 1; m >= 0; m--) {
        const a = (n: string) => A(`s${s}.b${m}.${n}`);
        const q = (n: string) => `stages.${s}.blocks.${m}.${n}`;
        const h1 = A("grad.h1"), h2 = A("grad.h2"), tmp = A("tmp.nchw"), dc = A("grad.c");
        // out = in + nchw(gamma * fc2): the residual passes dres through; the branch gets nhwc(dres)
        ctx.call("dusa_nchw_to_nhwc", dc, dres, B, C, h, w);
        ctx.call("dusa_channel_scale_backward", spare, g(q("gamma")), dc, a("fc2"), p(q("gamma")), rows, C);
        // the GELU output (in h2 until gelu backward overwrites it) and then the LayerNorm output (in h1) are
        // recomputed only for the weight gradients that read them (not in norm-only mode)
        if (this.linears.readsInput(q("mlp.fc2"))) ctx.call("dusa_gelu_forward", h2, a("fc1"), rows * 4 * C, 0);
        this.linears.backward(q("mlp.fc2"), h1, spare, h2, rows, 4 * C, C);
        ctx.call("dusa_gelu_backward", h2, h1, a("fc1"), rows * 4 * C, 0);
        if (this.linears.readsInput(q("mlp.fc1")))
          ctx.call("dusa_layernorm_forward", h1, a("mean"), a("rstd"), a("dw"), p(q("norm.weight")), p(q("norm.bias")), rows, C, EPS);
        this.linears.backward(q("mlp.fc1"), dc, h2, h1, rows, C, 4 * C);
        ctx.call("dusa_layernorm_backward", spare, g(q("norm.weight")), g(q("norm.bias")), dc, a("dw"), p(q("norm.weight")), a("mean"), a("rstd"), rows, C);
        ctx.call("dusa_nhwc_to_nchw", dc, spare, B, C, h, w);
        ctx.call("dusa_dwconv2d_backward", tmp, g(q("conv_dw.weight")), g(q("conv_dw.bias")), dc, a("in"), P.w(q("conv_dw.weight")), B, C, h, w, KERNEL);
        ctx.call("dusa_add", dres, dres, tmp, rows * C);
      }
      if (s > 0) {
        const Cp = c.dims[s - 1];
        const hp = h * 2, wp = w * 2;
        const dsLn = A("grad.c"), ln = A("tmp.nchw"), prev = A(`s${s - 1}.b${c.depths[s - 1]}.in`);
        if (g(`stages.${s}.downsample.1.weight`)) // the LayerNorm output, recomputed for the conv's weight gradient
          ctx.call("dusa_layernorm2d_forward", ln, A(`s${s}.ds.mean`), A(`s${s}.ds.rstd`), prev, p(`stages.${s}.downsample.0.weight`), p(`stages.${s}.downsample.0.bias`), B, Cp, hp * wp, EPS);
        ctx.call("dusa_conv2d_backward", dsLn, g(`stages.${s}.downsample.1.weight`), g(`stages.${s}.downsample.1.bias`), dres, ln, P.w(`stages.${s}.downsample.1.weight`), B, Cp, hp, wp, C, 2, 2, 2, 2, 0, 0, 0, 0);
        ctx.call("dusa_layernorm2d_backward", spare, g(`stages.${s}.downsample.0.weight`), g(`stages.${s}.downsample.0.bias`), dsLn, prev, p(`stages.${s}.downsample.0.weight`), A(`s${s}.ds.mean`), A(`s${s}.ds.rstd`), B, Cp, hp * wp);
        [dres, spare] = [spare, dres];
      }
    }
    // stem
    ({ H: h, W: w } = plan.sizes[0]);
    const dConv = spare;
    ctx.call("dusa_layernorm2d_backward", dConv, g("stem.1.weight"), g("stem.1.bias"), dres, A("stem.conv"), p("stem.1.weight"), A("stem.mean"), A("stem.rstd"), B, c.dims[0], h * w);
    const k = c.stemPatch;
    const wantConvGrads = dx || g("stem.0.weight") || g("stem.0.bias");
    if (wantConvGrads)
      ctx.call("dusa_conv2d_backward", dx, g("stem.0.weight"), g("stem.0.bias"), dConv, this.#input, P.w("stem.0.weight"), B, c.inChans, H, W, c.dims[0], k, k, k, k, 0, 0, 0, 0);
  }

  free(): void {
    this.#plan?.arena.free();
    this.#plan = null;
    this.linears.free();
    this.params.free();
  }
}
