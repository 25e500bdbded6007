import { taskList, type Config } from "../../src/config/index.ts";
import { taskResult, type TaskResult } from "../../src/report/index.ts";

// Deterministic made-up results for the tasks of a config: accuracy varies by task, source a few points lower.
export function fakeResults(config: Pick<Config, "data">, n = 200): TaskResult[] {
  return taskList(config).map((t, i) => {
    const correct = Math.round(n * (0.35 + 0.5 * Math.abs(Math.sin(i * 1.3 + 0.4))));
    return taskResult({ task: t.name, corruption: t.corruption, severity: t.severity, n, correct, sourceAccuracy: (100 * (correct - 6 + (i % 4) * 3)) / n, loss: 0.25 + i / 100, badSteps: 0, seconds: 1.5 });
  });
}
