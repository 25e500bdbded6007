// The outcome of one task (one corruption at one severity), as results.json/results.csv store it.
// Accuracies and errors are percentages.
import * as v from "valibot";

export interface TaskResult {
  task: string; // "gaussian_noise-5"
  corruption: string;
  severity: number;
  n: number; // images scored
  correct: number;
  accuracy: number; // % = 100 * correct / n (online: predictions before each update)
  error: number; // % = 100 - accuracy
  sourceAccuracy?: number; // % of the unadapted model on the same images, when known
  loss?: number; // mean adaptation loss over the task's steps
  badSteps: number; // steps whose loss was NaN/Inf (skipped)
  seconds: number;
  imagesPerSec: number;
}

const finite = v.pipe(v.number(), v.finite());
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const percent = v.pipe(v.number(), v.minValue(0), v.maxValue(100));

export const TaskResultSchema = v.object({
  task: v.pipe(v.string(), v.minLength(1)),
  corruption: v.string(),
  severity: count,
  n: count,
  correct: count,
  accuracy: percent,
  error: percent,
  sourceAccuracy: v.optional(percent),
  loss: v.optional(finite),
  badSteps: count,
  seconds: v.pipe(v.number(), v.minValue(0)),
  imagesPerSec: v.pipe(v.number(), v.minValue(0)),
});

/** A result from counts: accuracy and error computed, the rest as given. */
export function taskResult(r: Omit<TaskResult, "accuracy" | "error" | "imagesPerSec"> & { imagesPerSec?: number }): TaskResult {
  const accuracy = r.n > 0 ? (100 * r.correct) / r.n : 0, error = r.n > 0 ? (100 * (r.n - r.correct)) / r.n : 100;
  return { ...r, accuracy, error, imagesPerSec: r.imagesPerSec ?? (r.seconds > 0 ? r.n / r.seconds : 0) };
}

/** Whether two runs of a task agree (timings aside): the check `bun run merge` makes for a task seen twice. */
export const sameOutcome = (a: TaskResult, b: TaskResult): boolean =>
  a.n === b.n && a.correct === b.correct && a.badSteps === b.badSteps && a.sourceAccuracy === b.sourceAccuracy;

export interface ResultMeans {
  tasks: number;
  images: number;
  accuracy: number; // mean of per-task accuracies (how TTA papers average)
  error: number;
  sourceAccuracy?: number; // mean over the tasks that have one
  sourceTasks: number; // how many tasks have a source accuracy
  gain?: number; // accuracy - source, over the tasks that have a source accuracy (percentage points)
  seconds: number;
  imagesPerSec: number;
}

export const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export function resultMeans(results: readonly TaskResult[]): ResultMeans | undefined {
  if (!results.length) return undefined;
  const withSource = results.filter((r) => r.sourceAccuracy !== undefined);
  const seconds = results.reduce((s, r) => s + r.seconds, 0), images = results.reduce((s, r) => s + r.n, 0);
  const accuracy = mean(results.map((r) => r.accuracy));
  return {
    tasks: results.length,
    images,
    accuracy,
    error: 100 - accuracy,
    sourceAccuracy: withSource.length ? mean(withSource.map((r) => r.sourceAccuracy!)) : undefined,
    sourceTasks: withSource.length,
    gain: withSource.length ? mean(withSource.map((r) => r.accuracy - r.sourceAccuracy!)) : undefined,
    seconds,
    imagesPerSec: seconds > 0 ? images / seconds : 0,
  };
}
