// SiT (REPA models/sit.py) and DiT (facebookresearch/DiT) on the kernel library: same parameter names, adaLN-Zero
// blocks, forward and a hand-written backward. SiT takes continuous t in [0, 1] and predicts `inChannels`
// channels; DiT (learnSigma) takes integer t and predicts 2 x inChannels (eps, then the sigma half).
//   tokens = patchify(x) W_embed^T + b + pos_embed            (N, T, C)
//   c = t_embedder(timestep_embedding(t)) + y_embedder(y)     (N, C); s = silu(c) feeds every adaLN
//   block: x += gate_msa * attn(modulate(norm1(x))); x += gate_mlp * mlp(modulate(norm2(x)))
//   final: linear(modulate(norm_final(x))) -> unpatchify      (N, out, H, W)
import { elementBytes, type Context, type TensorView } from "../native/index.ts";
import { Arena } from "../nn/arena.ts";
import { Linears } from "../nn/linear.ts";
import { addLora, type LoraConfig } from "../nn/lora.ts";
import { ParamTable, Parameters } from "../nn/params.ts";
import { sincosPosEmbed2d } from "./pos-embed.ts";

export type SiTConfig = {
  inputSize: number; // latent H = W
  patchSize: number;
  inChannels: number;
  hidden: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  numClasses: number; // the label table has numClasses + 1 rows (the last is the null class)
  learnSigma: boolean; // DiT: 2 x inChannels outputs
  projector?: { zDims: number[]; encoderDepth: number; dim: number }; // REPA heads: loaded, never run here
};

const EPS = 1e-6;
const FREQ = 256; // frequency_embedding_size
type Ptr = TensorView | { ptr: number };

export function sitOutChannels(c: SiTConfig): number {
  return c.learnSigma ? 2 * c.inChannels : c.inChannels;
}

export function sitParamTable(c: SiTConfig): ParamTable {
  const t = new ParamTable();
  const C = c.hidden, p = c.patchSize, T = (c.inputSize / p) ** 2, H = Math.round(C * c.mlpRatio);
  t.add("x_embedder.proj.weight", [C, c.inChannels, p, p], "weight");
  t.add("x_embedder.proj.bias", [C], "bias");
  t.add("t_embedder.mlp.0.weight", [C, FREQ], "weight");
  t.add("t_embedder.mlp.0.bias", [C], "bias");
  t.add("t_embedder.mlp.2.weight", [C, C], "weight");
  t.add("t_embedder.mlp.2.bias", [C], "bias");
  t.add("y_embedder.embedding_table.weight", [c.numClasses + 1, C], "embedding");
  t.add("pos_embed", [1, T, C], "fixed");
  for (let i = 0; i < c.depth; i++) {
    const b = `blocks.${i}`;
    t.add(`${b}.attn.qkv.weight`, [3 * C, C], "weight");
    t.add(`${b}.attn.qkv.bias`, [3 * C], "bias");
    t.add(`${b}.attn.proj.weight`, [C, C], "weight");
    t.add(`${b}.attn.proj.bias`, [C], "bias");
    t.add(`${b}.mlp.fc1.weight`, [H, C], "weight");
    t.add(`${b}.mlp.fc1.bias`, [H], "bias");
    t.add(`${b}.mlp.fc2.weight`, [C, H], "weight");
    t.add(`${b}.mlp.fc2.bias`, [C], "bias");
    t.add(`${b}.adaLN_modulation.1.weight`, [6 * C, C], "weight");
    t.add(`${b}.adaLN_modulation.1.bias`, [6 * C], "bias");
  }
  if (c.projector)
    c.projector.zDims.forEach((z, i) => {
      const d = c.projector!.dim;
      t.add(`projectors.${i}.0.weight`, [d, C], "fixed");
      t.add(`projectors.${i}.0.bias`, [d], "fixed");
      t.add(`projectors.${i}.2.weight`, [d, d], "fixed");
      t.add(`projectors.${i}.2.bias`, [d], "fixed");
      t.add(`projectors.${i}.4.weight`, [z, d], "fixed");
      t.add(`projectors.${i}.4.bias`, [z], "fixed");
    });
  const out = sitOutChannels(c);
  t.add("final_layer.linear.weight", [p * p * out, C], "weight");
  t.add("final_layer.linear.bias", [p * p * out], "bias");
  t.add("final_layer.adaLN_modulation.1.weight", [2 * C, C], "weight");
  t.add("final_layer.adaLN_modulation.1.bias", [2 * C], "bias");
  return t;
}

