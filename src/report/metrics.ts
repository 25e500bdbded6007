// metrics.jsonl: one JSON object per optimizer or forward step, appended as the run goes. A run killed mid-line
// leaves a torn last line, which readers skip.
import { appendFileSync, existsSync, readFileSync } from "node:fs";

export interface StepMetrics {
  task: string;
  step: number; // micro-batch index within the task
  images: number; // images in this step
  loss: number | null; // null for source
  accuracy: number; // % of this step's images classified correctly (before the update)
  running_accuracy?: number; // % over the task so far
  images_per_sec: number;
  ms: Record<string, number>; // per phase: data, task_fwd, task_bwd, vae, gen_fwd, gen_bwd, loss, optimizer
  [extra: string]: unknown;
}

export function appendJsonLine(file: string, record: object): void {
  appendFileSync(file, JSON.stringify(record) + "\n");
}

export function readJsonLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  const records: Record<string, unknown>[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      // a torn line from a run that was killed while writing it
    }
  }
  return records;
}
