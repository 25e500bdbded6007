// Every linear layer of a model goes through here, so low-rank adapters apply wherever the table has them
// (and not once merged). Without an adapter this is exactly dusa_linear_forward / dusa_linear_backward.
import type { Context, Tensor, TensorView } from "../native/index.ts";
import type { Parameters } from "./params.ts";

type Ptr = TensorView | Tensor | { ptr: number };

export class Linears {
  merged = false;
  #scratch: Tensor | null = null;

  constructor(readonly ctx: Context, readonly params: Parameters, readonly loraScale = 0) {}

  #adapter(layer: string) {
    const table = this.params.table;
    if (this.merged || !table.byName.has(`${layer}.lora_A`)) return null;
    const A = this.params.p(`${layer}.lora_A`), B = this.params.p(`${layer}.lora_B`);
    return { A, B, r: A.shape[0], dA: this.params.g(`${layer}.lora_A`), dB: this.params.g(`${layer}.lora_B`) };
  }

  #tmp(floats: number): Tensor {
    if (!this.#scratch || this.#scratch.size < floats) {
      this.#scratch?.free();
      this.#scratch = this.ctx.alloc([floats], "workspace");
    }
    return this.#scratch;
  }

  /** out (N, OC) = in (N, IC) Wᵀ + b [+ s (in Aᵀ) Bᵀ] */
  forward(layer: string, out: Ptr, input: Ptr, N: number, IC: number, OC: number): void {
    const { ctx, params: P } = this;
    const bias = P.table.byName.has(`${layer}.bias`) ? P.p(`${layer}.bias`) : null;
    ctx.call("dusa_linear_forward", out, input, P.w(`${layer}.weight`), bias, N, IC, OC);
    const lora = this.#adapter(layer);
    if (!lora) return;
    if (ctx.storage !== "f32") throw new Error(`${layer}: LoRA adapters run in fp32 storage only (their gradients go through dusa_matmul's output)`);
    const xa = this.#tmp(N * lora.r); // (N, r)
    ctx.call("dusa_matmul", xa, input, lora.A, N, lora.r, IC, 0, 1, 1, 0);
    ctx.call("dusa_matmul", out, xa, lora.B, N, OC, lora.r, 0, 1, this.loraScale, 1);
  }

  /** Whether backward reads `input` (a weight or adapter gradient is wanted); when not, a caller that recomputes
   * the input for backward may skip it. */
  readsInput(layer: string): boolean {
    const lora = this.#adapter(layer);
    return this.params.g(`${layer}.weight`) !== null || (lora !== null && (lora.dA !== null || lora.dB !== null));
  }

  /** din = dout W [+ s dout B A] (overwrite, skipped when null); parameter gradients accumulate when trainable. */
  backward(layer: string, din: Ptr | null, dout: Ptr, input: Ptr, N: number, IC: number, OC: number): void {
    const { ctx, params: P } = this;
    const hasBias = P.table.byName.has(`${layer}.bias`);
    ctx.call("dusa_linear_backward", din, P.g(`${layer}.weight`), hasBias ? P.g(`${layer}.bias`) : null, dout, input, P.w(`${layer}.weight`), N, IC, OC);
    const lora = this.#adapter(layer);
    if (!lora || (!din && !lora.dA && !lora.dB)) return;
    const s = this.loraScale, r = lora.r;
    const tmp = this.#tmp(2 * N * r);
    const xa = tmp.slice(0, [N, r]), dxa = tmp.slice(N * r, [N, r]);
    ctx.call("dusa_matmul", dxa, dout, lora.B, N, r, OC, 0, 0, s, 0); // d(x Aᵀ) = s dout B
    if (lora.dB) {
      ctx.call("dusa_matmul", xa, input, lora.A, N, r, IC, 0, 1, 1, 0); // recomputed x Aᵀ
      ctx.call("dusa_matmul", lora.dB, dout, xa, OC, r, N, 1, 0, s, 1);
    }
    if (lora.dA) ctx.call("dusa_matmul", lora.dA, dxa, input, r, IC, N, 1, 0, 1, 1);
    if (din) ctx.call("dusa_matmul", din, dxa, lora.A, N, IC, r, 0, 0, 1, 1);
  }

  /** W += s B A for every adapter (forward then skips them); unmerge subtracts it again. */
  merge(): void {
    this.#fold(1);
    this.merged = true;
  }

  unmerge(): void {
    this.merged = false;
    this.#fold(-1);
  }

  #fold(sign: number): void {
    const P = this.params;
    for (const e of P.table.entries) {
      if (!e.name.endsWith(".lora_A")) continue;
      const layer = e.name.slice(0, -".lora_A".length);
      const W = P.p(`${layer}.weight`), A = P.p(`${layer}.lora_A`), B = P.p(`${layer}.lora_B`);
      const [OC, IC] = W.shape, r = A.shape[0];
      this.ctx.call("dusa_matmul", W, B, A, OC, IC, r, 0, 0, sign * this.loraScale, 1);
    }
  }

  free(): void {
    this.#scratch?.free();
    this.#scratch = null;
  }
}
