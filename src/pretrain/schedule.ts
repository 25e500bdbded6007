// The learning rate of step s (0-based) of a run of `total` steps: linear warmup from base/warmup up to the base
// rate over the first `warmup` steps, then half a cosine from the base rate down to `min` at the last step.
// Warmup is capped at a tenth of the run, so short runs (tests, --limit) still spend most steps at full rate.
export type CosineSchedule = { base: number; min: number; warmup: number; total: number };

export function effectiveWarmup(s: CosineSchedule): number {
  return Math.min(s.warmup, Math.floor(s.total / 10));
}

export function cosineLr(step: number, s: CosineSchedule): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`schedule: step must be a non-negative integer, got ${step}`);
  const warmup = effectiveWarmup(s);
  if (step < warmup) return (s.base * (step + 1)) / warmup;
  const span = s.total - warmup - 1;
  const progress = span > 0 ? Math.min(1, (step - warmup) / span) : 0;
  return s.min + 0.5 * (s.base - s.min) * (1 + Math.cos(Math.PI * progress));
}
