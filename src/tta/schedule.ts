// DiT's DDPM schedule (create_diffusion(timestep_respacing="")): linear betas 1e-4 .. 0.02 over 1000 steps,
// x_t = sqrt(abar_t) x0 + sqrt(1 − abar_t) eps, computed in float64 as the reference does with numpy.
const STEPS = 1000;
let alphasCumprod: Float64Array | null = null;

export function ddpmAlphasCumprod(): Float64Array {
  if (!alphasCumprod) {
    alphasCumprod = new Float64Array(STEPS);
    let prod = 1;
    for (let i = 0; i < STEPS; i++) {
      const beta = 1e-4 + ((0.02 - 1e-4) * i) / (STEPS - 1);
      prod *= 1 - beta;
      alphasCumprod[i] = prod;
    }
  }
  return alphasCumprod;
}

/** [sqrt(abar_t), sqrt(1 − abar_t)] for an integer step t in [0, 1000). */
export function ddpmCoefficients(t: number): [number, number] {
  if (!Number.isInteger(t) || t < 0 || t >= STEPS) throw new Error(`ddpm: timestep ${t} must be an integer in [0, ${STEPS})`);
  const abar = ddpmAlphasCumprod()[t];
  return [Math.sqrt(abar), Math.sqrt(1 - abar)];
}