/**
 * The activation buffers of a SiT/DiT for N samples, reserved but not allocated. A training plan keeps per block
 * only what backward cannot cheaply recompute; the LayerNorm+modulate outputs, x1 and the GELU output live in the
 * shared `h` / `x.attn` buffers and are recomputed in backward from the kept block input, stats, proj and fc1.
 */
export function sitLayout(c: SiTConfig, N: number, training: boolean): Arena {
  const C = c.hidden, T = (c.inputSize / c.patchSize) ** 2, NT = N * T, Hd = Math.round(C * c.mlpRatio);
  const PO = c.patchSize ** 2 * sitOutChannels(c);
  const a = new Arena();
  a.reserve("patches", [NT, c.patchSize ** 2 * c.inChannels]);
  a.reserve("freq", [N, FREQ]);
  a.reserve("t.h", [N, C]);
  a.reserve("t.a", [N, C]);
  a.reserve("t.emb", [N, C]);
  a.reserve("y.emb", [N, C]);
  a.reserve("c", [N, C]);
  a.reserve("silu_c", [N, C]);
  for (let i = 0; i <= c.depth; i++) if (training || i === 0 || i === c.depth) a.reserve(`x${i}`, [NT, C]);
  if (!training) a.reserve("x.mid", [NT, C]);
  a.reserve("h", [NT, Math.max(C, Hd)]); // h1, h2, the GELU output or the final layer's h: one at a time
  a.reserve("x.attn", [NT, C]); // x1 = x_in + gate_msa * proj, between the two halves of a block
  for (let i = 0; i < (training ? c.depth : 1); i++) {
    const k = `b${i}`;
    a.reserve(`${k}.mod`, [N, 6 * C]);
    a.reserve(`${k}.mean1`, [NT], "f32");
    a.reserve(`${k}.rstd1`, [NT], "f32");
    a.reserve(`${k}.qkv`, [NT, 3 * C]);
    a.reserve(`${k}.att`, [NT, C]);
    a.reserve(`${k}.lse`, [N * c.heads * T], "f32");
    a.reserve(`${k}.proj`, [NT, C]);
    a.reserve(`${k}.mean2`, [NT], "f32");
    a.reserve(`${k}.rstd2`, [NT], "f32");
    a.reserve(`${k}.fc1`, [NT, Hd]);
    a.reserve(`${k}.fc2`, [NT, C]);
  }
  a.reserve("f.mod", [N, 2 * C]);
  a.reserve("f.mean", [NT], "f32");
  a.reserve("f.rstd", [NT], "f32");
  a.reserve("f.out", [NT, PO]);
  a.reserve("out", [N, sitOutChannels(c), c.inputSize, c.inputSize]);
  if (training) {
    a.reserve("grad.res", [NT, C]);
    a.reserve("grad.a", [NT, Math.max(3 * C, Hd, PO)]);
    a.reserve("grad.c", [NT, C]);
    a.reserve("grad.mod", [N, 6 * C]);
    a.reserve("grad.s", [N, C]);
    a.reserve("grad.s_acc", [N, C]);
  }
  return a;
}

type Plan = { N: number; training: boolean; storage: "f32" | "bf16"; arena: Arena };

export class SiT {
  readonly table: ParamTable;
  readonly params: Parameters;
  readonly linears: Linears;
  readonly loraLayers: string[];
  readonly tokens: number;
  #plan: Plan | null = null;
  #labels: Ptr | null = null; // the last forward's y, read by the label table's gradient (pretraining only)

