// results.csv: one row per task, regenerated from results.json whenever it changes.
import type { TaskResult } from "./task-result.ts";

const COLUMNS: [header: string, cell: (r: TaskResult) => string][] = [
  ["task", (r) => r.task],
  ["corruption", (r) => r.corruption],
  ["severity", (r) => String(r.severity)],
  ["n", (r) => String(r.n)],
  ["correct", (r) => String(r.correct)],
  ["accuracy", (r) => r.accuracy.toFixed(4)],
  ["error", (r) => r.error.toFixed(4)],
  ["source_accuracy", (r) => (r.sourceAccuracy === undefined ? "" : r.sourceAccuracy.toFixed(4))],
  ["loss", (r) => (r.loss === undefined ? "" : r.loss.toPrecision(6))],
  ["bad_steps", (r) => String(r.badSteps)],
  ["seconds", (r) => r.seconds.toFixed(3)],
  ["images_per_sec", (r) => r.imagesPerSec.toFixed(2)],
];

const quote = (cell: string) => (/[",\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);

export function resultsCsv(results: readonly TaskResult[]): string {
  const lines = [COLUMNS.map(([h]) => h).join(","), ...results.map((r) => COLUMNS.map(([, cell]) => quote(cell(r))).join(","))];
  return lines.join("\n") + "\n";
}
