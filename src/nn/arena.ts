// Activations in one `act` allocation, planned once per (model, batch shape): a model reserves named buffers,
// then commits, then reads them back by name as views.
import type { Context, Tensor, TensorView } from "../native/index.ts";
import { formatShape, numel } from "../native/index.ts";

export class Arena {
  #layout = new Map<string, { offset: number; shape: readonly number[] }>();
  #total = 0;
  #block: Tensor | null = null;

  reserve(name: string, shape: readonly number[]): void {
    if (this.#block) throw new Error(`arena: reserve(${name}) after commit`);
    if (this.#layout.has(name)) throw new Error(`arena: duplicate buffer ${name}`);
    this.#layout.set(name, { offset: this.#total, shape });
    this.#total += Math.ceil(numel(shape) / 16) * 16; // 64-byte aligned buffers
  }

  commit(ctx: Context): this {
    this.#block = ctx.alloc([Math.max(this.#total, 16)], "act");
    return this;
  }

  get(name: string): TensorView {
    const entry = this.#layout.get(name);
    if (!entry) throw new Error(`arena: no buffer named ${name}`);
    if (!this.#block) throw new Error("arena: get before commit");
    return this.#block.slice(entry.offset, entry.shape);
  }

  has(name: string): boolean {
    return this.#layout.has(name);
  }

  get bytes(): number {
    return this.#total * 4;
  }

  describe(): string {
    return [...this.#layout].map(([n, e]) => `${n}${formatShape(e.shape)}`).join(" ");
  }

  free(): void {
    this.#block?.free();
    this.#block = null;
  }
}
