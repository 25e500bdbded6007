// A class-conditional velocity field v(x_t, t, y) on host arrays — what the sampler and the SiT-as-classifier
// evaluation need from a generative model. The SiT's is its forward pass (forward-only plan) in chunks.
import type { SiT } from "../models/sit.ts";
import type { Tensor } from "../native/index.ts";

export interface VelocityModel {
  readonly classes: number; // label y = classes is the null class (unconditional)
  readonly dims: number; // D = channels × H × W of one latent
  /** v (n, D) for x (n, D), t (n) and labels y (n). */
  predict(x: Float32Array, t: Float32Array, y: Int32Array, n: number): Float32Array;
}

export function sitVelocity(sit: SiT, chunk = 256): VelocityModel & { free(): void } {
  const c = sit.config, D = c.inChannels * c.inputSize * c.inputSize, ctx = sit.ctx;
  if (c.learnSigma) throw new Error("sitVelocity: a DiT (learn_sigma) predicts noise, not a velocity");
  let buffers: { x: Tensor; t: Tensor; y: Tensor; n: number } | null = null;
  const plan = (n: number) => {
    if (buffers?.n === n) return buffers;
    if (buffers) for (const b of [buffers.x, buffers.t, buffers.y]) b.free();
    buffers = { x: ctx.alloc([n, D], "data"), t: ctx.alloc([n], "data"), y: ctx.alloc([n], "data", "i32"), n };
    return buffers;
  };
  return {
    classes: c.numClasses,
    dims: D,
    predict(x, t, y, n) {
      const out = new Float32Array(n * D);
      for (let s = 0; s < n; s += chunk) {
        const m = Math.min(chunk, n - s), b = plan(m);
        b.x.write(x.subarray(s * D, (s + m) * D));
        b.t.write(t.subarray(s, s + m));
        b.y.write(y.subarray(s, s + m));
        out.set(sit.forward(b.x, b.t, b.y, m, { training: false }).readFloat(), s * D);
      }
      return out;
    },
    free() {
      if (buffers) for (const b of [buffers.x, buffers.t, buffers.y]) b.free();
      buffers = null;
    },
  };
}
