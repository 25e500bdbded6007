// Low-rank adapters on linear layers chosen by name pattern: out = x Wᵀ + b + (alpha / r) (x Aᵀ) Bᵀ, with
// A (r, IC) and B (OC, r) added to the model's parameter table as `<layer>.lora_A` / `<layer>.lora_B`
// (role lora). B starts at zero, so a fresh adapter changes nothing; merge folds it into W, unmerge takes it out.
import type { ParamTable, Parameters } from "./params.ts";

export type LoraConfig = { rank: number; alpha: number; patterns: (string | RegExp)[] };

/** Adds adapters to every 2-D weight whose layer name matches a pattern; returns the wrapped layer names. */
export function addLora(table: ParamTable, config: LoraConfig): string[] {
  if (!Number.isInteger(config.rank) || config.rank < 1) throw new Error(`lora: rank must be a positive integer, got ${config.rank}`);
  const matches = (layer: string) => config.patterns.some((p) => (typeof p === "string" ? new RegExp(p).test(layer) : p.test(layer)));
  const layers = table.entries.filter((e) => e.role === "weight" && e.shape.length === 2 && e.name.endsWith(".weight")).map((e) => ({ layer: e.name.slice(0, -".weight".length), shape: e.shape }));
  const wrapped = layers.filter((l) => matches(l.layer));
  if (wrapped.length === 0) throw new Error(`lora: no linear layer matches ${config.patterns.join(", ")}`);
  for (const { layer, shape } of wrapped) {
    const [OC, IC] = shape;
    table.add(`${layer}.lora_A`, [config.rank, IC], "lora");
    table.add(`${layer}.lora_B`, [OC, config.rank], "lora");
  }
  return wrapped.map((l) => l.layer);
}

/** peft's init: A ~ kaiming-uniform(a = √5) = U(−1/√IC, 1/√IC), B = 0. */
export function initLora(params: Parameters, layers: string[], seed: number): void {
  layers.forEach((layer, i) => {
    const A = params.p(`${layer}.lora_A`), IC = A.shape[1];
    params.ctx.call("dusa_rng_uniform", A, A.size, seed, i * 2 ** 32, -1 / Math.sqrt(IC), 1 / Math.sqrt(IC));
    const B = params.p(`${layer}.lora_B`);
    params.ctx.call("dusa_fill", B, 0, B.size);
  });
}
