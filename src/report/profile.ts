// profile.json: where the time went (per phase of the step) and the memory high-water marks (per allocation tag).
export const PHASES = ["data", "task_fwd", "task_bwd", "vae", "gen_fwd", "gen_bwd", "loss", "optimizer"] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseTime {
  ms: number;
  calls: number;
}

export interface Profile {
  phases: Record<string, PhaseTime>; // PHASES, plus any other the runner times
  peakBytes: Record<string, number>; // per memory tag: param, grad, optim, act, workspace, data
  device?: string;
  seconds?: number; // wall time of the run
}

/** Accumulates phase times as the runner goes. */
export class PhaseClock {
  readonly phases: Record<string, PhaseTime> = {};

  add(phase: string, ms: number): void {
    const p = (this.phases[phase] ??= { ms: 0, calls: 0 });
    p.ms += ms;
    p.calls++;
  }

  /** `sync` waits for device work (a CUDA context's sync), so a phase is timed to the end of its kernels. */
  constructor(readonly sync: () => void = () => {}) {}

  /** Times `fn` under `phase`, device work included. */
  time<T>(phase: string, fn: () => T): T {
    const t0 = performance.now();
    try {
      const out = fn();
      this.sync();
      return out;
    } finally {
      this.add(phase, performance.now() - t0);
    }
  }
}

/** The profile as written: phases in the standard order with their share of the timed total. */
export function profileJson(profile: Profile): object {
  const names = [...PHASES.filter((p) => p in profile.phases), ...Object.keys(profile.phases).filter((p) => !(PHASES as readonly string[]).includes(p))];
  const total = names.reduce((s, p) => s + profile.phases[p].ms, 0);
  const phases = Object.fromEntries(names.map((p) => [p, { ...profile.phases[p], share: total > 0 ? profile.phases[p].ms / total : 0 }]));
  return { ...profile, phases, timedMs: total };
}

/** Shards of one run: times add up, peaks are the largest any shard saw. */
export function mergeProfiles(profiles: readonly Profile[]): Profile {
  const phases: Record<string, PhaseTime> = {}, peakBytes: Record<string, number> = {};
  for (const p of profiles) {
    for (const [name, t] of Object.entries(p.phases)) {
      const sum = (phases[name] ??= { ms: 0, calls: 0 });
      sum.ms += t.ms;
      sum.calls += t.calls;
    }
    for (const [tag, bytes] of Object.entries(p.peakBytes)) peakBytes[tag] = Math.max(peakBytes[tag] ?? 0, bytes);
  }
  const devices = [...new Set(profiles.map((p) => p.device).filter((d): d is string => d !== undefined))];
  const seconds = profiles.reduce((s, p) => s + (p.seconds ?? 0), 0);
  return { phases, peakBytes, ...(devices.length ? { device: devices.join("; ") } : {}), ...(seconds ? { seconds } : {}) };
}
