// results.json is the run's record of finished tasks ({ name, tasks: [...], mean }); results.csv is derived from
// it. Both are replaced atomically, so a run killed at any moment leaves the tasks finished before it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { writeFileAtomic } from "./atomic-write.ts";
import { ReportError } from "./report-error.ts";
import { resultsCsv } from "./results-csv.ts";
import { resultMeans, TaskResultSchema, type TaskResult } from "./task-result.ts";

export const RESULTS_JSON = "results.json";
export const RESULTS_CSV = "results.csv";

const ResultsFileSchema = v.object({ tasks: v.array(TaskResultSchema) });

export function readResults(dir: string): TaskResult[] {
  const file = join(dir, RESULTS_JSON);
  if (!existsSync(file)) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ReportError(file, `not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const parsed = v.safeParse(ResultsFileSchema, raw);
  if (!parsed.success) {
    const i = parsed.issues[0];
    throw new ReportError(file, `${v.getDotPath(i) ?? "(top level)"}: ${i.message}`);
  }
  return parsed.output.tasks;
}

/** Orders results by a task list (tasks not in it keep their order, after the listed ones). */
export function orderResults(results: readonly TaskResult[], taskOrder: readonly string[] = []): TaskResult[] {
  const rank = new Map(taskOrder.map((t, i) => [t, i]));
  return results.map((r, i) => ({ r, key: rank.get(r.task) ?? taskOrder.length + i })).sort((a, b) => a.key - b.key).map(({ r }) => r);
}

export function writeResults(dir: string, name: string, results: readonly TaskResult[]): void {
  writeFileAtomic(join(dir, RESULTS_JSON), JSON.stringify({ name, tasks: results, mean: resultMeans(results) ?? null }, null, 2) + "\n");
  writeFileAtomic(join(dir, RESULTS_CSV), resultsCsv(results));
}
