// An exponential moving average of a model's trained parameters, kept beside them in one `optim` allocation:
// shadow = d·shadow + (1 − d)·params after every update, with timm's warm-up d = min(decay, (1 + n) / (10 + n))
// (n = updates so far), so short runs average over what they have. Frozen and fixed parameters (the SiT's
// positional embedding) are never touched, so they stay bit-identical to the model's.
import type { Tensor } from "../native/index.ts";
import type { Parameters } from "../nn/params.ts";

export type Range = { offset: number; size: number };

/** The contiguous ranges of a parameter block that are trained. */
export function trainedRanges(params: Parameters): Range[] {
  const ranges: Range[] = [];
  for (const e of params.table.entries) {
    if (!params.trainable(e)) continue;
    const last = ranges[ranges.length - 1];
    if (last && last.offset + last.size === e.offset) last.size += e.size;
    else ranges.push({ offset: e.offset, size: e.size });
  }
  return ranges;
}

export class Ema {
  readonly shadow: Tensor;
  readonly ranges: Range[];
  updates = 0;

  constructor(readonly params: Parameters, readonly decay: number) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`ema: decay must be in [0, 1), got ${decay}`);
    const ctx = params.ctx;
    this.shadow = ctx.alloc([params.table.total], "optim");
    ctx.call("dusa_copy_d2d", this.shadow, params.values, params.values.bytes);
    this.ranges = trainedRanges(params);
  }

  /** The decay of the next update. */
  get currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  update(): void {
    const d = this.currentDecay, ctx = this.params.ctx;
    for (const r of this.ranges) {
      const s = this.shadow.slice(r.offset, [r.size]), p = this.params.values.slice(r.offset, [r.size]);
      ctx.call("dusa_scale", s, d, r.size);
      ctx.call("dusa_axpy", s, p, 1 - d, r.size);
    }
    this.updates++;
  }

  /** The averaged parameters by name (host copies). */
  get(): Map<string, Float32Array> {
    const all = this.shadow.readFloat();
    return new Map(this.params.table.entries.map((e) => [e.name, all.slice(e.offset, e.offset + e.size)]));
  }

  state(): { shadow: Float32Array; updates: number } {
    return { shadow: this.shadow.readFloat(), updates: this.updates };
  }

  load(state: { shadow: ArrayLike<number>; updates: number }): void {
    this.shadow.write(state.shadow);
    this.updates = state.updates;
  }

  free(): void {
    this.shadow.free();
  }
}
