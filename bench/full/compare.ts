// Ours vs PyTorch, from the two JSON files of one run (bench/full/step.ts and bench/pytorch/step_full.py):
// speed and memory ratios per variant and mode, MFU of each side against its own GEMM ceiling for the precision it
// runs in, each model alone, attention, and the largest micro-batch.
// Usage: bun bench/full/compare.ts ours.json pytorch.json
import { readFileSync } from "node:fs";
import { printTable, type Row } from "../table.ts";
import { VARIANTS, stepFlops } from "./ours.ts";
import type { Preset } from "./models.ts";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const MiB = 2 ** 20;
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? a / b : "-");

export function printComparison(ours: Json, torch: Json): Row[] {
  const preset = ours.preset as Preset, B = ours.B as number;
  const tc = torch.ceilings ?? {};
  const torchCeiling = (mode: string) => (mode === "fp32" ? tc.fp32?.tflops : tc.bf16?.tflops);
  console.log(`\nours: ${ours.device}, ${ours.build}\nPyTorch ${torch.torch} on ${torch.device}; fast paths: ${(torch.fast_paths ?? []).join(", ")}`);
  if (torch.parity) console.log(`parity, ‖ours − torch‖/‖torch‖ on ours' fixed inputs: ${JSON.stringify(torch.parity)}`);
  const ceil = (n: string, t?: { tflops: number; n: number }) => (t ? `${n} ${t.tflops.toFixed(1)} TFLOP/s (${t.n}³)` : `${n} -`);
  console.log(`GEMM ceilings, same run: ${ceil(`ours ${ours.storage ?? "f32"}`, ours.ceiling)}; ${ceil("torch fp32", tc.fp32)}; ${ceil("tf32", tc.tf32)}; ${ceil("bf16", tc.bf16)}`);

  const rows: Row[] = [];
  for (const r of (ours.step ?? []) as Json[]) {
    const v = VARIANTS.find((x) => x.id === r.id)!;
    const flops = stepFlops(preset, v, B);
    for (const t of ((torch.step ?? []) as Json[]).filter((x) => x.id === r.id)) {
      const tflops = (flops * t.img_s) / B / 1e12;
      rows.push({
        variant: r.label, "torch mode": t.mode, "ours img/s": r.img_s, "torch img/s": t.img_s, "speed ours/torch": ratio(r.img_s, t.img_s),
        "ours MFU": r.mfu ?? "-", "torch MFU": torchCeiling(t.mode) ? tflops / torchCeiling(t.mode) : "-",
        "ours peak MiB": r.peak_bytes.total / MiB, "ours w/o snapshot MiB": (r.peak_bytes.total - r.snapshot_bytes) / MiB, "torch peak MiB": t.peak_bytes.total / MiB,
        "memory ours/torch": ratio(r.peak_bytes.total, t.peak_bytes.total),
      });
    }
  }
  const rss = String(torch.device).startsWith("cpu") ? "; torch peak = the process's peak RSS on a CPU (not comparable to ours' tracked bytes)" : "";
  printTable(`step B ${B} x K ${ours.K}: ours (${ours.storage ?? "f32"} storage) vs PyTorch per mode; MFU against each side's ceiling for its precision${rss}`, rows);

  const comp: Row[] = [];
  for (const r of (ours.components ?? []) as Json[])
    for (const t of ((torch.components ?? []) as Json[]).filter((x) => x.model === r.model && x.pass === r.pass))
      comp.push({ model: r.model, pass: r.pass, batch: r.batch, "ours ms": r.ms, "ours TFLOP/s": r.tflops, "torch mode": t.mode, "torch ms": t.ms, "speed ours/torch": ratio(t.ms, r.ms) });
  printTable("each model alone", comp);

  const att: Row[] = [];
  for (const r of (ours.attention ?? []) as Json[])
    for (const t of ((torch.attention ?? []) as Json[]).filter((x) => x.shape === r.shape))
      att.push({ shape: r.shape, "ours fwd TFLOP/s": r.fwd_tflops, "ours fwd+bwd": r.fwdbwd_tflops, "torch mode": t.mode, "torch fwd TFLOP/s": t.fwd_tflops, "torch fwd+bwd": t.fwdbwd_tflops });
  printTable("attention (SDPA on the torch side)", att);

  const mb: Row[] = [];
  if (ours.max_batch) mb.push({ side: `ours ${ours.storage ?? "f32"}`, max: ours.max_batch.max, "first failure": ours.max_batch.first_fail ?? "-", complete: String(ours.max_batch.complete), "clean OOM": String(ours.max_batch.clean) });
  for (const [mode, s] of Object.entries((torch.max_batch ?? {}) as Json)) mb.push({ side: `torch ${mode}`, max: s.max, "first failure": s.first_fail ?? "-", complete: String(s.complete), "clean OOM": "true" });
  printTable("largest micro-batch, SiT (all, aux)", mb);
  if (Object.keys(torch.errors ?? {}).length) console.log(`\nPyTorch errors/skips: ${JSON.stringify(torch.errors, null, 1)}`);
  if (Object.keys(ours.errors ?? {}).length) console.log(`\nours errors: ${JSON.stringify(ours.errors, null, 1)}`);
  return rows;
}

if (import.meta.main) {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) throw new Error("usage: bun bench/full/compare.ts ours.json pytorch.json");
  printComparison(JSON.parse(readFileSync(a, "utf8")), JSON.parse(readFileSync(b, "utf8")));
}
