// Timing: warm up, then run until a time budget is spent; report the median of the timed runs. `sync` (the
// context's sync) ends every timed run, so asynchronous device work (the CUDA backend) is counted.
export type Timing = { median: number; min: number; runs: number };

export function timeIt(fn: () => void, options: { warmup?: number; minRuns?: number; budget?: number; sync?: () => void } = {}): Timing {
  const { warmup = 2, minRuns = 5, budget = 0.4, sync = () => {} } = options;
  for (let i = 0; i < warmup; i++) fn();
  sync();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || (performance.now() - start) / 1000 < budget) {
    const t0 = performance.now();
    fn();
    sync();
    samples.push((performance.now() - t0) / 1000);
    if (samples.length >= 1000) break;
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], min: samples[0], runs: samples.length };
}
