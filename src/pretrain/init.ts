// Initial weights of the models trained from scratch, as their reference implementations initialise them. Every
// random fill is a Philox stream keyed by the seed at the parameter's offset in the block, so a parameter's start
// does not depend on any other's.
//   ConvNeXt (timm): conv/linear weights N(0, 0.02) (timm's trunc_normal_ with bounds ±2 never truncates at this
//     std), biases 0, norms 1/0, layer scale gamma 1e-6.
//   VAE (diffusers = torch defaults): conv/linear weights and biases U(±1/√fan_in), GroupNorm 1/0.
//   SiT (DiT initialize_weights): linears Xavier-uniform with zero bias, the patch embedding Xavier-uniform over
//     (hidden, in·p·p), label table N(0, 0.02), timestep MLP N(0, 0.02), every adaLN modulation and the final
//     linear zero (adaLN-Zero), the sin-cos positional embedding as built.
import type { ParamInfo, Parameters } from "../nn/params.ts";

function normal(params: Parameters, e: ParamInfo, std: number, seed: number): void {
  params.ctx.call("dusa_rng_normal", params.p(e.name), e.size, seed, e.offset, 0, std);
}

function uniform(params: Parameters, e: ParamInfo, bound: number, seed: number): void {
  params.ctx.call("dusa_rng_uniform", params.p(e.name), e.size, seed, e.offset, -bound, bound);
}

function constant(params: Parameters, e: ParamInfo, value: number): void {
  params.ctx.call("dusa_fill", params.p(e.name), value, e.size);
}

const fanIn = (shape: readonly number[]) => shape.slice(1).reduce((a, b) => a * b, 1);
const isWeight = (e: ParamInfo) => e.name.endsWith(".weight");

export function initConvNeXt(params: Parameters, seed: number): void {
  for (const e of params.table.entries) {
    if (e.role === "weight") normal(params, e, 0.02, seed);
    else if (e.role === "bias") constant(params, e, 0);
    else if (e.role === "norm") constant(params, e, isWeight(e) ? 1 : 0);
    else if (e.role === "scale") constant(params, e, 1e-6);
    else throw new Error(`init convnext: no rule for ${e.name} (role ${e.role})`);
  }
}

export function initVae(params: Parameters, seed: number): void {
  for (const e of params.table.entries) {
    if (e.role === "weight") uniform(params, e, 1 / Math.sqrt(fanIn(e.shape)), seed);
    else if (e.role === "bias") uniform(params, e, 1 / Math.sqrt(fanIn(params.table.get(e.name.replace(/bias$/, "weight")).shape)), seed);
    else if (e.role === "norm") constant(params, e, isWeight(e) ? 1 : 0);
    else throw new Error(`init vae: no rule for ${e.name} (role ${e.role})`);
  }
}

export function initSiT(params: Parameters, seed: number): void {
  for (const e of params.table.entries) {
    const n = e.name;
    if (e.role === "fixed") continue; // pos_embed (sin-cos) and the REPA projector heads are never trained here
    if (e.role === "embedding") normal(params, e, 0.02, seed);
    else if (e.role === "bias") constant(params, e, 0);
    else if (n.includes("adaLN_modulation") || n.startsWith("final_layer.linear")) constant(params, e, 0);
    else if (n.startsWith("t_embedder.mlp")) normal(params, e, 0.02, seed);
    else if (e.role === "weight") uniform(params, e, Math.sqrt(6 / (fanIn(e.shape) + e.shape[0])), seed);
    else throw new Error(`init sit: no rule for ${n} (role ${e.role})`);
  }
}
