// The largest micro-batch that fits: doubling from the step's batch until a probe fails, then bisection. Each probe
// is its own process (bench/full/probe.ts), so a failed attempt frees everything and a crash is told apart from a
// clean out-of-memory error (a DusaError with status "out of memory").
import { join } from "node:path";

export type Probe = { B: number; ok: boolean; oom?: boolean; error?: string; seconds: number; peak_total?: number };
export type Search = { variant: string; max: number; first_fail: number | null; complete: boolean; clean: boolean; probes: Probe[] };

type Options = { device: string; preset: string; variant: string; start: number; probeTimeout: number; budget: number; memoryLimit?: number; cap?: number };

function probe(o: Options, B: number): Probe {
  const t0 = performance.now();
  const args = ["bun", join(import.meta.dir, "probe.ts"), o.device, o.preset, o.variant, String(B), ...(o.memoryLimit ? [String(o.memoryLimit)] : [])];
  const p = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe", timeout: o.probeTimeout * 1000, killSignal: "SIGKILL" });
  const seconds = (performance.now() - t0) / 1000;
  const last = p.stdout.toString().trim().split("\n").pop() ?? "";
  if (p.exitCode === 0 && last.startsWith("{")) {
    const r = JSON.parse(last) as { ok: boolean; oom?: boolean; error?: string; peak_bytes?: { total: number } };
    return { B, ok: r.ok, oom: r.oom, error: r.error, seconds, peak_total: r.peak_bytes?.total };
  }
  const why = p.signalCode ? `killed by ${p.signalCode}${seconds >= o.probeTimeout ? " (probe timeout)" : ""}` : `exit ${p.exitCode}`;
  return { B, ok: false, oom: false, error: `${why}: ${p.stderr.toString().trim().split("\n").slice(-3).join(" | ").slice(0, 400)}`, seconds };
}

export function searchMaxBatch(o: Options): Search {
  const cap = o.cap ?? 1024, deadline = performance.now() + o.budget * 1000, probes: Probe[] = [];
  let lo = 0, hi: number | null = null, B = Math.max(1, o.start);
  while (performance.now() < deadline) {
    const r = probe(o, B);
    probes.push(r);
    console.error(`  max-batch probe B ${B}: ${r.ok ? "fits" : r.oom ? "out of memory" : `FAILED (${r.error})`} [${r.seconds.toFixed(1)} s]`);
    if (r.ok) lo = B;
    else hi = B;
    if (!r.ok && !r.oom) break; // not a clean OOM: stop and report it
    const next = hi === null ? Math.min(2 * B, cap) : Math.floor((lo + hi) / 2);
    if (next === B || next <= lo || (hi !== null && next >= hi)) break;
    B = next;
  }
  const complete = hi !== null ? hi - lo <= 1 : lo >= cap;
  return { variant: o.variant, max: lo, first_fail: hi, complete, clean: probes.every((p) => p.ok || p.oom === true), probes };
}