  constructor(readonly ctx: Context, readonly config: SiTConfig, options: { lora?: LoraConfig } = {}) {
    const c = config;
    if (c.inputSize % c.patchSize) throw new Error(`sit: input size ${c.inputSize} not divisible by patch ${c.patchSize}`);
    if (c.hidden % c.heads) throw new Error(`sit: hidden ${c.hidden} not divisible by heads ${c.heads}`);
    this.table = sitParamTable(c);
    this.loraLayers = options.lora ? addLora(this.table, options.lora) : [];
    this.params = new Parameters(ctx, this.table);
    this.linears = new Linears(ctx, this.params, options.lora ? options.lora.alpha / options.lora.rank : 0);
    this.tokens = (c.inputSize / c.patchSize) ** 2;
    this.params.p("pos_embed").write(sincosPosEmbed2d(c.hidden, c.inputSize / c.patchSize));
  }

  /**
   * Plans activations for N samples. training keeps every block's activations for backward; otherwise blocks
   * share one set of buffers (a forward-only pass, as when the generative model is frozen).
   */
  plan(N: number, training: boolean): Plan {
    const storage = this.ctx.storage;
    if (this.#plan && this.#plan.N === N && this.#plan.training === training && this.#plan.storage === storage) return this.#plan;
    this.#plan?.arena.free();
    this.#plan = { N, training, storage, arena: sitLayout(this.config, N, training).commit(this.ctx) };
    return this.#plan;
  }

  get activationBytes(): number {
    return this.#plan?.arena.bytes ?? 0;
  }

  /** Prediction (N, out, H, W) for latents x (N, inChannels, H, W), times t (N) and labels y (N, int32). */
  forward(x: Ptr, t: Ptr, y: Ptr, N: number, options: { training?: boolean } = {}): TensorView {
    const training = options.training ?? this.params.grads !== null;
    const plan = this.plan(N, training);
    this.#labels = y;
    const { ctx, config: c, params: P } = this;
    P.refreshShadow();
    const E = elementBytes(ctx.storage); // bytes per activation element: pointer offsets into mod and qkv rows
    const A = (n: string) => plan.arena.get(n);
    const p = (n: string) => P.p(n);
    const C = c.hidden, T = this.tokens, NT = N * T, pp = c.patchSize, S = c.inputSize, Hd = Math.round(C * c.mlpRatio);
    // embeddings
    ctx.call("dusa_patchify_forward", A("patches"), x, N, c.inChannels, S, S, pp);
    this.linears.forward("x_embedder.proj", A("x0"), A("patches"), NT, c.inChannels * pp * pp, C);
    const pos = P.w("pos_embed");
    for (let n = 0; n < N; n++) {
      const x0n = A("x0").base.slice(A("x0").offset + n * T * C, [T, C]);
      ctx.call("dusa_add", x0n, x0n, pos, T * C);
    }
    ctx.call("dusa_timestep_embedding", A("freq"), t, N, FREQ, 10000);
    this.linears.forward("t_embedder.mlp.0", A("t.h"), A("freq"), N, FREQ, C);
    ctx.call("dusa_silu_forward", A("t.a"), A("t.h"), N * C);
    this.linears.forward("t_embedder.mlp.2", A("t.emb"), A("t.a"), N, C, C);
    ctx.call("dusa_embedding_forward", A("y.emb"), y, P.w("y_embedder.embedding_table.weight"), N, C, c.numClasses + 1);
    ctx.call("dusa_add", A("c"), A("t.emb"), A("y.emb"), N * C);
    ctx.call("dusa_silu_forward", A("silu_c"), A("c"), N * C);
    // blocks
    const hd = C / c.heads;
    for (let i = 0; i < c.depth; i++) {
      const k = training ? `b${i}` : "b0";
      const a = (n: string) => A(`${k}.${n}`);
      const q = (n: string) => p(`blocks.${i}.${n}`);
      const xin = training || i === 0 ? A(`x${i}`) : A("x.mid");
      const xout = training || i === c.depth - 1 ? A(`x${i + 1}`) : A("x.mid");
      const mod = a("mod"), m = mod.ptr, h = A("h"), x1 = A("x.attn");
      this.linears.forward(`blocks.${i}.adaLN_modulation.1`, mod, A("silu_c"), N, C, 6 * C);
      ctx.call("dusa_layernorm_modulate_forward", h, a("mean1"), a("rstd1"), xin, m, m + E * C, N, T, C, 6 * C, EPS);
      this.linears.forward(`blocks.${i}.attn.qkv`, a("qkv"), h, NT, C, 3 * C);
      const qkv = a("qkv").ptr;
      ctx.call("dusa_attention_forward", a("att"), a("lse"), qkv, qkv + E * C, qkv + 2 * E * C, N, T, c.heads, hd, 3 * C);
      this.linears.forward(`blocks.${i}.attn.proj`, a("proj"), a("att"), NT, C, C);
      ctx.call("dusa_gated_residual_forward", x1, xin, a("proj"), m + 2 * E * C, N, T, C, 6 * C);
      ctx.call("dusa_layernorm_modulate_forward", h, a("mean2"), a("rstd2"), x1, m + 3 * E * C, m + 4 * E * C, N, T, C, 6 * C, EPS);
      this.linears.forward(`blocks.${i}.mlp.fc1`, a("fc1"), h, NT, C, Hd);
      ctx.call("dusa_gelu_forward", h, a("fc1"), NT * Hd, 1);
      this.linears.forward(`blocks.${i}.mlp.fc2`, a("fc2"), h, NT, Hd, C);
      ctx.call("dusa_gated_residual_forward", xout, x1, a("fc2"), m + 5 * E * C, N, T, C, 6 * C);
    }
    // final layer
    const fm = A("f.mod"), PO = pp * pp * sitOutChannels(c);
    this.linears.forward("final_layer.adaLN_modulation.1", fm, A("silu_c"), N, C, 2 * C);
    ctx.call("dusa_layernorm_modulate_forward", A("h"), A("f.mean"), A("f.rstd"), A(`x${c.depth}`), fm.ptr, fm.ptr + E * C, N, T, C, 2 * C, EPS);
    this.linears.forward("final_layer.linear", A("f.out"), A("h"), NT, C, PO);
    ctx.call("dusa_unpatchify_forward", A("out"), A("f.out"), N, sitOutChannels(c), S, S, pp);
    return A("out");
  }

  /**
   * Backward of the last (training) forward from dout (N, out, H, W): parameter gradients accumulate into the
   * trainable ones (the label table only when it is trainable — pretraining, never TTA; pos_embed never); dx, when
   * given, receives the gradient of the latents. The forward's x and y must still hold the same values.
   */
  backward(dout: Ptr, dx: Ptr | null = null): void {
    const plan = this.#plan;
    if (!plan?.training) throw new Error("sit: backward needs a training forward first");
    const { ctx, config: c, params: P } = this;
    const { N } = plan;
    const E = elementBytes(ctx.storage);
    const A = (n: string) => plan.arena.get(n);
    const p = (n: string) => P.p(n);
    const g = (n: string) => P.g(n);
    const C = c.hidden, T = this.tokens, NT = N * T, pp = c.patchSize, S = c.inputSize, Hd = Math.round(C * c.mlpRatio);
    const PO = pp * pp * sitOutChannels(c), hd = C / c.heads;
    // da (wide) and dc (C wide) take turns as gradient buffers; recomputed activations go to h and x.attn, skipped
    // when only a frozen weight's gradient would read them
    const dres = A("grad.res"), da = A("grad.a"), dc = A("grad.c"), dmod = A("grad.mod"), ds = A("grad.s"), dsAcc = A("grad.s_acc");
    const h = A("h"), x1 = A("x.attn");
    const L = this.linears, reads = (layer: string) => L.readsInput(layer);
    // final layer
    ctx.call("dusa_unpatchify_backward", da, dout, N, sitOutChannels(c), S, S, pp);
    const fm = A("f.mod").ptr;
    if (reads("final_layer.linear"))
      ctx.call("dusa_layernorm_modulate_forward", h, A("f.mean"), A("f.rstd"), A(`x${c.depth}`), fm, fm + E * C, N, T, C, 2 * C, EPS);
    L.backward("final_layer.linear", dc, da, h, NT, C, PO);
    ctx.call("dusa_layernorm_modulate_backward", dres, dmod.ptr, dmod.ptr + E * C, dc, A(`x${c.depth}`), fm + E * C, A("f.mean"), A("f.rstd"), N, T, C, 2 * C);
    L.backward("final_layer.adaLN_modulation.1", dsAcc, dmod, A("silu_c"), N, C, 2 * C);
    // blocks, last to first; dres holds d(block output) and is updated in place to d(block input)
    for (let i = c.depth - 1; i >= 0; i--) {
      const a = (n: string) => A(`b${i}.${n}`);
      const q = (n: string) => `blocks.${i}.${n}`;
      const m = a("mod").ptr, d = dmod.ptr, xin = A(`x${i}`);
      // x_out = x1 + gate_mlp * fc2
      ctx.call("dusa_gated_residual_backward", dres, dc, d + 5 * E * C, dres, a("fc2"), m + 5 * E * C, N, T, C, 6 * C);
      if (reads(q("mlp.fc2"))) ctx.call("dusa_gelu_forward", h, a("fc1"), NT * Hd, 1);
      L.backward(q("mlp.fc2"), da, dc, h, NT, Hd, C);
      ctx.call("dusa_gelu_backward", da, da, a("fc1"), NT * Hd, 1); // elementwise, so in place
      ctx.call("dusa_gated_residual_forward", x1, xin, a("proj"), m + 2 * E * C, N, T, C, 6 * C);
      if (reads(q("mlp.fc1"))) ctx.call("dusa_layernorm_modulate_forward", h, a("mean2"), a("rstd2"), x1, m + 3 * E * C, m + 4 * E * C, N, T, C, 6 * C, EPS);
      L.backward(q("mlp.fc1"), dc, da, h, NT, C, Hd);
      ctx.call("dusa_layernorm_modulate_backward", da, d + 3 * E * C, d + 4 * E * C, dc, x1, m + 4 * E * C, a("mean2"), a("rstd2"), N, T, C, 6 * C);
      ctx.call("dusa_add", dres, dres, da, NT * C);
      // x1 = x_in + gate_msa * proj
      ctx.call("dusa_gated_residual_backward", dres, da, d + 2 * E * C, dres, a("proj"), m + 2 * E * C, N, T, C, 6 * C);
      L.backward(q("attn.proj"), dc, da, a("att"), NT, C, C);
      const qkv = a("qkv").ptr, dq = da.ptr;
      ctx.call("dusa_attention_backward", dq, dq + E * C, dq + 2 * E * C, dc, qkv, qkv + E * C, qkv + 2 * E * C, a("att"), a("lse"), N, T, c.heads, hd, 3 * C);
      if (reads(q("attn.qkv"))) ctx.call("dusa_layernorm_modulate_forward", h, a("mean1"), a("rstd1"), xin, m, m + E * C, N, T, C, 6 * C, EPS);
      L.backward(q("attn.qkv"), dc, da, h, NT, C, 3 * C);
      ctx.call("dusa_layernorm_modulate_backward", da, d, d + E * C, dc, xin, m + E * C, a("mean1"), a("rstd1"), N, T, C, 6 * C);
      ctx.call("dusa_add", dres, dres, da, NT * C);
      L.backward(q("adaLN_modulation.1"), ds, dmod, A("silu_c"), N, C, 6 * C);
      ctx.call("dusa_add", dsAcc, dsAcc, ds, N * C);
    }
    // embeddings: x0 = patches W^T + b + pos (pos fixed); c = t_emb + y_emb (label table frozen)
    const wantPatch = dx !== null;
    this.linears.backward("x_embedder.proj", wantPatch ? da : null, dres, A("patches"), NT, c.inChannels * pp * pp, C);
    if (dx) ctx.call("dusa_patchify_backward", dx, da, N, c.inChannels, S, S, pp);
    ctx.call("dusa_silu_backward", ds, dsAcc, A("c"), N * C); // d(c) = d(t_emb) = d(y_emb)
    // the label table trains only when asked (pretraining); TTA keeps it frozen (DUSA §2.1)
    const dtable = g("y_embedder.embedding_table.weight");
    if (dtable) ctx.call("dusa_embedding_backward", dtable, ds, this.#labels, N, C, c.numClasses + 1);
    this.linears.backward("t_embedder.mlp.2", dc, ds, A("t.a"), N, C, C);
    ctx.call("dusa_silu_backward", ds, dc, A("t.h"), N * C);
    this.linears.backward("t_embedder.mlp.0", null, ds, A("freq"), N, FREQ, C);
  }

  free(): void {
    this.#plan?.arena.free();
    this.#plan = null;
    this.linears.free();
    this.params.free();
  }
}
