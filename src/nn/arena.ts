// Activations in one `act` allocation per dtype, planned once per (model, batch shape): a model reserves named
// buffers, then commits, then reads them back by name as views. Buffers hold the context's storage dtype (fp32 or
// bf16: the ops' dusa_act arguments) unless reserved as "f32" (saved statistics: mean, rstd, logsumexp), which
// the ops read and write in fp32 whatever the storage.
import type { Context, Tensor, TensorView } from "../native/index.ts";
import { elementBytes, formatShape, numel } from "../native/index.ts";

export type ArenaDtype = "storage" | "f32";

export class Arena {
  #layout = new Map<string, { offset: number; shape: readonly number[]; dtype: ArenaDtype }>();
  #total: Record<ArenaDtype, number> = { storage: 0, f32: 0 };
  #blocks: Record<ArenaDtype, Tensor> | null = null;

  reserve(name: string, shape: readonly number[], dtype: ArenaDtype = "storage"): void {
    if (this.#blocks) throw new Error(`arena: reserve(${name}) after commit`);
    if (this.#layout.has(name)) throw new Error(`arena: duplicate buffer ${name}`);
    this.#layout.set(name, { offset: this.#total[dtype], shape, dtype });
    this.#total[dtype] += Math.ceil(numel(shape) / 16) * 16; // buffers aligned to 64 bytes in fp32, 32 in bf16
  }

  commit(ctx: Context): this {
    this.#blocks = {
      storage: ctx.alloc([Math.max(this.#total.storage, 16)], "act", ctx.storage),
      f32: ctx.alloc([Math.max(this.#total.f32, 16)], "act"),
    };
    return this;
  }

  get(name: string): TensorView {
    const entry = this.#layout.get(name);
    if (!entry) throw new Error(`arena: no buffer named ${name}`);
    if (!this.#blocks) throw new Error("arena: get before commit");
    return this.#blocks[entry.dtype].slice(entry.offset, entry.shape);
  }

  has(name: string): boolean {
    return this.#layout.has(name);
  }

  /** Bytes of the committed blocks (before commit: as if fp32 storage). */
  get bytes(): number {
    const storageBytes = this.#blocks ? elementBytes(this.#blocks.storage.dtype) : 4;
    return this.#total.storage * storageBytes + this.#total.f32 * 4;
  }

  describe(): string {
    return [...this.#layout].map(([n, e]) => `${n}${formatShape(e.shape)}${e.dtype === "f32" ? " f32" : ""}`).join(" ");
  }

  free(): void {
    if (!this.#blocks) return;
    this.#blocks.storage.free();
    this.#blocks.f32.free();
    this.#blocks = null;
  }
}
